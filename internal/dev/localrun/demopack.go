package localrun

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/cischeck"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// The CIS monitoring pack's part of the demo (docs/cis.md): wired by an Update, proven by cis-check, attacked,
// put back, proven again.

// packNames are the demo trail's pack names.
var packNames = cis.NamesFor(testbed.TrailName)

// packWired sends the Update that turns the pack on and checks every filter and alarm is there.
func (d *demo) packWired(ctx context.Context) (Outcome, error) {
	if _, err := d.cfn(ctx, "update-cis-pack.json"); err != nil {
		return Outcome{}, err
	}
	group := d.data("LogGroupName")
	out, err := d.s.AWS().Logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(group),
		FilterNamePrefix: aws.String(packNames.Prefix)})
	if err != nil {
		return Outcome{}, err
	}
	alarms, err := d.s.AWS().CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(packNames.Prefix)})
	if err != nil {
		return Outcome{}, err
	}
	want := len(cis.Of(cis.SecurityHub))
	if len(out.MetricFilters) != want || len(alarms.MetricAlarms) != want {
		return Outcome{}, fmt.Errorf("%d filters and %d alarms, want %d of each", len(out.MetricFilters), len(alarms.MetricAlarms), want)
	}
	return Outcome{
		Summary: fmt.Sprintf("SUCCESS: %d metric filters, one alarm each (Sum, 300 s, >= 1)", want),
		Details: []string{"on log group " + group + ", e.g. " + packNames.Alarm(cis.Controls[0]) + ":", "  " + cis.Controls[0].Pattern},
	}, nil
}

// cisCheck runs the Security Hub-style evaluation (make cis-check) and wants every control PASSED.
func (d *demo) cisCheck(ctx context.Context) (Outcome, error) {
	results, err := cischeck.Evaluate(ctx, cischeck.NewClients(d.s.AWS().Config), testbed.Region, testbed.Account, cis.SecurityHub, time.Now())
	if err != nil {
		return Outcome{}, err
	}
	var ids []string
	for _, r := range results {
		if r.Status != cischeck.Passed {
			return Outcome{}, fmt.Errorf("%s is %s: %s", r.Control, r.Status, r.Reason)
		}
		ids = append(ids, r.Control)
	}
	return Outcome{Summary: fmt.Sprintf("all %d controls PASSED", len(results)), Details: []string{strings.Join(ids, ", ")}}, nil
}

// packAttack deletes the root-usage alarm and edits the VPC-changes filter by a few characters, then delivers
// their events; both must be put back and alerted, naming the attacker.
func (d *demo) packAttack(ctx context.Context) (Outcome, error) {
	root, vpc := cis.Controls[0], cis.Controls[13]
	a := d.s.AWS()
	if _, err := a.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{packNames.Alarm(root)}}); err != nil {
		return Outcome{}, fmt.Errorf("delete alarm: %w", err)
	}
	edited := strings.Replace(vpc.Pattern, " || ($.eventName=DeleteVpc)", "", 1)
	if _, err := a.Logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(d.data("LogGroupName")),
		FilterName: aws.String(packNames.Filter(vpc)), FilterPattern: aws.String(edited),
		MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String(packNames.Metric(vpc)),
			MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String(cis.MetricValue)}}}); err != nil {
		return Outcome{}, fmt.Errorf("edit filter: %w", err)
	}
	results, err := cischeck.Evaluate(ctx, cischeck.NewClients(a.Config), testbed.Region, testbed.Account, cis.SecurityHub, time.Now())
	if err != nil {
		return Outcome{}, err
	}
	var failed []string
	for _, r := range results {
		if r.Status != cischeck.Passed {
			failed = append(failed, r.Control+" "+string(r.Status))
		}
	}
	if err := d.remediate(ctx, "delete-alarms.json", "put-metric-filter.json"); err != nil {
		return Outcome{}, err
	}
	alarms, err := a.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{packNames.Alarm(root)}})
	if err != nil || len(alarms.MetricAlarms) != 1 {
		return Outcome{}, fmt.Errorf("not repaired: alarm %s (err %v)", packNames.Alarm(root), err)
	}
	filters, err := a.Logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(d.data("LogGroupName")),
		FilterNamePrefix: aws.String(packNames.Filter(vpc))})
	if err != nil || len(filters.MetricFilters) != 1 || aws.ToString(filters.MetricFilters[0].FilterPattern) != vpc.Pattern {
		return Outcome{}, fmt.Errorf("not repaired: filter %s (err %v)", packNames.Filter(vpc), err)
	}
	lines, n, err := d.notifications(attacker)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Summary: fmt.Sprintf("both put back; %d notification(s)", n),
		Details: append([]string{"cis-check while attacked: " + strings.Join(failed, ", ")}, lines...),
	}, nil
}

// packRemoved checks that Delete removed the pack with the rest.
func (d *demo) packRemoved(ctx context.Context) error {
	alarms, err := d.s.AWS().CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(packNames.Prefix)})
	if err != nil {
		return err
	}
	if len(alarms.MetricAlarms) > 0 {
		return fmt.Errorf("%d CIS alarms left after Delete", len(alarms.MetricAlarms))
	}
	return nil
}
