package stacks_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/snapshot"
)

// assetHash matches the content hashes CDK puts in asset keys; they change with every build of the functions.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// normalized is a stack's template as indented JSON with asset hashes replaced, so the snapshot shows only
// changes a reviewer should see.
func normalized(t *testing.T, stack awscdk.Stack) []byte {
	t.Helper()
	_, m := toTemplate(t, stack)
	b, err := json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	return append(assetHash.ReplaceAll(b, []byte("ASSET_HASH")), '\n')
}

func TestTemplatesMatchSnapshots(t *testing.T) {
	s := defaults()
	for name, stack := range map[string]awscdk.Stack{"trailguard": s.provider.Stack, "trailguard-example": s.example.Stack} {
		t.Run(name, func(t *testing.T) {
			got := normalized(t, stack)
			snapshot.Match(t, filepath.Join("testdata", name+".template.json"), got)
		})
	}
}

// TestCfnLint runs cfn-lint, when installed, on every synthesized template: any error (exit bit 2) fails.
// Warnings are printed: W3005 (a DependsOn CDK adds next to a GetAtt) is the only one expected.
func TestCfnLint(t *testing.T) {
	s := defaults()
	cfnLint(t, "make cfn-lint", map[string]awscdk.Stack{"trailguard": s.provider.Stack, "trailguard-example": s.example.Stack})
}

// cfnLint runs cfn-lint, when installed, on the stacks' normalized templates: any error (exit bit 2) fails, warnings
// are printed. make names the target that lints cdk.out where cfn-lint is missing here.
func cfnLint(t *testing.T, make string, stacks map[string]awscdk.Stack) {
	t.Helper()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed; `" + make + "` runs it on cdk.out")
	}
	dir := t.TempDir()
	var files []string
	for name, stack := range stacks {
		f := filepath.Join(dir, name+".template.json")
		require.NoError(t, os.WriteFile(f, normalized(t, stack), 0o644))
		files = append(files, f)
	}
	out, err := exec.Command(lint, append([]string{"--format", "parseable"}, files...)...).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		assert.Zero(t, exit.ExitCode()&2, "cfn-lint reported errors:\n%s", out)
	} else {
		require.NoError(t, err)
	}
	if len(out) > 0 {
		t.Logf("cfn-lint:\n%s", out)
	}
}
