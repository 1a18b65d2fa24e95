package stacks_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

func TestParseAllowedStacks(t *testing.T) {
	for in, want := range map[string][]string{
		"":                          nil,
		" , ,":                      nil,
		"security":                  {"security"},
		"security, audit-* ,Team-B": {"security", "audit-*", "Team-B"},
		strings.Repeat("a", 128):    {strings.Repeat("a", 128)},
	} {
		got, err := stacks.ParseAllowedStacks(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, why := range map[string]string{
		"*":                      "would admit every stack",
		"security,*":             "would admit every stack",
		"team_b":                 `"team_b": want a CloudFormation stack name`,
		"1stack":                 `"1stack": want a CloudFormation stack name`,
		"audit-**":               `"audit-**"`,
		"a*b":                    `"a*b"`,
		"two words":              `"two words"`,
		strings.Repeat("a", 129): "at most 128 characters",
	} {
		_, err := stacks.ParseAllowedStacks(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), why, in)
	}
}

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
