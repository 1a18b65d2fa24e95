// Package cischeck evaluates an account and region the way AWS Security Hub documents CloudTrail.1, CloudTrail.5
// and CloudWatch.1-14 (and CIS 4.15, which no Security Hub control covers): the exact audit steps of the CIS AWS
// Foundations Benchmark's monitoring section. It only reads. cmd/cis-check prints its results; the tests of the CIS
// monitoring pack use it to prove the pack, against worlds built to fail each control.
//
// The steps, per CloudWatch.x (Security Hub user guide, cloudwatch-controls; CIS v1.4.0 4.x audit):
//  1. a trail of this account whose home region is this one, multi-Region, logging, recording management events
//     with ReadWriteType All, and delivering to a CloudWatch Logs log group;
//  2. a metric filter on that log group whose pattern is exactly the control's (no added fields or terms);
//  3. an alarm on that filter's metric (name and namespace);
//  4. an action of that alarm to an SNS topic with at least one confirmed subscription (a SubscriptionArn that is an
//     ARN, not "PendingConfirmation").
//
// FAILED when no trail qualifies or a step fails for every qualifying trail; NO_DATA when the only multi-Region
// trail is based in another region or belongs to another account (Security Hub can only evaluate where the trail
// lives); WARNING when the topic's subscriptions cannot be read.
//
// Strict (Options.Strict, cmd/cis-check's default) also fails what Security Hub passes but a CIS auditor would
// not: an alarm whose actions are disabled (it notifies nobody), and a trail whose selectors leave management events
// out (ExcludeManagementEventSources, an advanced selector's eventSource NotEquals or Equals).
package cischeck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/delivery"
)

// Status is a control's outcome, in Security Hub's words.
type Status string

const (
	Passed  Status = "PASSED"
	Failed  Status = "FAILED"
	NoData  Status = "NO_DATA"
	Warning Status = "WARNING"
)

// Result is one control's outcome and why.
type Result struct {
	Control string `json:"control"`
	Title   string `json:"title"`
	Status  Status `json:"status"`
	Reason  string `json:"reason"`
}

