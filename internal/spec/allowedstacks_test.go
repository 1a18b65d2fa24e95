package spec_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/spec"
)

func TestParseAllowedStacks(t *testing.T) {
	for in, want := range map[string][]string{
		"":                          nil,
		" , ,":                      nil,
		"security":                  {"security"},
		"security, audit-* ,Team-B": {"security", "audit-*", "Team-B"},
		strings.Repeat("a", 128):    {strings.Repeat("a", 128)},
	} {
		got, err := spec.ParseAllowedStacks(in)
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
		_, err := spec.ParseAllowedStacks(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), why, in)
	}
}
