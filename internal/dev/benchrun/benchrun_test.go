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

	"github.com/trailguard/trailguard/internal/dev/benchrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
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
	require.Len(t, rep.Cold, 3, "both functions and the hello-world bootstrap")
	for _, c := range rep.Cold {
		assert.Equal(t, 3, c.Init.N, c.Name)
		assert.Positive(t, c.Init.Min, c.Name)
		assert.GreaterOrEqual(t, c.First.Min, c.Init.Min, "%s: the first answer comes after init", c.Name)
	}
	_, ok := rep.InitRatio("remediator")
	assert.True(t, ok, "the remediator's init is compared with the hello-world's")

	assert.Equal(t, []time.Duration{benchrun.DefaultLatency}, rep.Latencies, "quick mode runs the paths at the realistic latency only")
	require.Len(t, rep.Paths, 6)
	byName := map[string]benchrun.Path{}
	for _, w := range rep.Paths {
		byName[w.Name] = w
		require.Len(t, w.Times, 1, w.Name)
		assert.Equal(t, 3, w.Times[0].Stats.N, w.Name)
		assert.GreaterOrEqual(t, w.Times[0].Stats.Min, benchrun.DefaultLatency, "%s: every path makes a call, which takes the latency", w.Name)
		assert.Positive(t, w.Times[0].Moto.Median, "%s: moto answered", w.Name)
		// Round trips are whole calls: at least one, never more than the calls made.
		assert.GreaterOrEqual(t, w.CriticalPath.Median, 1, w.Name)
		assert.LessOrEqual(t, w.CriticalPath.Max, w.Calls.Total, "%s: %v", w.Name, w.Calls.List)
		assert.Positive(t, w.PeakRSS, w.Name)
	}
	noop := byName["remediator no-op event"]
	assert.Equal(t, 1, noop.Calls.Total, "a no-op is one read: %v", noop.Calls.List)
	assert.Zero(t, noop.Calls.Writes)
	assert.Equal(t, benchrun.Rounds{N: 1, Median: 1, Max: 1}, noop.CriticalPath)
	for _, name := range []string{"tampering repair, fresh process", "tampering repair, warm process"} {
		assert.Equal(t, []string{"CloudTrail.UpdateTrail"}, byName[name].Calls.ResourceWrites, name)
	}
	assert.True(t, byName["tampering repair, fresh process"].Fresh)
	assert.Contains(t, byName["provider Create"].Calls.ResourceWrites, "CloudTrail.UpdateTrail")
	drifted := byName[fmt.Sprintf("sweep of %d drifted trails", benchrun.TrailCount)]
	assert.Equal(t, []string{fmt.Sprintf("CloudTrail.UpdateTrail ×%d", benchrun.TrailCount)}, drifted.Calls.ResourceWrites,
		"the sweep repairs every unlinked trail, once")
	compliant := byName[fmt.Sprintf("sweep of %d compliant trails", benchrun.TrailCount)]
	assert.Zero(t, compliant.Calls.Writes, "a sweep of compliant trails writes nothing: %v", compliant.Calls.List)
	assert.GreaterOrEqual(t, compliant.Calls.Reads, benchrun.TrailCount, "the sweep reads every registered trail")
	assert.Contains(t, compliant.Calls.List, "CloudTrail.DescribeTrails", "one call answers for every trail's configuration")
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
	assert.Equal(t, 1, b.Runs)
	_, ok = rep.BurstRatio()
	assert.True(t, ok, "the throttled burst is compared with the baseline")

	// Under each memory size's CPU share (root with a CPU cgroup controller, as here and in CI): the quota held,
	// every bootstrap started and every quota path ran, and no group is left behind.
	assert.NotEmpty(t, rep.Cost, "the cost table is computed from the templates")
	if rep.QuotaSkipped == "" {
		require.Len(t, rep.Quota, len(benchrun.QuotaSizes))
		for _, q := range rep.Quota {
			assert.LessOrEqual(t, q.Measured, q.Share*1.5, "%d MB: the busy loop got more than the quota", q.MemoryMB)
			assert.Positive(t, q.Throttled, "%d MB: the kernel never throttled the group", q.MemoryMB)
			assert.Len(t, q.Cold, 3, "%d MB", q.MemoryMB)
			require.Len(t, q.Paths, 4, "%d MB", q.MemoryMB)
			for _, p := range q.Paths {
				assert.Equal(t, 3, p.Stats.N, "%d MB %s", q.MemoryMB, p.Name)
			}
		}
		left, err := filepath.Glob("/sys/fs/cgroup/cpu/trailguard-bench-*")
		require.NoError(t, err)
		assert.Empty(t, left, "the bench left CPU cgroups behind")
	} else {
		assert.Empty(t, os.Getenv("CI"), "CI runs as root with cgroups, yet the quota step was skipped: %s", rep.QuotaSkipped)
	}

	md := string(rep.Markdown())
	for _, s := range benchrun.Sections {
		assert.Contains(t, md, "\n"+s+"\n", "section %q", s)
	}
	assert.Contains(t, md, "Quick mode")
	assert.NotContains(t, md, "did not work")
	assert.Contains(t, md, "| throttled burst: every trail compliant after every run | 5 of 5 | 5 of 5 | met |")
	assert.Contains(t, md, "makes each one take at least **25.0 ms**")

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
		Sizes: []benchrun.Size{{Function: "provider", ZipBytes: 4 << 20, BootstrapBytes: 12 << 20}},
		Cold: []benchrun.ColdStart{
			{Name: "provider", Init: benchrun.Stats{N: 1, Median: 9 * time.Millisecond}, First: benchrun.Stats{N: 1, Median: 80 * time.Millisecond}},
			{Name: benchrun.Hello, Init: benchrun.Stats{N: 1, Median: 3 * time.Millisecond}},
		},
		Latency: benchrun.GoalLatency, Latencies: []time.Duration{benchrun.GoalLatency, 0},
		Paths: []benchrun.Path{
			{Name: "sweep of 5 drifted trails", CriticalPath: benchrun.Rounds{N: 3, Median: 6, Max: 7},
				Times: []benchrun.Timing{{Latency: benchrun.GoalLatency, Stats: benchrun.Stats{N: 1, Median: 150 * time.Millisecond}}}},
			{Name: "tampering repair, warm process", CriticalPath: benchrun.Rounds{N: 3, Median: 4, Max: 5},
				Times: []benchrun.Timing{
					{Latency: benchrun.GoalLatency, Stats: benchrun.Stats{N: 1, Median: 130 * time.Millisecond}},
					{Latency: 0, Stats: benchrun.Stats{N: 1, Median: 40 * time.Millisecond}, Rest: benchrun.Stats{N: 1, Median: 12 * time.Millisecond}},
				}},
		},
		Burst:    benchrun.Burst{Trails: []benchrun.TrailState{{Trail: "a", Linked: true, Logging: false}}, Wall: 5 * time.Second, Latency: benchrun.GoalLatency},
		Baseline: benchrun.Burst{Wall: 2 * time.Second},
		Problems: []benchrun.Problem{{Step: "warm paths", Err: errors.New("the remediator failed")}},
	}
	md := string(rep.Markdown())
	assert.Contains(t, md, "| provider zip size | ≤ 3.5 MB (3500000 bytes) | 4194304 bytes | **missed** |")
	assert.Contains(t, md, "| provider cold start, exec to first answer | median ≤ 50.0 ms | 80.0 ms | **missed** |")
	assert.Contains(t, md, "| provider init | < 2× the hello-world bootstrap's | 3.00× (9.0 ms against 3.0 ms) | **missed** |")
	assert.Contains(t, md, "| sweep of 5 drifted trails: round trips | ≤ 5 | 6 (7) | **missed** |")
	assert.Contains(t, md, "| sweep of 5 drifted trails: handler time at 25.0 ms per call | < 200.0 ms | 150.0 ms | met |")
	assert.Contains(t, md, "| tampering repair, warm process: round trips | ≤ 4 | 4 (5) | **missed** |", "the slowest run counts")
	assert.Contains(t, md, "| tampering repair, warm process: handler time at 25.0 ms per call | < 125.0 ms | 130.0 ms (estimate on AWS: 112.0 ms) | **missed** |")
	assert.Contains(t, md, "| tampering repair, warm process | 0 (0 writes) | 4 (5) | 130.0 ms | 0.0 ms | 0.0 ms | 40.0 ms | 0.0 ms | 0.0 ms | 12.0 ms | 112.0 ms |")
	assert.Contains(t, md, "| throttled burst time over the baseline's, at 25.0 ms per call | ≤ 2× | 2.50× (5.00 s against 2.00 s) | **missed** |")
	assert.Contains(t, md, "| throttled burst: every trail compliant after every run | 1 of 1 | 0 of 1 | **missed** |")
	assert.Contains(t, md, "- warm paths: the remediator failed")
	assert.Equal(t, 1, strings.Count(md, "# trailguard benchmarks\n"))
}

