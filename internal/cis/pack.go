package cis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Set names which controls a pack keeps: the value of the resource's MonitoringPack property.
type Set string

const (
	// None keeps no pack (the default).
	None Set = "none"
	// SecurityHub keeps the 14 filters of Security Hub's CloudWatch.1-14 and the CIS Organizations-changes filter.
	SecurityHub Set = "cis"
	// CISv5 keeps SecurityHub's filters and, beside them, the CIS v5 variants where v5's text differs: a
	// Security Hub evaluation still passes CloudWatch.1-14 and a CIS v5 audit finds its own pattern.
	CISv5 Set = "cis-v5"
)

// Sets lists the values MonitoringPack accepts, from the one that watches least: each keeps the filters of the one
// before it (the provider's consent rule reads this order: lowering the pack needs the trail's consent).
var Sets = []Set{None, SecurityHub, CISv5}

// Of lists the controls a set keeps, in the table's order.
func Of(s Set) []Control {
	var out []Control
	for _, c := range Controls {
		if s == CISv5 || s == SecurityHub && !c.Variant {
			out = append(out, c)
		}
	}
	return out
}

// Alarm settings every alarm of the pack has: the ones Security Hub's remediation steps and the CIS benchmark give.
const (
	Namespace          = "trailguard/CIS"
	Statistic          = "Sum"
	PeriodSeconds      = 300
	Threshold          = 1.0
	EvaluationPeriods  = 1
	ComparisonOperator = "GreaterThanOrEqualToThreshold"
	TreatMissingData   = "notBreaching"
	MetricValue        = "1"
)

// Counts are what one trail's pack of a set costs in resources: CloudWatch bills alarms (a standard-resolution
// alarm is $0.10 a month in most regions), metric filters are free, and the metrics they publish are custom
// metrics only once they have data points. The cost model (internal/dev/cost, which holds the prices) reads it.
type Counts struct {
	MetricFilters, Alarms, CustomMetrics int
}

// CountsOf is the resource count of one trail's pack of set s.
func CountsOf(s Set) Counts {
	n := len(Of(s))
	return Counts{MetricFilters: n, Alarms: n, CustomMetrics: n}
}

// NamePrefix starts the name of every filter, metric and alarm of every pack: the functions' permissions on alarms
// are limited to it (infra/stacks/provider.go).
const NamePrefix = "trailguard-cis-"

// Names are the names trailguard gives one trail's pack. They are derived from the trail alone, so the provider,
// the remediator and cis-check agree on them without storing them, and no two trails' packs share a name.
type Names struct {
	// Prefix starts every filter and alarm name of the trail's pack: what trailguard may touch, and nothing else.
	Prefix string
}

// NamesFor returns the names of the pack of the trail named trailName in its home region, for a trail of the
// account trailguard runs in (trail names are unique per account and region; alarms are per account and region
// too).
func NamesFor(trailName string) Names { return names(trailName) }

// NamesOfTrail returns the names of the pack of a trail that may be another account's: trailAccount is that
// account, "" for the account trailguard runs in. From CloudTrail's delegated administrator account the management
// account's organization trail and one of the administrator's own trails can share a name in one region, and their
// packs live in the same account: the other account's trail is named TRAIL@ACCOUNT, and since "@" is not allowed in
// a trail name no own trail's names can ever be the same. Own trails keep NamesFor's names, so no pack is renamed.
func NamesOfTrail(trailName, trailAccount string) Names {
	if trailAccount == "" {
		return names(trailName)
	}
	return names(trailName + "@" + trailAccount)
}

func names(trail string) Names {
	p := NamePrefix + trail + "-"
	if len(p) > 160 { // alarm and filter names allow 255 and 512 characters; keys add at most 30
		sum := sha256.Sum256([]byte(trail))
		p = p[:140] + hex.EncodeToString(sum[:4]) + "-"
	}
	return Names{Prefix: p}
}

// Filter is the metric filter name of a control.
func (n Names) Filter(c Control) string { return n.Prefix + c.Key }

// Alarm is the alarm name of a control.
func (n Names) Alarm(c Control) string { return n.Prefix + c.Key }

// Metric is the metric name of a control.
func (n Names) Metric(c Control) string { return n.Prefix + c.Key }

// Description is the alarm's description: what happened and what to do.
func Description(c Control, trailARN string) string {
	return fmt.Sprintf("%s (%s): the trail %s recorded %s. What to do: %s. Kept by trailguard; the pattern is %s's.",
		c.ID, c.Requirements, trailARN, c.Title, c.Todo, sourceName(c))
}

func sourceName(c Control) string {
	if c.Source == cisBenchmark {
		return "the CIS AWS Foundations Benchmark"
	}
	return "AWS Security Hub"
}
