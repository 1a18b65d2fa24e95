package stacks_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

func TestAllowedStacksReachBothFunctions(t *testing.T) {
	for name, value := range map[string]any{
		"comma-separated": "security, audit-*",
		"JSON list":       []any{"security", "audit-*"},
	} {
		t.Run(name, func(t *testing.T) {
			s := build(t, map[string]any{stacks.CtxAllowedStacks: value, stacks.CtxExampleStackName: ""})
			_, m := toTemplate(t, s.provider.Stack)
			for _, fn := range []string{"Provider", "Remediator"} {
				_, f := m.one(t, "AWS::Lambda::Function", fn)
				env := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
				assert.Equal(t, "security,audit-*", env[lambdaenv.AllowedStacks], fn)
			}
		})
	}
}

func TestInvalidAllowedStacksFailSynth(t *testing.T) {
	_, err := stacks.ConfigFromContext(newApp(map[string]any{stacks.CtxAllowedStacks: "security,*"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), stacks.CtxAllowedStacks)

	_, err = stacks.NewProviderStack(newApp(nil), "direct", &stacks.ProviderStackProps{AssetDir: distDir,
		AllowedStacks: []string{"ok", "not ok"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"not ok"`)
}
