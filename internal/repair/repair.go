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
	// Nothing: no drift. StatusCompliant, or still StatusContested while the window holds too many repairs.
	Nothing Action = "nothing"
	// Repair the drift. StatusContested says the trail is fought over: the repair is also an alert.
	Repair Action = "repair"
	// Report the drift without writing (report mode, or nothing trailguard may repair). Repeated says a person was
	// told about exactly this drift already.
	Report Action = "report"
	// Alert that the trail is contested, and do not repair it on this event: the next sweep will.
	Hold Action = "hold"
	// Gone: the trail was deleted.
	Gone Action = "gone"
)

// Status is the trail's status a decision stores. registry.Status spells its words from these, so what a rule does
// to the record is said here, in Decide and its table.
type Status string

// The statuses a decision can store.
const (
	StatusCompliant Status = "compliant"
	StatusDrifted   Status = "drifted"
	StatusContested Status = "contested"
	StatusGone      Status = "gone"
)

// What a person is told a decision did: notify's actions spell their words from these.
const (
	ToldNone      = "none"      // nothing written: the trail matched, or a contested trail's window still holds
	ToldRepaired  = "repaired"  // the drift was repaired
	ToldReported  = "reported"  // the drift was left alone and reported
	ToldContested = "contested" // the trail is fought over: held (an event) or repaired as an alert (a sweep)
	ToldGone      = "gone"      // the trail was deleted
	ToldFailed    = "failed"    // the repair failed or did not converge: nothing is claimed repaired
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

// Verdict is the policy's answer: what to do, and, once it is done, the status to store and what to tell.
type Verdict struct {
	Action Action
	// Status is the trail's status after Action is done.
	Status Status
	// Tell is what a person is told Action did (a Told... constant).
	Tell string
	// Repeated marks a report a person already had: logged, not notified again.
	Repeated bool
}

// Failed is the verdict's outcome when its repair failed or did not converge: the trail stays drifted and a person
// is told it failed. It is the only way a decision's outcome departs from Decide's, so a notification never says
// something was repaired that was not.
func (v Verdict) Failed() Verdict {
	v.Status, v.Tell = StatusDrifted, ToldFailed
	return v
}

// Decide applies the policy. Events stop repairing a contested trail, so a tamperer cannot make trailguard race
// them, but every sweep still repairs it: no number of tamperings turns protection off for longer than one sweep
// interval, and each sweep repair is an alert.
func (p Policy) Decide(s Situation) Verdict {
	tooMany := s.RecentRepairs >= p.Limit
	switch {
	case !s.Drift && s.Contested && tooMany:
		return Verdict{Action: Nothing, Status: StatusContested, Tell: ToldNone} // until the window passes without repairs
	case !s.Drift:
		return Verdict{Action: Nothing, Status: StatusCompliant, Tell: ToldNone}
	case s.TrailMissing:
		return Verdict{Action: Gone, Status: StatusGone, Tell: ToldGone}
	case !s.Enforce || !s.Repairable:
		return Verdict{Action: Report, Status: StatusDrifted, Tell: ToldReported, Repeated: s.SameAsLastReport}
	case tooMany && !s.Sweep:
		return Verdict{Action: Hold, Status: StatusContested, Tell: ToldContested}
	case tooMany:
		return Verdict{Action: Repair, Status: StatusContested, Tell: ToldContested}
	}
	return Verdict{Action: Repair, Status: StatusCompliant, Tell: ToldRepaired}
}

// Recent keeps the repair times within the window before now.
func (p Policy) Recent(times []time.Time, now time.Time) []time.Time {
	return slices.DeleteFunc(slices.Clone(times), func(t time.Time) bool { return now.Sub(t) >= p.Window })
}