// A time goal holds at 25 ms per call; measured at another latency it is reported, not judged. Round trips are
// counted at testbed.RoundTripLatency whatever the latency, and judged.
func TestTimeGoalsNeedTheGoalLatency(t *testing.T) {
	rep := &benchrun.Report{Latency: 10 * time.Millisecond, Latencies: []time.Duration{10 * time.Millisecond},
		CountLatency: testbed.RoundTripLatency, CountRuns: 3,
		Paths: []benchrun.Path{{Name: "tampering repair, warm process", CriticalPath: benchrun.Rounds{N: 3, Median: 3, Max: 3},
			Times: []benchrun.Timing{{Latency: 10 * time.Millisecond, Stats: benchrun.Stats{N: 1, Median: 50 * time.Millisecond}}}}}}
	md := string(rep.Markdown())
	assert.Contains(t, md, "| tampering repair, warm process: round trips | ≤ 4 | 3 | met |")
	assert.Contains(t, md, "| tampering repair, warm process: handler time at 25.0 ms per call | < 125.0 ms | 0.0 ms | not judged (measured at 10.0 ms) |")
	assert.Contains(t, md, "over 3 more runs of each path at **250.0 ms** per call")
}

// Round trips that were never counted (their runs failed) are a miss, not "0: met".
func TestUncountedRoundTripsAreNotMet(t *testing.T) {
	rep := &benchrun.Report{Latency: benchrun.GoalLatency, Latencies: []time.Duration{benchrun.GoalLatency},
		Paths: []benchrun.Path{{Name: "sweep of 5 drifted trails"}}}
	assert.Contains(t, string(rep.Markdown()), "| sweep of 5 drifted trails: round trips | ≤ 5 | not counted | **missed** |")
}