// CloudTrailAPI is the evaluation's CloudTrail reads; LogsAPI, AlarmsAPI and TopicsAPI are its other reads.
type CloudTrailAPI interface {
	DescribeTrails(context.Context, *cloudtrail.DescribeTrailsInput, ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(context.Context, *cloudtrail.GetTrailStatusInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(context.Context, *cloudtrail.GetEventSelectorsInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
}

type LogsAPI interface {
	DescribeMetricFilters(context.Context, *cloudwatchlogs.DescribeMetricFiltersInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeMetricFiltersOutput, error)
}

type AlarmsAPI interface {
	DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// Clients are one region's.
type Clients struct {
	CloudTrail CloudTrailAPI
	Logs       LogsAPI
	Alarms     AlarmsAPI
	Topics     delivery.TopicsAPI
}

// NewClients builds the clients of cfg's region.
func NewClients(cfg aws.Config) Clients {
	return Clients{CloudTrail: cloudtrail.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg),
		Alarms: cloudwatch.NewFromConfig(cfg), Topics: sns.NewFromConfig(cfg)}
}

// MaxDeliveryAge is how old the last delivery to CloudWatch Logs may be for CloudTrail.5 (AWS Config's
// cloud-trail-cloud-watch-logs-enabled, expectedDeliveryWindowAge: 24 hours).
const MaxDeliveryAge = 24 * time.Hour

// trail is what the evaluation knows of one trail.
type trail struct {
	arn, name, home, account string
	multiRegion, logging     bool
	managementAll            bool
	managementGap            string // strict only: which management events the selectors leave out
	logGroup                 string // the log group's name; "" when not delivering to CloudWatch Logs
	lastDelivery             *time.Time
	deliveryError            string
}

// Evaluate checks the account's trails, filters, alarms and topics in the clients' region: CloudTrail.1,
// CloudTrail.5, and the controls of set (cis.SecurityHub: CloudWatch.1-14 and CIS 4.15; cis.CISv5 adds the v5
// variants). account is the caller's account; now is when CloudTrail.5 measures delivery age from.
func Evaluate(ctx context.Context, c Clients, region, account string, set cis.Set, now time.Time) ([]Result, error) {
	return EvaluateWith(ctx, c, region, account, set, now, Options{})
}

// Options change how strictly Evaluate reads.
type Options struct {
	// Strict fails alarms with actions disabled and trails that leave management events out (package doc).
	Strict bool
}

// EvaluateWith is Evaluate with options.
func EvaluateWith(ctx context.Context, c Clients, region, account string, set cis.Set, now time.Time, o Options) ([]Result, error) {
	trails, err := readTrails(ctx, c, region, o.Strict)
	if err != nil {
		return nil, err
	}
	var out []Result
	out = append(out, cloudTrail1(trails, region, account), cloudTrail5(trails, region, account, now))
	ev := &evaluation{c: c, filters: map[string][]cwltypes.MetricFilter{}, strict: o.Strict}
	for _, ctl := range cis.Of(set) {
		r, err := ev.control(ctx, ctl, trails, region, account)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// readTrails reads every trail the region lists (shadow copies of multi-Region trails included) and, for those
// based here, their status and selectors.
func readTrails(ctx context.Context, c Clients, region string, strict bool) ([]trail, error) {
	out, err := c.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("list trails: %w", err)
	}
	var trails []trail
	for _, tr := range out.TrailList {
		t := trail{arn: aws.ToString(tr.TrailARN), name: aws.ToString(tr.Name), home: aws.ToString(tr.HomeRegion),
			multiRegion: aws.ToBool(tr.IsMultiRegionTrail)}
		if parts := strings.Split(t.arn, ":"); len(parts) > 4 {
			t.account = parts[4]
		}
		if t.home == "" {
			t.home = region
		}
		if g := aws.ToString(tr.CloudWatchLogsLogGroupArn); g != "" {
			t.logGroup = logGroupName(g)
		}
		if t.home == region {
			st, err := c.CloudTrail.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(t.arn)})
			if err != nil {
				return nil, fmt.Errorf("read status of trail %s: %w", t.arn, err)
			}
			t.logging, t.lastDelivery = aws.ToBool(st.IsLogging), st.LatestCloudWatchLogsDeliveryTime
			t.deliveryError = aws.ToString(st.LatestCloudWatchLogsDeliveryError)
			sel, err := c.CloudTrail.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(t.arn)})
			if err != nil {
				return nil, fmt.Errorf("read event selectors of trail %s: %w", t.arn, err)
			}
			t.managementAll = managementAll(sel)
			if gap := delivery.ManagementGaps(sel); strict && t.managementAll && gap != "" {
				t.managementAll, t.managementGap = false, gap
			}
		}
		trails = append(trails, t)
	}
	return trails, nil
}

// managementAll applies CloudTrail.1's selector rule: management events, read and write. A trail without selectors
// records them (CloudTrail's default); a basic selector needs IncludeManagementEvents and ReadWriteType All; an
// advanced selector needs eventCategory Management and no readOnly field.
func managementAll(out *cloudtrail.GetEventSelectorsOutput) bool {
	if len(out.EventSelectors) == 0 && len(out.AdvancedEventSelectors) == 0 {
		return true
	}
	for _, s := range out.EventSelectors {
		if aws.ToBool(s.IncludeManagementEvents) && (s.ReadWriteType == cttypes.ReadWriteTypeAll || s.ReadWriteType == "") {
			return true
		}
	}
	for _, s := range out.AdvancedEventSelectors {
		management, readOnly := false, false
		for _, f := range s.FieldSelectors {
			switch aws.ToString(f.Field) {
			case "eventCategory":
				management = len(f.Equals) == 1 && f.Equals[0] == "Management"
			case "readOnly":
				readOnly = true
			}
		}
		if management && !readOnly {
			return true
		}
	}
	return false
}

// logGroupName is the name in arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME[:*].
func logGroupName(arn string) string {
	_, name, _ := strings.Cut(arn, ":log-group:")
	return strings.TrimSuffix(name, ":*")
}

func (t trail) qualifies() bool { return t.multiRegion && t.logging && t.managementAll }

func cloudTrail1(trails []trail, region, account string) Result {
	r := Result{Control: "CloudTrail.1", Title: "at least one multi-Region trail that logs read and write management events"}
	for _, t := range trails {
		if t.home == region && t.qualifies() {
			r.Status, r.Reason = Passed, fmt.Sprintf("trail %s is multi-Region, logging, and records management events with ReadWriteType All", t.arn)
			return r
		}
	}
	for _, t := range trails {
		if t.multiRegion && t.home != region {
			r.Status, r.Reason = NoData, fmt.Sprintf("the multi-Region trail %s is based in %s: evaluate it there", t.arn, t.home)
			return r
		}
	}
	r.Status, r.Reason = Failed, whyNoTrail(trails, region)
	return r
}

