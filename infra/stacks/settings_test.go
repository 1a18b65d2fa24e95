package stacks_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// A function setting with a context key reaches the function it is deployed to from cdk.json, through its row of
// lambdaenv.Table alone: the repair limit and window were compiled-in constants before issue 23.
func TestAContextSettingReachesItsFunction(t *testing.T) {
	s := build(t, map[string]any{"trailguard:repairLimit": "3", "trailguard:repairWindow": "2h", "trailguard:deliveryMaxAge": "6h"})
	_, m := toTemplate(t, s.provider.Stack)
	env := remediatorEnv(t, m)
	assert.Equal(t, "3", env[lambdaenv.RepairLimit])
	assert.Equal(t, "2h", env[lambdaenv.RepairWindow])
	assert.Equal(t, "6h", env[lambdaenv.DeliveryMaxAge])
	_, p := m.one(t, "AWS::Lambda::Function", "Provider")
	assert.NotContains(t, props(p)["Environment"].(map[string]any)["Variables"], lambdaenv.RepairLimit, "the provider does not repair")
}

// An out-of-range value is refused at synth, naming the context key and the variable, before any stack is built;
// so is a setting the props name that the table does not let the app set.
func TestOutOfRangeSettingsAreRefusedAtSynth(t *testing.T) {
	for key, bad := range map[string]string{"trailguard:repairLimit": "0", "trailguard:repairWindow": "-1h",
		"trailguard:deliveryMaxAge": "soon", stacks.CtxAccountRemediation: "off", stacks.CtxAccountRetentionInDays: "366"} {
		_, err := stacks.ConfigFromContext(newApp(map[string]any{key: bad}))
		if assert.Error(t, err, key) {
			row := rowOf(t, key)
			assert.Contains(t, err.Error(), key)
			assert.Contains(t, err.Error(), row.Env)
		}
	}
	for env, v := range map[string]string{lambdaenv.RepairLimit: "0", lambdaenv.RegistryTable: "mine"} {
		_, err := stacks.NewProviderStack(newApp(nil), "bad", &stacks.ProviderStackProps{AssetDir: distDir,
			Settings: map[string]string{env: v}})
		require.Error(t, err, env)
		assert.Contains(t, err.Error(), env)
	}
}

func rowOf(t *testing.T, contextKey string) lambdaenv.Setting {
	t.Helper()
	for _, row := range lambdaenv.Table {
		if row.Context == contextKey {
			return row
		}
	}
	t.Fatalf("no row of lambdaenv.Table has the context key %s", contextKey)
	return lambdaenv.Setting{}
}
