package localrun_test

import (
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// make help is the first thing a newcomer reads: every line fits the width the demo and invoke keep to, whatever
// a target's description (the help target wraps a long one), and every target is listed.
func TestMakeHelpFitsTheWidth(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := testbed.ModuleRoot()
	require.NoError(t, err)
	cmd := exec.Command("make", "--no-print-directory", "-s", "help")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), localrun.Width, "line %q", l)
	}
	for _, target := range []string{"demo", "test", "bench", "invoke", "bootstrap", "deploy", "destroy"} {
		assert.Contains(t, string(out), "  "+target+" ", "make help lists %s", target)
	}
}