// whyNoTrail says what the trails based here lack.
func whyNoTrail(trails []trail, region string) string {
	var why []string
	for _, t := range trails {
		if t.home != region {
			continue
		}
		var lacks []string
		if !t.multiRegion {
			lacks = append(lacks, "is not multi-Region")
		}
		if !t.logging {
			lacks = append(lacks, "is not logging")
		}
		switch {
		case t.managementGap != "":
			lacks = append(lacks, "strict: "+t.managementGap+" (Security Hub's own evaluation passes this)")
		case !t.managementAll:
			lacks = append(lacks, "does not record read and write management events")
		}
		why = append(why, t.name+" "+strings.Join(lacks, ", "))
	}
	if len(why) == 0 {
		return "no trail in " + region
	}
	return "no trail qualifies: " + strings.Join(why, "; ")
}

func cloudTrail5(trails []trail, region, account string, now time.Time) Result {
	r := Result{Control: "CloudTrail.5", Title: "trails deliver to CloudWatch Logs"}
	var ok, bad []string
	for _, t := range trails {
		if t.home != region || t.account != account {
			continue
		}
		switch {
		case t.logGroup == "":
			bad = append(bad, t.name+" has no CloudWatch Logs log group")
		case t.deliveryError != "":
			bad = append(bad, t.name+" reports a delivery error: "+t.deliveryError)
		case t.lastDelivery != nil && now.Sub(*t.lastDelivery) > MaxDeliveryAge:
			bad = append(bad, fmt.Sprintf("%s last delivered %s, more than %s ago", t.name, t.lastDelivery.UTC().Format(time.RFC3339), MaxDeliveryAge))
		default:
			ok = append(ok, t.name+" delivers to "+t.logGroup)
		}
	}
	switch {
	case len(bad) > 0:
		r.Status, r.Reason = Failed, strings.Join(bad, "; ")
	case len(ok) == 0:
		r.Status, r.Reason = NoData, "no trail of this account is based in "+region
	default:
		r.Status, r.Reason = Passed, strings.Join(ok, "; ")
	}
	return r
}

type evaluation struct {
	c       Clients
	filters map[string][]cwltypes.MetricFilter
	alarms  []cwtypes.MetricAlarm
	read    bool
	strict  bool
}

// control evaluates one CloudWatch.x (or CIS) control over the trails that qualify.
func (ev *evaluation) control(ctx context.Context, ctl cis.Control, trails []trail, region, account string) (Result, error) {
	r := Result{Control: ctl.ID, Title: "a log metric filter and alarm for " + ctl.Title}
	var why []string
	for _, t := range trails {
		if t.home != region || t.account != account || !t.qualifies() || t.logGroup == "" {
			continue
		}
		status, reason, err := ev.onLogGroup(ctx, ctl, t.logGroup)
		if err != nil {
			return Result{}, err
		}
		if status == Passed || status == Warning {
			r.Status, r.Reason = status, fmt.Sprintf("trail %s: %s", t.name, reason)
			return r, nil
		}
		why = append(why, fmt.Sprintf("trail %s: %s", t.name, reason))
	}
	if len(why) > 0 {
		r.Status, r.Reason = Failed, strings.Join(why, "; ")
		return r, nil
	}
	for _, t := range trails {
		if t.multiRegion && (t.home != region || t.account != account) {
			r.Status, r.Reason = NoData, fmt.Sprintf("the multi-Region trail %s belongs to account %s, region %s: Security Hub "+
				"evaluates it only there", t.arn, t.account, t.home)
			return r, nil
		}
	}
	r.Status, r.Reason = Failed, "no multi-Region trail of this account that logs read and write management events and delivers to "+
		"CloudWatch Logs ("+whyNoTrail(trails, region)+")"
	return r, nil
}

