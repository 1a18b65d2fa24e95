// Package cost computes what trailguard costs one account and region a month from what a synthesized template
// declares (its billed resources, the functions' memory, the sweep's schedule, the log groups' retention) and from
// modelled traffic. Every unit price is written once, in prices.go; a template resource type the model neither
// prices nor knows to be free is an error, so a new billed resource cannot go unpriced (cmd/cost, make bench and
// docs/organizations.md use it).
package cost

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/notify"
)

// Template is the part of a CloudFormation template the model reads.
type Template struct {
	Name      string
	Resources map[string]Resource
}

// Resource is one template resource.
type Resource struct {
	Type       string
	Properties map[string]any
}

// LoadTemplate reads a synthesized template (cdk.out/<stack>.template.json or infra/stacks/testdata's snapshot).
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t := &Template{Name: path}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("read template %s: %w", path, err)
	}
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("template %s declares no resources", path)
	}
	return t, nil
}

// Free are the resource types AWS does not bill by themselves, with why: what they lead to is priced where it is
// billed (a rule's events, a policy's calls).
var Free = map[string]string{
	"AWS::IAM::Role":                     "IAM is free",
	"AWS::IAM::Policy":                   "IAM is free",
	"AWS::IAM::ManagedPolicy":            "IAM is free",
	"AWS::Lambda::Permission":            "a resource policy statement",
	"AWS::Lambda::EventInvokeConfig":     "a setting of the function; its failure messages are priced as SQS requests",
	"AWS::SNS::TopicPolicy":              "a resource policy",
	"AWS::SQS::QueuePolicy":              "a resource policy",
	"AWS::Logs::MetricFilter":            "free; the metric it publishes is priced as a custom metric",
	"AWS::Logs::ResourcePolicy":          "a resource policy",
	"AWS::Events::EventBusPolicy":        "a resource policy",
	"AWS::CloudFormation::WaitCondition": "CloudFormation handles it at no charge",
}

// Traffic is what the model assumes happens in one account and region in a month.
type Traffic struct {
	// Trails is the number of registered trails.
	Trails int
	// EventsPerDay are the watched API calls (trail, role and log-group changes) that invoke the remediator.
	EventsPerDay float64
	// RepairsPerMonth are repairs and alerts: each notifies, writes the registry and counts in the metrics.
	RepairsPerMonth float64
	// SweepSeconds is a sweep's billed duration (init included when cold), EventSeconds an event's.
	SweepSeconds, EventSeconds float64
	// LogBytesPerSweep is the remediator's log volume per sweep and trail, LogBytesPerInvocation Lambda's own
	// START/END/REPORT lines per invocation.
	LogBytesPerTrail, LogBytesPerInvocation float64
	// SweepMinutes is the sweep interval where the template leaves it to a parameter (an organization member's
	// SweepMinutes, which the StackSet sets from the CDK context trailguard:sweepMinutes, default 15).
	SweepMinutes float64
	// TrailEventsPerDay and TrailEventBytes are what each trail delivers to CloudWatch Logs: the delivery the guard
	// keeps up, billed to the trail's owner whether or not trailguard is deployed (Delivery).
	TrailEventsPerDay, TrailEventBytes float64
	// CISPack adds issue 21's monitoring pack (set cis): metric filters and alarms per trail, created at run time.
	CISPack bool
}

// DefaultTraffic is the modelled month the docs' table uses: 3 trails, a quiet account (a few watched changes a
// day, one repair a month), a sweep billed at 1 s (BENCHMARKS.md measures a sweep of 5 drifted trails in a fraction
// of that, even at 128 MB's CPU share).
var DefaultTraffic = Traffic{Trails: 3, EventsPerDay: 20, RepairsPerMonth: 1, SweepSeconds: 1, EventSeconds: 0.2,
	SweepMinutes: 15, TrailEventsPerDay: 10000, TrailEventBytes: 1500, LogBytesPerTrail: 700, LogBytesPerInvocation: 400}

// DaysPerMonth and HoursPerMonth are the month the model bills.
const (
	DaysPerMonth  = 30
	HoursPerMonth = DaysPerMonth * 24
)

