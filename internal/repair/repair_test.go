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
	compliant, drifted, contested := repair.StatusCompliant, repair.StatusDrifted, repair.StatusContested
	cases := []struct {
		name string
		in   repair.Situation
		want repair.Verdict
	}{
		{"no drift", repair.Situation{Enforce: true}, repair.Verdict{Action: repair.Nothing, Status: compliant, Tell: repair.ToldNone}},
		{"no drift, contested, window still full", repair.Situation{Contested: true, RecentRepairs: 5},
			repair.Verdict{Action: repair.Nothing, Status: contested, Tell: repair.ToldNone}},
		{"no drift, contested, window passed", repair.Situation{Contested: true, RecentRepairs: 4},
			repair.Verdict{Action: repair.Nothing, Status: compliant, Tell: repair.ToldNone}},
		{"drift", drift, repair.Verdict{Action: repair.Repair, Status: compliant, Tell: repair.ToldRepaired}},
		{"fifth repair", with(drift, func(s *repair.Situation) { s.RecentRepairs = 4 }),
			repair.Verdict{Action: repair.Repair, Status: compliant, Tell: repair.ToldRepaired}},
		{"sixth tampering, by event", with(drift, func(s *repair.Situation) { s.RecentRepairs = 5 }),
			repair.Verdict{Action: repair.Hold, Status: contested, Tell: repair.ToldContested}},
		{"sixth tampering, by sweep", with(drift, func(s *repair.Situation) { s.RecentRepairs = 5; s.Sweep = true }),
			repair.Verdict{Action: repair.Repair, Status: contested, Tell: repair.ToldContested}},
		{"report mode", with(drift, func(s *repair.Situation) { s.Enforce = false }),
			repair.Verdict{Action: repair.Report, Status: drifted, Tell: repair.ToldReported}},
		{"report mode, told already", with(drift, func(s *repair.Situation) { s.Enforce = false; s.SameAsLastReport = true }),
			repair.Verdict{Action: repair.Report, Status: drifted, Tell: repair.ToldReported, Repeated: true}},
		{"nothing repairable", with(drift, func(s *repair.Situation) { s.Repairable = false }),
			repair.Verdict{Action: repair.Report, Status: drifted, Tell: repair.ToldReported}},
		{"trail deleted", with(drift, func(s *repair.Situation) { s.TrailMissing = true; s.RecentRepairs = 9 }),
			repair.Verdict{Action: repair.Gone, Status: repair.StatusGone, Tell: repair.ToldGone}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, p.Decide(c.in), c.name)
	}
}

// TestAVerdictTellsOnlyWhatItsActionDoes runs the policy over every situation and checks that what a person is told
// and the status stored follow from the action: only a repair is told as repaired or stored compliant after drift,
// a failed repair is told as failed and stays drifted, and nothing that writes nothing claims a write.
func TestAVerdictTellsOnlyWhatItsActionDoes(t *testing.T) {
	p := repair.Policy{Limit: 3, Window: time.Hour}
	flags := []bool{false, true}
	seen := map[repair.Action]bool{}
	for _, enforce := range flags {
		for _, sweep := range flags {
			for _, drift := range flags {
				for _, missing := range flags {
					for _, repairable := range flags {
						for _, was := range flags {
							for _, same := range flags {
								for n := range p.Limit + 2 {
									s := repair.Situation{Enforce: enforce, Sweep: sweep, Drift: drift, TrailMissing: missing && drift,
										Repairable: repairable, Contested: was, RecentRepairs: n, SameAsLastReport: same}
									v := p.Decide(s)
									seen[v.Action] = true
									checkVerdict(t, s, v)
								}
							}
						}
					}
				}
			}
		}
	}
	assert.Len(t, seen, 5, "every action is reached: %v", seen)
}

func checkVerdict(t *testing.T, s repair.Situation, v repair.Verdict) {
	t.Helper()
	told := map[repair.Action][]string{
		repair.Nothing: {repair.ToldNone},
		repair.Repair:  {repair.ToldRepaired, repair.ToldContested},
		repair.Report:  {repair.ToldReported},
		repair.Hold:    {repair.ToldContested},
		repair.Gone:    {repair.ToldGone},
	}
	assert.True(t, slices.Contains(told[v.Action], v.Tell), "%+v: action %s told as %q", s, v.Action, v.Tell)
	assert.False(t, s.Drift && v.Status == repair.StatusCompliant && v.Action != repair.Repair,
		"%+v: drift left as it is (%s) but stored compliant", s, v.Action)
	assert.False(t, v.Action == repair.Hold && v.Status != repair.StatusContested,
		"%+v: a held trail stored %q, not contested", s, v.Status)
	f := v.Failed()
	assert.False(t, f.Tell != repair.ToldFailed || f.Status != repair.StatusDrifted || f.Action != v.Action,
		"%+v: a failed %s is told %q and stored %q", s, v.Action, f.Tell, f.Status)
}

func TestRecentKeepsOnlyTheWindow(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	times := []time.Time{now.Add(-2 * time.Hour), now.Add(-time.Hour), now.Add(-59 * time.Minute), now}
	before := slices.Clone(times)
	got := repair.Policy{Limit: 5, Window: time.Hour}.Recent(times, now)
	assert.Equal(t, before[2:], got)
	assert.Equal(t, before, times, "the input is not changed")
}
