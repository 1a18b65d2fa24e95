package cpuquota_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/cpuquota"
)

// newGroup makes a group for one test, skipping where cgroups are not writable (not root, no cpu controller)
// except under CI, which runs as root on a machine that has them.
func newGroup(t *testing.T, share float64) *cpuquota.Group {
	t.Helper()
	g, err := cpuquota.New(fmt.Sprintf("trailguard-test-%d-%d", os.Getpid(), time.Now().UnixNano()), share, cpuquota.LambdaPeriod)
	if err != nil && os.Getenv("CI") == "" {
		t.Skipf("no writable CPU cgroup here: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, g.Close()) })
	return g
}

// TestQuotaHoldsABusyLoop is how the benchmark's quota is verified: a busy loop in a group of a tenth of a CPU gets
// at most about that, and the kernel counts periods in which it held the loop back. Unthrottled, a busy loop gets a
// whole CPU on an idle machine and a quarter or more of one on this loaded 2-core one.
func TestQuotaHoldsABusyLoop(t *testing.T) {
	g := newGroup(t, 0.1)
	share, err := g.Measure(context.Background(), 2*time.Second)
	require.NoError(t, err)
	t.Logf("busy loop under a 10 %% quota got %.1f %% of a CPU", share*100)
	assert.LessOrEqual(t, share, 0.15, "the busy loop got more CPU than its quota")
	n, err := g.Throttled()
	require.NoError(t, err)
	assert.Positive(t, n, "the kernel never throttled the busy loop")
}

// TestWrappedProgramRunsInTheGroupFromItsStart: the wrapper moves itself into the group before exec, so the program
// (here cat, reading its own cgroup) is in the group from its first instruction, under the same process id.
func TestWrappedProgramRunsInTheGroupFromItsStart(t *testing.T) {
	g := newGroup(t, 0.5)
	wrapper, err := g.Wrap("/bin/cat", t.TempDir(), "cat")
	require.NoError(t, err)
	assert.Equal(t, "bootstrap", filepath.Base(wrapper))
	out, err := exec.Command(wrapper, "/proc/self/cgroup").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "/"+filepath.Base(g.Dir())+"\n", "the wrapped program is not in the group")
}

// TestCloseRemovesTheGroup: the benchmark leaves no cgroup behind.
func TestCloseRemovesTheGroup(t *testing.T) {
	g := newGroup(t, 0.5)
	require.NoError(t, g.Command(context.Background(), "/bin/true").Run())
	require.NoError(t, g.Close())
	_, err := os.Stat(g.Dir())
	assert.True(t, os.IsNotExist(err), "%s is still there", g.Dir())
}

// TestBadSettingsAreRefusedAndCreateNothing: each bad setting is named, and no group is made.
func TestBadSettingsAreRefusedAndCreateNothing(t *testing.T) {
	for _, c := range []struct {
		name   string
		share  float64
		period time.Duration
		want   string
	}{
		{"trailguard-bad", 0, cpuquota.LambdaPeriod, "CPU share"},
		{"trailguard-bad", 0.5, 0, "period"},
		{"trailguard-bad", 0.01, cpuquota.LambdaPeriod, "minimum is 1000"},
		{"../escape", 0.5, cpuquota.LambdaPeriod, "cgroup name"},
	} {
		_, err := cpuquota.New(c.name, c.share, c.period)
		require.Error(t, err, "%+v", c)
		assert.Contains(t, err.Error(), c.want)
		_, statErr := os.Stat(filepath.Join(cpuquota.Root, "cpu", strings.TrimPrefix(c.name, "../")))
		assert.True(t, os.IsNotExist(statErr), "a refused group was created")
	}
}

func TestShareIsProportionalToMemory(t *testing.T) {
	assert.InDelta(t, 0.0724, cpuquota.Share(128), 0.0001)
	assert.InDelta(t, 1.0, cpuquota.Share(cpuquota.FullCPUMemoryMB), 1e-9)
}
