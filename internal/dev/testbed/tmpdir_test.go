package testbed_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// Every path of the test bed that could write to the OS temp directory (moto and its speed-up, a build of a
// bootstrap, the Runtime API, a function process) cleans up after itself or writes inside the checkout: with an
// empty TMPDIR of its own, the directory is empty again afterwards. A killed process is
// TestMotoDiesWithItsParent's case.
func TestTheTestBedLeavesNothingInTMPDIR(t *testing.T) {
	testbed.NeedMoto(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("GOTMPDIR", "") // the test bed's own default

	m, err := testbed.Launch(context.Background())
	require.NoError(t, err)
	require.NoError(t, testbed.NewAWS(m.Config(testbed.Region)).CreateRegistryTable(context.Background(), "t"))
	// A name of its own, so that this process builds it here even if another test built the hello bootstrap.
	bootstrap, err := testbed.BuildPackage("cmd/hello", "hello-tmpdir-test")
	require.NoError(t, err)
	rt, err := testbed.StartRuntime()
	require.NoError(t, err)
	var logs bytes.Buffer
	fn, err := testbed.StartFunction(bootstrap, rt, m.Env(testbed.Region), &logs)
	require.NoError(t, err)
	_, err = rt.Invoke(context.Background(), []byte(`{}`), 30*time.Second)
	require.NoError(t, err, "logs: %s", logs.String())
	fn.Stop()
	rt.Close()
	m.Stop()

	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "left in TMPDIR")
	root, err := testbed.ModuleRoot()
	require.NoError(t, err)
	assert.DirExists(t, filepath.Join(root, testbed.GoTmpDir), "go's work folders go into the checkout")
}