// onLogGroup runs steps 2-4 on one log group.
func (ev *evaluation) onLogGroup(ctx context.Context, ctl cis.Control, group string) (Status, string, error) {
	filters, err := ev.metricFilters(ctx, group)
	if err != nil {
		return "", "", err
	}
	var exact []cwltypes.MetricFilter
	for _, f := range filters {
		if aws.ToString(f.FilterPattern) == ctl.Pattern {
			exact = append(exact, f)
		}
	}
	if len(exact) == 0 {
		return Failed, fmt.Sprintf("log group %s has no metric filter with the exact pattern (%d filters, none equal)", group, len(filters)), nil
	}
	alarms, err := ev.allAlarms(ctx)
	if err != nil {
		return "", "", err
	}
	var reasons []string
	for _, f := range exact {
		for _, m := range f.MetricTransformations {
			for _, a := range alarms {
				if aws.ToString(a.MetricName) != aws.ToString(m.MetricName) || aws.ToString(a.Namespace) != aws.ToString(m.MetricNamespace) {
					continue
				}
				status, reason, err := ev.notifies(ctx, a)
				if err != nil {
					return "", "", err
				}
				if status == Passed || status == Warning {
					return status, fmt.Sprintf("filter %s, alarm %s, %s", aws.ToString(f.FilterName), aws.ToString(a.AlarmName), reason), nil
				}
				reasons = append(reasons, fmt.Sprintf("alarm %s %s", aws.ToString(a.AlarmName), reason))
			}
		}
	}
	if len(reasons) == 0 {
		return Failed, fmt.Sprintf("filter %s has the exact pattern but no alarm is on its metric", aws.ToString(exact[0].FilterName)), nil
	}
	return Failed, strings.Join(reasons, "; "), nil
}

// notifies runs step 4: an alarm action to an SNS topic with a confirmed subscription.
func (ev *evaluation) notifies(ctx context.Context, a cwtypes.MetricAlarm) (Status, string, error) {
	var denied []string
	for _, action := range a.AlarmActions {
		if !strings.Contains(action, ":sns:") {
			continue
		}
		n, err := delivery.ConfirmedSubscriptions(ctx, ev.c.Topics, action)
		var ae smithy.APIError
		switch {
		case errors.As(err, &ae) && (ae.ErrorCode() == "AuthorizationError" || ae.ErrorCode() == "AccessDenied"):
			denied = append(denied, action)
			continue
		case errors.As(err, &ae) && ae.ErrorCode() == "NotFound":
			continue
		case err != nil:
			return "", "", fmt.Errorf("read subscriptions of topic %s: %w", action, err)
		}
		if n > 0 && ev.strict && !aws.ToBool(a.ActionsEnabled) {
			return Failed, fmt.Sprintf("strict: its actions are disabled, so topic %s is never notified (CloudWatch.17; "+
				"Security Hub's own evaluation passes this)", action), nil
		}
		if n > 0 {
			note := ""
			if !aws.ToBool(a.ActionsEnabled) {
				note = " (its actions are disabled: CloudWatch.17 fails)"
			}
			return Passed, fmt.Sprintf("topic %s with %d confirmed subscription(s)%s", action, n, note), nil
		}
	}
	if len(denied) > 0 {
		return Warning, "cannot read the subscriptions of " + strings.Join(denied, ", "), nil
	}
	if len(a.AlarmActions) == 0 {
		return Failed, "has no alarm action", nil
	}
	return Failed, "notifies no SNS topic with a confirmed subscription", nil
}

func (ev *evaluation) metricFilters(ctx context.Context, group string) ([]cwltypes.MetricFilter, error) {
	if fs, ok := ev.filters[group]; ok {
		return fs, nil
	}
	var fs []cwltypes.MetricFilter
	in := &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(group)}
	for {
		page, err := ev.c.Logs.DescribeMetricFilters(ctx, in)
		var nf *cwltypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read metric filters of log group %s: %w", group, err)
		}
		fs = append(fs, page.MetricFilters...)
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	ev.filters[group] = fs
	return fs, nil
}

func (ev *evaluation) allAlarms(ctx context.Context) ([]cwtypes.MetricAlarm, error) {
	if ev.read {
		return ev.alarms, nil
	}
	in := &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}}
	for {
		page, err := ev.c.Alarms.DescribeAlarms(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read alarms: %w", err)
		}
		ev.alarms = append(ev.alarms, page.MetricAlarms...)
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	ev.read = true
	return ev.alarms, nil
}

// Table renders results as an aligned text table, one control a line.
func Table(results []Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %-8s %s\n", "CONTROL", "STATUS", "REASON")
	for _, r := range results {
		fmt.Fprintf(&b, "%-14s %-8s %s\n", r.Control, r.Status, r.Reason)
	}
	return b.String()
}

// AllPassed says whether every control passed.
func AllPassed(results []Result) bool {
	for _, r := range results {
		if r.Status != Passed {
			return false
		}
	}
	return true
}
