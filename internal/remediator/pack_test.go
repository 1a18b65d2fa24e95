package remediator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/remediator"
	"github.com/trailguard/trailguard/internal/spec"
)

// packTopic is the topic newFixture creates (with a subscriber), named as the samples name it.
const packTopic = "arn:aws:sns:us-east-1:" + testbed.Account + ":trailguard-notifications"

var packNames = cis.NamesFor(testbed.TrailName)

func control(key string) cis.Control {
	for _, c := range cis.Controls {
		if c.Key == key {
			return c
		}
	}
	panic("no control " + key)
}

func (f *fixture) alarm(t testing.TB, key string) (cwtypes.MetricAlarm, bool) {
	t.Helper()
	out, err := f.aws.CloudWatch.DescribeAlarms(f.ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{packNames.Alarm(control(key))}})
	require.NoError(t, err)
	if len(out.MetricAlarms) == 0 {
		return cwtypes.MetricAlarm{}, false
	}
	return out.MetricAlarms[0], true
}

func (f *fixture) filterPatterns(t testing.TB, key string) []string {
	t.Helper()
	out, err := f.aws.Logs.DescribeMetricFilters(f.ctx, &cloudwatchlogs.DescribeMetricFiltersInput{
		LogGroupName: aws.String(f.target.LogGroupName), FilterNamePrefix: aws.String(packNames.Filter(control(key)))})
	require.NoError(t, err)
	var got []string
	for _, m := range out.MetricFilters {
		if aws.ToString(m.FilterName) == packNames.Filter(control(key)) {
			got = append(got, aws.ToString(m.FilterPattern))
		}
	}
	return got
}

func (f *fixture) putFilter(t testing.TB, key, pattern string) {
	t.Helper()
	c := control(key)
	_, err := f.aws.Logs.PutMetricFilter(f.ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(f.target.LogGroupName),
		FilterName: aws.String(packNames.Filter(c)), FilterPattern: aws.String(pattern),
		MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String(packNames.Metric(c)),
			MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String("1")}}})
	require.NoError(t, err)
}

