// Package notify reports the remediator's decisions: one structured log line and one embedded-metric-format line
// per decision (what CloudWatch alarms and Logs Insights read), and an SNS notification for every repair or alert,
// written for the person who has to find out who changed their trail and why.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/trailguard/trailguard/internal/printable"
	"github.com/trailguard/trailguard/internal/repair"
)

// Actions a Decision can report. The outcomes of a repair decision are the repair policy's words (repair.Told...):
// what a person is told a rule did is decided there.
const (
	ActionNone      = repair.ToldNone      // the live state matched the desired state: nothing written
	ActionRepaired  = repair.ToldRepaired  // drift found and repaired
	ActionReported  = repair.ToldReported  // drift found and left alone (report mode, or nothing trailguard may repair)
	ActionContested = repair.ToldContested // repaired repair.Policy.Limit times within its window: events hold, every sweep still repairs
	ActionGone      = repair.ToldGone      // the trail was deleted: it cannot be recreated without its bucket
	ActionFailed    = repair.ToldFailed    // the check or the repair failed; Lambda retries the event
	// ActionInvalid: the registry record breaks the provider's rules (someone wrote the registry directly); nothing
	// it asks for is done.
	ActionInvalid = "invalid"
	// ActionUnregistered: a trail trailguard registered has lost its registry record without a Delete.
	ActionUnregistered = "unregistered"
	// ActionAdopted: account-wide mode registered a trail no stack declares, with the account policy's desired
	// state (and repaired or reported its drift in the same decision).
	ActionAdopted = "adopted"
	// ActionOptedOut: account-wide mode found a trail tagged to opt out, and leaves it alone.
	ActionOptedOut = "opted-out"
	// ActionNotAdopted: account-wide mode cannot guard a trail (its role fails the checks, say); nothing is changed.
	ActionNotAdopted = "not-adopted"
	// ActionConsentByName: a guarded trail's trailguard:managed-by tag names its stack by name, which is not proof
	// of identity; the person is told once which stack id to put there instead.
	ActionConsentByName = "consent-by-name"
	// ActionFinding: a trail registered (or updated) falls short of the CIS benchmark's trail audit; told once.
	ActionFinding = "finding"
	// ActionPostureAccepted: a stack's Update recorded a trail posture that lost something against the registered
	// one (its archive moved since): accepted by the trail's owner, and told, never in silence.
	ActionPostureAccepted = "posture-accepted"
)

// EventSweep is the EventName of a decision the periodic sweep made: no API call was seen.
const EventSweep = "Sweep"

// Decision is what the remediator did about one trail for one event.
type Decision struct {
	Trail, TrailARN, Mode, Actor, SourceIP, EventID, EventName string
	// ActorConfirmed says that Actor was confirmed by something other than the event that names it. An event's
	// userIdentity is whatever its sender wrote (whoever may invoke the remediator can send a copy of a real event
	// with another name in it), so an unconfirmed actor is shown as the event's claim, never as a fact.
	ActorConfirmed bool
	// Account and Region say where the trail is: in an organization every member publishes to one central topic,
	// so a message must say which account and region it comes from. Empty means "read them from TrailARN".
	Account, Region string
	// Drift is a human description of each difference between the live and the desired state.
	Drift []string
	// Action is one of the Action constants.
	Action string
	// Result is "ok" or what went wrong or remains.
	Result string
	// Repairs are the write calls made, e.g. "CreateLogGroup", "UpdateTrail".
	Repairs  []string
	Duration time.Duration
	// Repeated marks drift reported again exactly as last time (a sweep every 15 minutes finds the same drift on a
	// report-mode trail): it is logged and counted, but a person was already told.
	Repeated bool
}

// ShouldNotify says whether a person must hear of the decision: every repair and every alert, once. A decision
// that changed nothing and found nothing, or repeats the last report word for word, is only logged.
func ShouldNotify(d Decision) bool { return d.Action != ActionNone && d.Action != "" && !d.Repeated }

// Log writes the decision as one JSON line with message "decision". Its level says how urgent it is: info when
// all is well or repaired, warn when a person must look, error when trailguard failed. Its text is
// printable.Text, as in the notification: JSON escapes C0 controls but not C1 or bidirectional ones, and these
// lines are read in terminals (make invoke shows them).
func Log(l *slog.Logger, d Decision) {
	text := printable.Text
	account, region := Where(d)
	l.LogAttrs(context.Background(), level(d.Action), "decision",
		slog.String("trail", text(d.Trail)),
		slog.String("trail_arn", text(d.TrailARN)),
		slog.String("account", text(account)),
		slog.String("region", text(region)),
		slog.String("mode", text(d.Mode)),
		slog.String("event_name", text(d.EventName)),
		slog.String("event_id", text(d.EventID)),
		slog.String("actor", text(d.Actor)),
		slog.Bool("actor_confirmed", d.ActorConfirmed),
		slog.String("source_ip", text(d.SourceIP)),
		slog.Any("drift", texts(d.Drift)),
		slog.String("action", text(d.Action)),
		slog.Bool("repeated", d.Repeated),
		slog.Any("repairs", texts(d.Repairs)),
		slog.String("result", text(d.Result)),
		slog.Float64("duration_ms", float64(d.Duration.Microseconds())/1000),
	)
}

