package benchrun_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/benchrun"
	"github.com/trailguard/trailguard/internal/testbed"
)

// TestQuickRun runs the whole harness in quick mode, as CI does, and checks that the report has every section,
// every number it promises, and that the throttled burst ended with every trail compliant.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs moto and the built functions")
	}
	testbed.NeedMoto(t)
	root, err := testbed.ModuleRoot()
	require.NoError(t, err)
	for _, fn := range benchrun.Functions {
		testbed.NeedFile(t, filepath.Join(root, "dist", fn+".zip"), "make build")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := benchrun.Run(ctx, benchrun.Quick(), benchrun.WithBurst(30, 2), benchrun.WithLogDir(t.TempDir()))
	require.NoError(t, err)

	assert.Len(t, rep.Sizes, 2)
	for _, s := range rep.Sizes {
		assert.Positive(t, s.ZipBytes, s.Function)
		assert.Greater(t, s.BootstrapBytes, s.ZipBytes, "%s: the bootstrap compresses", s.Function)
	}
	require.Len(t, rep.Cold, 2)
	for _, c := range rep.Cold {
		assert.Equal(t, 3, c.Stats.N, c.Name)
		assert.Positive(t, c.Stats.Min, c.Name)
	}
	require.Len(t, rep.Warm, 4)
	for _, w := range rep.Warm {
		assert.Equal(t, 3, w.Stats.N, w.Name)
		assert.Positive(t, w.Stats.Median, w.Name)
	}
	byName := map[string]benchrun.Path{}
	for _, w := range rep.Warm {
		byName[w.Name] = w
	}
	assert.Zero(t, byName["remediator no-op"].Calls.Writes, "a no-op writes nothing: %v", byName["remediator no-op"].Calls.List)
	assert.Contains(t, byName["remediator repair"].Calls.ResourceWrites, "CloudTrail.UpdateTrail")
	assert.Contains(t, byName["provider Create"].Calls.ResourceWrites, "CloudTrail.UpdateTrail")
	// The sweep reads every registered trail.
	assert.GreaterOrEqual(t, byName["remediator sweep"].Calls.Reads, benchrun.TrailCount)
	assert.Contains(t, byName["remediator sweep"].Calls.List, fmt.Sprintf("CloudTrail.GetTrailStatus ×%d", benchrun.TrailCount),
		"the sweep reads exactly the registered trails (the Create path's trail is gone by then)")
	assert.Contains(t, byName["remediator sweep"].Calls.List, "CloudTrail.DescribeTrails", "one call answers for every trail's configuration")
	require.Len(t, rep.RSS, 2)
	for _, r := range rep.RSS {
		assert.Greater(t, r.Bytes, int64(1<<20), r.Function)
	}

	base := rep.Baseline
	assert.Zero(t, base.Throttles, "the baseline has no faults")
	assert.Zero(t, base.CompliantBefore, "the tampering made every trail drift")
	assert.True(t, base.Compliant(), "every trail compliant after the baseline burst: %+v", base.Trails)

	b := rep.Burst
	assert.Equal(t, 30, b.Events)
	assert.Zero(t, b.CompliantBefore, "the tampering made every trail drift")
	assert.True(t, b.Compliant(), "every trail compliant after the burst: %+v", b.Trails)
	assert.Len(t, b.Trails, benchrun.TrailCount)
	assert.Zero(t, b.FailedPermanently, b.Errors)
	assert.Positive(t, b.Throttles, "throttling was injected")
	assert.Greater(t, b.Calls.Total, b.Throttles)

	md := string(rep.Markdown())
	for _, s := range benchrun.Sections {
		assert.Contains(t, md, "\n"+s+"\n", "section %q", s)
	}
	assert.Contains(t, md, "Quick mode")
	assert.NotContains(t, md, "did not work")
	assert.Contains(t, md, "| throttled burst: every trail compliant after | 5 of 5 | 5 of 5 | met |")

	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	require.NoError(t, benchrun.WriteFile(out, rep.Markdown()))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, md, string(got))
	left, err := filepath.Glob(filepath.Join(filepath.Dir(out), ".BENCHMARKS.md.*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left behind")
}

func TestSummarize(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, x := range n {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	s := benchrun.Summarize(ms(9, 1, 5, 3, 7, 2, 8, 4, 6, 10))
	assert.Equal(t, benchrun.Stats{N: 10, Median: 5500 * time.Microsecond, P90: 9 * time.Millisecond,
		Min: time.Millisecond, Max: 10 * time.Millisecond}, s)
	s = benchrun.Summarize(ms(30, 10, 20))
	assert.Equal(t, 20*time.Millisecond, s.Median)
	assert.Equal(t, 30*time.Millisecond, s.P90)
	assert.Equal(t, benchrun.Stats{}, benchrun.Summarize(nil))
}

// TestMarkdownReportsMisses checks that a missed goal and a failed step show as such, instead of only met goals.
func TestMarkdownReportsMisses(t *testing.T) {
	rep := &benchrun.Report{
		Sizes:    []benchrun.Size{{Function: "provider", ZipBytes: 4 << 20, BootstrapBytes: 12 << 20}},
		Cold:     []benchrun.Latency{{Name: "provider", Stats: benchrun.Stats{N: 1, Median: 80 * time.Millisecond}}},
		Burst:    benchrun.Burst{Trails: []benchrun.TrailState{{Trail: "a", Linked: true, Logging: false}}},
		Problems: []benchrun.Problem{{Step: "warm paths", Err: errors.New("the remediator failed")}},
	}
	md := string(rep.Markdown())
	assert.Contains(t, md, "| provider zip size | ≤ 3.5 MB (3500000 bytes) | 4194304 bytes | **missed** |")
	assert.Contains(t, md, "| provider cold start | median ≤ 50.0 ms | 80.0 ms | **missed** |")
	assert.Contains(t, md, "| throttled burst: every trail compliant after | 1 of 1 | 0 of 1 | **missed** |")
	assert.Contains(t, md, "- warm paths: the remediator failed")
	assert.Equal(t, 1, strings.Count(md, "# trailguard benchmarks\n"))
}