// packTamperings are the guarded changes to the pack, each with the sample EventBridge delivers for it.
var packTamperings = []tampering{
	{"delete-alarms", func(f *fixture, t testing.TB) {
		_, err := f.aws.CloudWatch.DeleteAlarms(f.ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{packNames.Alarm(control("root-usage"))}})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool { _, ok := f.alarm(t, "root-usage"); return ok }},
	{"put-metric-filter", func(f *fixture, t testing.TB) {
		f.putFilter(t, "vpc-changes", "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc)}")
	}, func(f *fixture, t testing.TB) bool {
		return assert.ObjectsAreEqual([]string{control("vpc-changes").Pattern}, f.filterPatterns(t, "vpc-changes"))
	}},
	{"delete-metric-filter", func(f *fixture, t testing.TB) {
		_, err := f.aws.Logs.DeleteMetricFilter(f.ctx, &cloudwatchlogs.DeleteMetricFilterInput{LogGroupName: aws.String(f.target.LogGroupName),
			FilterName: aws.String(packNames.Filter(control("root-usage")))})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool { return len(f.filterPatterns(t, "root-usage")) == 1 }},
	{"put-metric-alarm", func(f *fixture, t testing.TB) {
		c := control("iam-policy-changes")
		_, err := f.aws.CloudWatch.PutMetricAlarm(f.ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(packNames.Alarm(c)),
			MetricName: aws.String(packNames.Metric(c)), Namespace: aws.String(cis.Namespace), Statistic: cwtypes.StatisticSum,
			Period: aws.Int32(300), Threshold: aws.Float64(1000), EvaluationPeriods: aws.Int32(1),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, AlarmActions: []string{packTopic}})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool {
		a, _ := f.alarm(t, "iam-policy-changes")
		return aws.ToFloat64(a.Threshold) == 1
	}},
	{"disable-alarm-actions", func(f *fixture, t testing.TB) {
		_, err := f.aws.CloudWatch.DisableAlarmActions(f.ctx, &cloudwatch.DisableAlarmActionsInput{
			AlarmNames: []string{packNames.Alarm(control("cloudtrail-changes"))}})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool {
		a, _ := f.alarm(t, "cloudtrail-changes")
		return aws.ToBool(a.ActionsEnabled)
	}},
}

// Every guarded change to the pack is put back at its event and alerted, naming who made it.
func TestPackTamperingIsRepairedAndAlerted(t *testing.T) {
	f := newFixture(t, spec.Spec{MonitoringPack: "cis", AlarmTopicARN: packTopic})
	for i, tc := range packTamperings {
		tc.do(f, t)
		require.False(t, tc.undone(f, t), "%s: the tampering took", tc.event)
		require.NoError(t, f.deliver(t, tc.event), tc.event)
		assert.True(t, tc.undone(f, t), "%s: repaired", tc.event)
		got := f.notifications(t, i+1)
		require.Len(t, got, i+1, tc.event)
		assert.Contains(t, got[i].Subject, "repaired", tc.event)
		assert.Contains(t, got[i].Message, tamperer, tc.event)
		assert.Contains(t, got[i].Message, "CIS", tc.event)
	}
	assert.Equal(t, registry.Compliant, f.record(t).Status)
}

// In report mode a deleted alarm is alerted and left as it is.
func TestPackReportModeOnlyAlerts(t *testing.T) {
	f := newFixture(t, spec.Spec{MonitoringPack: "cis", AlarmTopicARN: packTopic, Remediation: spec.Report})
	packTamperings[0].do(f, t)
	require.NoError(t, f.deliver(t, "delete-alarms"))
	got := f.notifications(t, 1)
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Message, packNames.Alarm(control("root-usage")))
	_, ok := f.alarm(t, "root-usage")
	assert.False(t, ok, "report mode changes nothing")
}

// An alarm of another name is nobody's trailguard guards: its event touches no trail.
func TestForeignAlarmEventIsIgnored(t *testing.T) {
	f := newFixture(t, spec.Spec{MonitoringPack: "cis", AlarmTopicARN: packTopic})
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "remediator", "delete-alarms.json"))
	require.NoError(t, err)
	raw = []byte(strings.ReplaceAll(string(raw), packNames.Alarm(control("root-usage")), "ops-root-usage"))
	f.rec.Reset()
	require.NoError(t, f.r.Handle(f.ctx, raw))
	for _, c := range f.rec.Calls() {
		assert.True(t, strings.HasPrefix(c, "DynamoDB."), "a foreign alarm's event reads nothing but the registry, got %s", c)
	}
	assert.Empty(t, f.inbox.Messages("/ops"))
}

// The built bootstrap repairs the pack through the Runtime API, as Lambda runs it.
func TestBinaryRepairsThePack(t *testing.T) {
	f := newFixture(t, spec.Spec{MonitoringPack: "cis", AlarmTopicARN: packTopic})
	b := f.startBinary(t)
	for _, tc := range packTamperings {
		tc.do(f, t)
		b.mustInvoke(t, tc.event)
		assert.True(t, tc.undone(f, t), "%s: repaired by the bootstrap", tc.event)
	}
}

// Account-wide mode with the account policy's pack: an adopted trail gets the pack, its alarms notifying the
// policy's topic.
func TestAccountPolicyAdoptsWithThePack(t *testing.T) {
	policy, err := remediator.NewAccountPolicy("", "", "")
	require.NoError(t, err)
	require.NoError(t, policy.WithMonitoringPack("cis", packTopic))
	f := newAccountFixture(t, "", "", "", remediator.WithAccountPolicy(policy))
	require.NoError(t, f.deliver(t, "sweep"))
	rec := f.record(t)
	assert.Equal(t, cis.SecurityHub, rec.Target.Pack.Set)
	assert.Equal(t, packTopic, rec.Target.Pack.TopicARN)
	a, ok := f.alarm(t, "root-usage")
	require.True(t, ok, "the adopted trail has the pack")
	assert.Equal(t, []string{packTopic}, a.AlarmActions)
	// The policy's pack is checked like the property.
	assert.ErrorContains(t, policy.WithMonitoringPack("cis-v9", ""), "MonitoringPack")
}
