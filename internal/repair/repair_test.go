package repair_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/trailguard/trailguard/internal/repair"
)

func TestDecide(t *testing.T) {
	p := repair.Policy{Limit: 5, Window: time.Hour}
	drift := repair.Situation{Enforce: true, Drift: true, Repairable: true}
	with := func(s repair.Situation, edit func(*repair.Situation)) repair.Situation { edit(&s); return s }
	cases := []struct {
		name string
		in   repair.Situation
		want repair.Verdict
	}{
		{"no drift", repair.Situation{Enforce: true}, repair.Verdict{Action: repair.Nothing}},
		{"no drift, contested, window still full", repair.Situation{Contested: true, RecentRepairs: 5},
			repair.Verdict{Action: repair.Nothing, Contested: true}},
		{"no drift, contested, window passed", repair.Situation{Contested: true, RecentRepairs: 4}, repair.Verdict{Action: repair.Nothing}},
		{"drift", drift, repair.Verdict{Action: repair.Repair}},
		{"fifth repair", with(drift, func(s *repair.Situation) { s.RecentRepairs = 4 }), repair.Verdict{Action: repair.Repair}},
		{"sixth tampering, by event", with(drift, func(s *repair.Situation) { s.RecentRepairs = 5 }),
			repair.Verdict{Action: repair.Hold, Contested: true}},
		{"sixth tampering, by sweep", with(drift, func(s *repair.Situation) { s.RecentRepairs = 5; s.Sweep = true }),
			repair.Verdict{Action: repair.Repair, Contested: true}},
		{"report mode", with(drift, func(s *repair.Situation) { s.Enforce = false }), repair.Verdict{Action: repair.Report}},
		{"report mode, told already", with(drift, func(s *repair.Situation) { s.Enforce = false; s.SameAsLastReport = true }),
			repair.Verdict{Action: repair.Report, Repeated: true}},
		{"nothing repairable", with(drift, func(s *repair.Situation) { s.Repairable = false }), repair.Verdict{Action: repair.Report}},
		{"trail deleted", with(drift, func(s *repair.Situation) { s.TrailMissing = true; s.RecentRepairs = 9 }), repair.Verdict{Action: repair.Gone}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, p.Decide(c.in), c.name)
	}
}

func TestRecentKeepsOnlyTheWindow(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	times := []time.Time{now.Add(-2 * time.Hour), now.Add(-time.Hour), now.Add(-59 * time.Minute), now}
	before := slices.Clone(times)
	got := repair.Policy{Limit: 5, Window: time.Hour}.Recent(times, now)
	assert.Equal(t, before[2:], got)
	assert.Equal(t, before, times, "the input is not changed")
}