// Delivery is what the guarded delivery itself costs a month (CloudWatch Logs ingestion of every trail's events),
// which the trail's owner pays with or without trailguard: beside the guard's total, never in it.
func Delivery(tr Traffic) Line {
	gb := float64(tr.Trails) * tr.TrailEventsPerDay * DaysPerMonth * tr.TrailEventBytes / 1e9
	return Line{"the delivery guarded (not trailguard's cost)", fmt.Sprintf("%d trails × %.0f events a day × %.0f bytes = %.1f GB × $%.2f per GB ingested, plus storage",
		tr.Trails, tr.TrailEventsPerDay, tr.TrailEventBytes, gb, LogsIngestion.USD), gb * LogsIngestion.USD}
}

// Line is one item of the estimate.
type Line struct {
	Item, Arithmetic string
	USD              float64
}

// Estimate is one account and region's month.
type Estimate struct {
	Template string
	Traffic  Traffic
	Lines    []Line
}

// Total is the sum of the lines.
func (e Estimate) Total() float64 {
	var t float64
	for _, l := range e.Lines {
		t += l.USD
	}
	return t
}

// declared is what the model reads from a template.
type declared struct {
	alarms, keys, topics, queues, tables, logGroups int
	memoryMB                                        []float64
	retentionDays                                   []float64
	sweepMinutes                                    float64
	pitr                                            bool
}

