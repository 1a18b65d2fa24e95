package stacks_test

import (
	"regexp"
	"slices"
	"strings"
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

// Each setting a member takes from the StackSet (a row's Param) is a parameter of the member template that its
// function's environment refers to, and the StackSet passes it the value the app deploys; the parameter's
// AllowedPattern or AllowedValues admit what the row's rule admits.
func TestMemberSettingsAreTheTablesParams(t *testing.T) {
	_, ts := orgTemplates(t)
	member := ts["member"]
	declared := member["Parameters"].(map[string]any)
	_, set := ts["org"].one(t, "AWS::CloudFormation::StackSet", "StackSet")
	passed := parameterValues(t, props(set))
	samples := map[string][]string{
		lambdaenv.BoundaryOrganizationID: {"o-abcdefghij", "o-" + strings.Repeat("a", 32), "o-" + strings.Repeat("a", 33), "o-short",
			"o-ABCDEFGHIJ", "o-*", "*", "123456789012"},
		lambdaenv.LogLevel:    {"debug", "info", "warn", "error", "verbose", "INFO"},
		lambdaenv.AccountWide: {"true", "false", "yes", "1"},
	}
	for _, row := range lambdaenv.Table {
		if row.Param == "" {
			continue
		}
		d, ok := declared[row.Param].(map[string]any)
		require.True(t, ok, "%s: the member template has no parameter %s", row.Env, row.Param)
		for _, fn := range functionsOf(row.For) {
			_, f := member.one(t, "AWS::Lambda::Function", fn)
			assert.Equal(t, ref(row.Param), props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)[row.Env], "%s of %s", row.Env, fn)
		}
		assert.Contains(t, passed, row.Param)
		for _, v := range samples[row.Env] {
			admitted := false
			if re, ok := d["AllowedPattern"].(string); ok {
				admitted = regexp.MustCompile(re).MatchString(v)
			} else if vs, ok := d["AllowedValues"].([]any); ok {
				admitted = slices.Contains(vs, any(v))
			}
			assert.Equal(t, row.Validate(v) == nil, admitted, "%s=%q: the row says %v", row.Param, v, row.Validate(v))
		}
	}
}

func functionsOf(f lambdaenv.Function) []string {
	var out []string
	if f&lambdaenv.Provider != 0 {
		out = append(out, "Provider")
	}
	if f&lambdaenv.Remediator != 0 {
		out = append(out, "Remediator")
	}
	return out
}

// The app's context keys for function settings are the table's: ConfigFromContext reads the typed fields by these
// constants and checks the values by the rows, so a key renamed in one place only would leave a value unchecked.
func TestContextKeysOfFunctionSettingsAreTheTables(t *testing.T) {
	for env, key := range map[string]string{lambdaenv.LogLevel: stacks.CtxLogLevel, lambdaenv.AllowedStacks: stacks.CtxAllowedStacks,
		lambdaenv.AccountWide: stacks.CtxAccountWide, lambdaenv.AccountRetentionInDays: stacks.CtxAccountRetentionInDays,
		lambdaenv.AccountKmsKeyID: stacks.CtxAccountKmsKeyID, lambdaenv.AccountRemediation: stacks.CtxAccountRemediation,
		lambdaenv.AccountDeletionProtection: stacks.CtxAccountDeletionProtection, lambdaenv.AccountMonitoringPack: stacks.CtxAccountMonitoringPack,
		lambdaenv.AccountAlarmTopicARN: stacks.CtxAccountAlarmTopicArn, lambdaenv.BoundaryOrganizationID: stacks.CtxOrgOrganizationID,
		lambdaenv.ManagementAccountID: stacks.CtxOrgManagementAccountID} {
		assert.Equal(t, env, rowOf(t, key).Env, key)
	}
}
