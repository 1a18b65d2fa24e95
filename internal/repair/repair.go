// Package repair is the remediator's repair policy: given what a trail's registration asks for, what was found and
// how often the trail was repaired lately, it says what to do. It calls nothing and reads no clock, so every rule is
// a row in a table test.
package repair

import (
	"slices"
	"time"
)

// The policy's defaults: the remediator's settings and the CDK app both start from these.
const (
	// DefaultLimit repairs of one trail within DefaultWindow make it contested.
	DefaultLimit = 5
	// DefaultWindow is how far back repairs count towards the limit.
	DefaultWindow = time.Hour
)

// Policy is the contested rule: once a trail was repaired Limit times within Window, events stop repairing it (the
// sweep still does) until the window holds fewer.
type Policy struct {
	Limit  int
	Window time.Duration
}

// Default is the policy with the documented defaults.
var Default = Policy{Limit: DefaultLimit, Window: DefaultWindow}

// Action is what the policy decides.
type Action string

// The actions.
const (
	// Nothing: no drift. Status Compliant, or still Contested while the window holds too many repairs.
	Nothing Action = "nothing"
	// Repair the drift. Contested says the trail is fought over: the repair is also an alert.
	Repair Action = "repair"
	// Report the drift without writing (report mode, or nothing trailguard may repair). Repeated says a person was
	// told about exactly this drift already.
	Report Action = "report"
	// Alert that the trail is contested, and do not repair it on this event: the next sweep will.
	Hold Action = "hold"
	// Gone: the trail was deleted.
	Gone Action = "gone"
)

// Situation is what the policy decides from.
type Situation struct {
	// Enforce is the registration's mode: repair (true) or only report.
	Enforce bool
	// Sweep says the periodic sweep found the drift, not an event.
	Sweep bool
	// Drift is found, TrailMissing among it, Repairable whether any of it is something trailguard repairs.
	Drift, TrailMissing, Repairable bool
	// Contested is the trail's current status.
	Contested bool
	// RecentRepairs is how many repairs fall within the window.
	RecentRepairs int
	// SameAsLastReport says the last decision reported exactly this drift.
	SameAsLastReport bool
}

// Verdict is the policy's answer.
type Verdict struct {
	Action Action
	// Contested is the trail's status after the decision.
	Contested bool
	// Repeated marks a report a person already had: logged, not notified again.
	Repeated bool
}

// Decide applies the policy. Events stop repairing a contested trail, so a tamperer cannot make trailguard race
// them, but every sweep still repairs it: no number of tamperings turns protection off for longer than one sweep
// interval, and each sweep repair is an alert.
func (p Policy) Decide(s Situation) Verdict {
	tooMany := s.RecentRepairs >= p.Limit
	switch {
	case !s.Drift:
		return Verdict{Action: Nothing, Contested: s.Contested && tooMany}
	case s.TrailMissing:
		return Verdict{Action: Gone}
	case !s.Enforce || !s.Repairable:
		return Verdict{Action: Report, Repeated: s.SameAsLastReport}
	case tooMany && !s.Sweep:
		return Verdict{Action: Hold, Contested: true}
	}
	return Verdict{Action: Repair, Contested: tooMany}
}

// Recent keeps the repair times within the window before now.
func (p Policy) Recent(times []time.Time, now time.Time) []time.Time {
	return slices.DeleteFunc(slices.Clone(times), func(t time.Time) bool { return now.Sub(t) >= p.Window })
}