// Where is the account and region of the decision's trail: the decision's own, else those of its trail ARN.
func Where(d Decision) (account, region string) {
	account, region = d.Account, d.Region
	if a, err := arn.Parse(d.TrailARN); err == nil {
		if account == "" {
			account = a.AccountID
		}
		if region == "" {
			region = a.Region
		}
	}
	return account, region
}

func level(action string) slog.Level {
	switch action {
	case ActionNone, ActionRepaired, ActionAdopted:
		return slog.LevelInfo
	case ActionFailed:
		return slog.LevelError
	}
	return slog.LevelWarn
}

// texts is a list as the log shows it: each item printable.Text, and [] rather than null when empty, so that
// queries need not handle both.
func texts(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = printable.Text(v)
	}
	return out
}

// Namespace is the CloudWatch namespace of trailguard's metrics.
const Namespace = "trailguard"

// emfLine is one CloudWatch embedded-metric-format record: Lambda ships it from stdout to CloudWatch Logs, which
// extracts the metrics without a PutMetricData call (and so without the permission for it).
type emfLine struct {
	AWS emfMetadata `json:"_aws"`
	metricsRecord
}

// metricsRecord is a decision's metrics and what identifies them: the fields of the embedded-metric-format line,
// and the detail of the decision event (EventSender) that carries them to an organization's central account.
type metricsRecord struct {
	Trail         string `json:"Trail"`
	DriftDetected int    `json:"DriftDetected"`
	Repaired      int    `json:"Repaired"`
	RepairFailed  int    `json:"RepairFailed"`
	Contested     int    `json:"Contested"`
	// Properties, not dimensions: searchable in Logs Insights without multiplying metric series.
	TrailARN string `json:"TrailArn,omitempty"`
	Account  string `json:"Account,omitempty"`
	Region   string `json:"Region,omitempty"`
	Action   string `json:"Action"`
	EventID  string `json:"EventId,omitempty"`
}

// newMetricsRecord is d's metrics: DriftDetected, Repaired, RepairFailed and Contested, each 0 or 1.
func newMetricsRecord(d Decision) metricsRecord {
	trail := d.Trail
	if trail == "" {
		trail = d.TrailARN
	}
	if trail == "" {
		trail = "unknown" // CloudWatch drops a record whose dimension value is empty
	}
	r := metricsRecord{
		Trail:         trail,
		DriftDetected: flag(len(d.Drift) > 0),
		Repaired:      flag(d.Action == ActionRepaired),
		RepairFailed:  flag(d.Action == ActionFailed),
		Contested:     flag(d.Action == ActionContested),
		TrailARN:      d.TrailARN,
		Action:        d.Action,
		EventID:       d.EventID,
	}
	r.Account, r.Region = Where(d)
	return r
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// MetricNames are the remediator's metrics in namespace "trailguard", dimension Trail (the cost model counts them).
var MetricNames = []string{"DriftDetected", "Repaired", "RepairFailed", "Contested"}

// Counted says whether a decision has anything for the metrics to count: drift, a repair, a failure or a contest.
// A compliant check has not.
func Counted(d Decision) bool {
	r := newMetricsRecord(d)
	return r.DriftDetected+r.Repaired+r.RepairFailed+r.Contested > 0
}

// WriteMetrics writes the decision's metrics as one embedded-metric-format JSON line, in namespace "trailguard"
// with dimension Trail: DriftDetected, Repaired, RepairFailed and Contested, each 0 or 1, so that alarms can sum
// them. It writes nothing for a decision that counts nothing (a compliant check): CloudWatch bills a custom
// metric $0.30 a month prorated by the hours it receives data, and a line at every sweep kept every trail's four
// metrics receiving data every hour, $1.20 a month per trail, most of what trailguard cost (issue 24). An alarm on
// these metrics must therefore treat missing data as not breaching; the decision's log line is still written.
func WriteMetrics(w io.Writer, at time.Time, d Decision) error {
	if !Counted(d) {
		return nil
	}
	line := emfLine{
		AWS: emfMetadata{
			Timestamp: at.UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  Namespace,
				Dimensions: [][]string{{"Trail"}},
				Metrics:    emfMetrics(),
			}},
		},
		metricsRecord: newMetricsRecord(d),
	}
	trail := line.Trail
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode metrics of trail %s: %w", trail, err)
	}
	// One Write call, so concurrent writers to stdout cannot interleave inside the line.
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write metrics of trail %s: %w", trail, err)
	}
	return nil
}

func emfMetrics() []emfMetric {
	out := make([]emfMetric, len(MetricNames))
	for i, n := range MetricNames {
		out[i] = emfMetric{Name: n, Unit: "Count"}
	}
	return out
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