var rate = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours)\)$`)

// read walks every resource: each type must be priced here or listed in Free.
func read(t *Template) (declared, error) {
	var d declared
	var unknown []string
	for id, r := range t.Resources {
		p := r.Properties
		switch r.Type {
		case "AWS::Lambda::Function":
			mb, ok := p["MemorySize"].(float64)
			if !ok {
				mb = 128 // CloudFormation's default
			}
			if arch, _ := p["Architectures"].([]any); len(arch) != 1 || arch[0] != "arm64" {
				return d, fmt.Errorf("%s: function %s is not arm64 only: the model prices arm64", t.Name, id)
			}
			d.memoryMB = append(d.memoryMB, mb)
		case "AWS::CloudWatch::Alarm":
			d.alarms++
		case "AWS::KMS::Key":
			d.keys++
		case "AWS::SNS::Topic":
			d.topics++
		case "AWS::SQS::Queue":
			d.queues++
		case "AWS::DynamoDB::Table":
			if p["BillingMode"] != "PAY_PER_REQUEST" {
				return d, fmt.Errorf("%s: table %s is not on demand: provisioned capacity is not modelled", t.Name, id)
			}
			d.tables++
			if pitr, _ := p["PointInTimeRecoverySpecification"].(map[string]any); pitr["PointInTimeRecoveryEnabled"] == true {
				d.pitr = true
			}
		case "AWS::Logs::LogGroup":
			d.logGroups++
			days, ok := p["RetentionInDays"].(float64)
			if !ok {
				return d, fmt.Errorf("%s: log group %s keeps its logs forever: its storage grows without bound", t.Name, id)
			}
			d.retentionDays = append(d.retentionDays, days)
		case "AWS::Events::Rule":
			if _, ok := p["ScheduleExpression"].(map[string]any); ok {
				d.sweepMinutes = -1 // a parameter: Traffic.SweepMinutes
			} else if s, ok := p["ScheduleExpression"].(string); ok {
				m := rate.FindStringSubmatch(s)
				if m == nil {
					return d, fmt.Errorf("%s: rule %s: schedule %q is not a rate the model reads", t.Name, id, s)
				}
				n, _ := strconv.ParseFloat(m[1], 64)
				if strings.HasPrefix(m[2], "hour") {
					n *= 60
				}
				d.sweepMinutes = n
			}
		default:
			if _, ok := Free[r.Type]; !ok {
				unknown = append(unknown, fmt.Sprintf("%s (%s)", r.Type, id))
			}
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return d, fmt.Errorf("%s declares resources the cost model neither prices nor knows to be free: %s; price them in internal/dev/cost (prices.go, cost.go) or list them in cost.Free with why",
			t.Name, strings.Join(unknown, ", "))
	}
	if d.sweepMinutes == 0 {
		return d, fmt.Errorf("%s: no scheduled rule (the sweep): the model needs its rate", t.Name)
	}
	return d, nil
}

// Compute prices one account and region's month for the resources t declares and the traffic tr.
func Compute(t *Template, tr Traffic) (Estimate, error) {
	d, err := read(t)
	if err != nil {
		return Estimate{}, err
	}
	e := Estimate{Template: t.Name, Traffic: tr}
	add := func(item, arithmetic string, usd float64) { e.Lines = append(e.Lines, Line{item, arithmetic, usd}) }
	if d.sweepMinutes < 0 {
		d.sweepMinutes = tr.SweepMinutes
	}
	if d.sweepMinutes <= 0 {
		return Estimate{}, fmt.Errorf("%s: the sweep's rate is a parameter and the traffic names no SweepMinutes", t.Name)
	}
	sweeps := DaysPerMonth * 24 * 60 / d.sweepMinutes
	events := tr.EventsPerDay * DaysPerMonth
	trails := float64(tr.Trails)

	add("KMS keys", fmt.Sprintf("%d × $%.2f", d.keys, KMSKey.USD), float64(d.keys)*KMSKey.USD)
	add("CloudWatch alarms", fmt.Sprintf("%d × $%.2f", d.alarms, Alarm.USD), float64(d.alarms)*Alarm.USD)
	metrics := float64(len(notify.MetricNames))
	hours := math.Min(tr.RepairsPerMonth, HoursPerMonth)
	add("custom metrics (the remediator's, written only for a decision that counts something)",
		fmt.Sprintf("%.0f metrics × %.0f hour(s) with data of %d × $%.2f", metrics, hours, HoursPerMonth, CustomMetric.USD),
		metrics*hours/HoursPerMonth*CustomMetric.USD)
	mem := slices.Max(d.memoryMB) / 1024
	gbs := (sweeps*tr.SweepSeconds + events*tr.EventSeconds) * mem
	add("Lambda requests", fmt.Sprintf("(%.0f sweeps + %.0f events) × $%.2f per million", sweeps, events, LambdaRequest.USD*1e6),
		(sweeps+events)*LambdaRequest.USD)
	add("Lambda compute", fmt.Sprintf("(%.0f × %.1f s + %.0f × %.1f s) × %.3f GB = %.0f GB-s × $%.10f", sweeps, tr.SweepSeconds, events,
		tr.EventSeconds, mem, gbs, LambdaArmGBSecond.USD), gbs*LambdaArmGBSecond.USD)
	reads, writes := sweeps+events, 2*tr.RepairsPerMonth
	storageGB := trails * 4e3 / 1e9 * float64(d.tables)
	dynamo := reads*DynamoRead.USD + writes*DynamoWrite.USD + storageGB*DynamoStorage.USD
	if d.pitr {
		dynamo += storageGB * DynamoPITR.USD
	}
	add("DynamoDB on demand", fmt.Sprintf("%.0f reads × $%.3f + %.0f writes × $%.3f per million, %.0f KB stored (PITR %v)", reads,
		DynamoRead.USD*1e6, writes, DynamoWrite.USD*1e6, storageGB*1e6, d.pitr), dynamo)
	add("SNS and SQS", fmt.Sprintf("%.0f notification(s) × $%.2f per million; the failure queue is empty when nothing fails",
		tr.RepairsPerMonth, SNSPublish.USD*1e6), tr.RepairsPerMonth*SNSPublish.USD*float64(d.topics))
	add("EventBridge", fmt.Sprintf("rules on AWS events and the schedule: $%.0f; decision events %.0f × $%.2f per million",
		EventBridgeAWSEvent.USD, tr.RepairsPerMonth, EventBridgeCustom.USD*1e6), tr.RepairsPerMonth*EventBridgeCustom.USD)
	logGB := ((sweeps+events)*tr.LogBytesPerInvocation + sweeps*trails*tr.LogBytesPerTrail) / 1e9
	add("CloudWatch Logs ingestion", fmt.Sprintf("%.1f MB × $%.2f per GB", logGB*1e3, LogsIngestion.USD), logGB*LogsIngestion.USD)
	keptMonths := slices.Max(d.retentionDays) / DaysPerMonth
	add("CloudWatch Logs storage", fmt.Sprintf("at most %.1f months kept: %.1f MB × $%.2f per GB", keptMonths, logGB*keptMonths*1e3,
		LogsStorage.USD), logGB*keptMonths*LogsStorage.USD)
	if tr.CISPack {
		// The pack is created at run time by the provider, not declared in the template: its size is cis.CountsOf.
		c := cis.CountsOf(cis.SecurityHub)
		n := float64(c.Alarms) * trails
		add("CIS monitoring pack (option, set cis)", fmt.Sprintf("%d alarms per trail × %d trails × $%.2f; its %d metric filters are free and their metrics get data only on a match",
			c.Alarms, tr.Trails, Alarm.USD, c.MetricFilters), n*Alarm.USD)
	}
	return e, nil
}
