package lambdaenv_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

var update = flag.Bool("update", false, "rewrite infra/README.md's function settings table from lambdaenv.Table")

const (
	readme     = "../../infra/README.md"
	tableBegin = "<!-- function settings: generated from lambdaenv.Table by `go test ./internal/lambdaenv -run TestREADMETableIsTheTable -update` -->\n"
	tableEnd   = "<!-- end of function settings -->\n"
)

// readmeTable renders Table as infra/README.md shows it.
func readmeTable() string {
	code := func(s string) string {
		if s == "" {
			return "—"
		}
		return "`" + s + "`"
	}
	fns := map[lambdaenv.Function]string{lambdaenv.Provider: "provider", lambdaenv.Remediator: "remediator", lambdaenv.Both: "both"}
	var b strings.Builder
	b.WriteString("| variable | CDK context | member parameter | default | functions | meaning |\n|---|---|---|---|---|---|\n")
	for _, s := range lambdaenv.Table {
		def := code(s.Default)
		if s.Context == "" && s.Param == "" {
			def = "(the stack's)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", code(s.Env), code(s.Context), code(s.Param), def, fns[s.For], s.Doc)
	}
	return b.String()
}

// TestREADMETableIsTheTable keeps infra/README.md's function settings equal to Table: a row added, renamed or
// re-documented fails here until the README is regenerated.
func TestREADMETableIsTheTable(t *testing.T) {
	raw, err := os.ReadFile(readme)
	require.NoError(t, err)
	doc := string(raw)
	before, rest, ok := strings.Cut(doc, tableBegin)
	require.True(t, ok, "%s has no line %q", readme, tableBegin)
	table, after, ok := strings.Cut(rest, tableEnd)
	require.True(t, ok, "%s has no line %q", readme, tableEnd)
	if *update {
		require.NoError(t, os.WriteFile(readme, []byte(before+tableBegin+readmeTable()+tableEnd+after), 0o644))
		return
	}
	assert.Equal(t, readmeTable(), table, "regenerate with: go test ./internal/lambdaenv -run TestREADMETableIsTheTable -update")
}

// TestOutOfRangeValuesAreRefusedNamingTheSetting checks each row's rule on values it must refuse, and that the
// error names the variable.
func TestOutOfRangeValuesAreRefusedNamingTheSetting(t *testing.T) {
	bad := map[string][]string{
		lambdaenv.RepairLimit:               {"0", "-1", "five", "1.5"},
		lambdaenv.RepairWindow:              {"0s", "-1h", "an hour"},
		lambdaenv.DeliveryMaxAge:            {"0", "1d"},
		lambdaenv.LogLevel:                  {"verbose", "INFO "},
		lambdaenv.AccountWide:               {"yes", "1"},
		lambdaenv.DecisionEvents:            {"on"},
		lambdaenv.AllowedStacks:             {"*", "team_b"},
		lambdaenv.BoundaryOrganizationID:    {"o-short", "o-*", "123456789012"},
		lambdaenv.ManagementAccountID:       {"12345678901", "o-abcdefghij"},
		lambdaenv.AccountRetentionInDays:    {"0", "366"},
		lambdaenv.AccountKmsKeyID:           {"alias/foo"},
		lambdaenv.AccountRemediation:        {"off", "OFF", "sometimes"},
		lambdaenv.AccountDeletionProtection: {"maybe"},
		lambdaenv.AccountMonitoringPack:     {"cis-v9"},
	}
	for env, values := range bad {
		s, ok := lambdaenv.Lookup(env)
		require.True(t, ok, env)
		for _, v := range values {
			err := s.Validate(v)
			if assert.Error(t, err, "%s=%q", env, v) {
				assert.Contains(t, err.Error(), env, "the error names the setting")
			}
		}
	}
	for _, s := range lambdaenv.Table {
		assert.NoError(t, s.Validate(s.Default), "%s's default %q", s.Env, s.Default)
		if s.Check == nil {
			assert.Empty(t, s.Context+s.Param, "%s is set from outside the stack but has no rule", s.Env)
		}
	}
	good := map[string]string{lambdaenv.RepairLimit: "1", lambdaenv.RepairWindow: "90m", lambdaenv.AllowedStacks: "security, audit-*",
		lambdaenv.BoundaryOrganizationID: "o-abcdefghij", lambdaenv.ManagementAccountID: "123456789012",
		lambdaenv.AccountRemediation: "Report", lambdaenv.AccountRetentionInDays: "90", lambdaenv.AccountMonitoringPack: "cis-v5",
		lambdaenv.AccountAlarmTopicARN: "arn:aws:sns:us-east-1:123456789012:alarms"}
	for env, v := range good {
		s, _ := lambdaenv.Lookup(env)
		assert.NoError(t, s.Validate(v), "%s=%q", env, v)
	}
}

// TestRowsAreWhole keeps every row usable by each place that ranges over the table: one row per variable, a
// function to deploy it to, a line of documentation, and a context key or member parameter at most once.
func TestRowsAreWhole(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range lambdaenv.Table {
		for _, k := range []string{s.Env, s.Context, s.Param} {
			if k != "" {
				assert.False(t, seen[k], "%s named twice", k)
				seen[k] = true
			}
		}
		assert.NotZero(t, s.For, s.Env)
		assert.NotEmpty(t, s.Doc, s.Env)
		assert.False(t, s.Param != "" && s.Context == "", "%s: a member parameter without a context key", s.Env)
	}
}

// TestFunctionsRefuseToStartOnAnOutOfRangeSetting starts each built function with a setting out of range: it must
// exit in its init phase, saying which setting, rather than serve events with it (a repair limit of 0 would make
// every event hold).
func TestFunctionsRefuseToStartOnAnOutOfRangeSetting(t *testing.T) {
	for fn, setting := range map[string]string{"remediator": lambdaenv.RepairLimit + "=0", "provider": lambdaenv.LogLevel + "=verbose"} {
		t.Run(fn, func(t *testing.T) {
			bootstrap, err := testbed.BuildFunction(fn)
			require.NoError(t, err)
			cmd := exec.Command(bootstrap)
			cmd.Env = []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
				lambdaenv.RegistryTable + "=registry", setting}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%s started with %s:\n%s", fn, setting, out)
			assert.Equal(t, 1, exit.ExitCode())
			assert.Contains(t, string(out), "cannot start")
			assert.Contains(t, string(out), strings.Split(setting, "=")[0], "the error names the setting")
		})
	}
}
