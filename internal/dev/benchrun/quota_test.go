package benchrun_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/trailguard/trailguard/internal/dev/benchrun"
	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

func quotaRun(mb int, first, repair time.Duration) benchrun.QuotaRun {
	stats := func(d time.Duration) benchrun.Stats { return benchrun.Stats{N: 1, Median: d} }
	return benchrun.QuotaRun{MemoryMB: mb, Share: float64(mb) / 1769, Measured: float64(mb) / 1769, Throttled: 10,
		Cold: []benchrun.ColdStart{{Name: localrun.Provider, First: stats(first)}, {Name: localrun.Remediator, First: stats(first)},
			{Name: benchrun.Hello, First: stats(time.Second)}}, // the hello-world's time is never judged
		Paths: []benchrun.QuotaPath{{Name: "tampering repair, fresh process", Stats: stats(repair)},
			{Name: "tampering repair, warm process", Stats: stats(repair)}}}
}

// TestQuotaVerdictJudgesTheIssueGoals: cold start to first answer ≤ 100 ms for each function and both repairs
// ≤ 150 ms; one over misses.
func TestQuotaVerdictJudgesTheIssueGoals(t *testing.T) {
	assert.True(t, quotaRun(128, 100*time.Millisecond, 150*time.Millisecond).QuotaVerdict())
	assert.False(t, quotaRun(128, 101*time.Millisecond, 150*time.Millisecond).QuotaVerdict())
	assert.False(t, quotaRun(128, 100*time.Millisecond, 151*time.Millisecond).QuotaVerdict())
	assert.False(t, benchrun.QuotaRun{MemoryMB: 128}.QuotaVerdict(), "nothing measured is not met")
	// GB-s of a fresh repair: memory × (first answer + repair).
	assert.InDelta(t, 0.125*0.25, quotaRun(128, 100*time.Millisecond, 150*time.Millisecond).BilledGBs(), 1e-9)
}

// TestQuotaSectionShowsEachSizeAndWhySkipped: the table has a column per size, the default marked, and a machine
// without cgroups says why instead of an empty table.
func TestQuotaSectionShowsEachSizeAndWhySkipped(t *testing.T) {
	small, big := lambdaenv.MemoryMB, 2*lambdaenv.MemoryMB
	r := &benchrun.Report{Quota: []benchrun.QuotaRun{quotaRun(small, 90*time.Millisecond, 140*time.Millisecond),
		quotaRun(big, 50*time.Millisecond, 160*time.Millisecond)}}
	md := string(r.Markdown())
	assert.Contains(t, md, fmt.Sprintf("| | %d MB (default) | %d MB |", small, big))
	assert.Contains(t, md, "| goals (first answer ≤ 100.0 ms, repairs ≤ 150.0 ms) | met | **missed** |")
	assert.Contains(t, md, fmt.Sprintf("| quota held: busy loop got, periods throttled | %.1f %%, 10 | %.1f %%, 10 |",
		float64(small)/17.69, float64(big)/17.69))

	r = &benchrun.Report{QuotaSkipped: "create cgroup: permission denied"}
	md = string(r.Markdown())
	assert.True(t, strings.Contains(md, "Not measured on this machine: create cgroup: permission denied"))
}
