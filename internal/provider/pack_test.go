package provider_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

const defaultGroup = "aws-cloudtrail-logs-123456789012-management-trail"

func (f *fixture) packAlarms(t *testing.T) []string {
	t.Helper()
	out, err := f.aws.CloudWatch.DescribeAlarms(f.ctx, &cloudwatch.DescribeAlarmsInput{})
	require.NoError(t, err)
	var names []string
	for _, a := range out.MetricAlarms {
		names = append(names, aws.ToString(a.AlarmName))
	}
	return names
}

func (f *fixture) packFilters(t *testing.T, group string) []string {
	t.Helper()
	out, err := f.aws.Logs.DescribeMetricFilters(f.ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	var names []string
	for _, m := range out.MetricFilters {
		names = append(names, aws.ToString(m.FilterName))
	}
	return names
}

// The pack's lifecycle through the built bootstrap: created with the resource, changed by Update (another set,
// another log group), removed when switched off and on Delete; someone else's filter and alarm are never touched.
func TestBinaryPackLifecycle(t *testing.T) {
	f := newFixture(t)
	topic, err := f.aws.CreateAlarmTopic(f.ctx, testbed.AlarmTopicName, true)
	require.NoError(t, err)
	// Someone else's alarm and filter, on the trail's log group once it exists.
	_, err = f.aws.CloudWatch.PutMetricAlarm(f.ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("ops-root-usage"),
		MetricName: aws.String("x"), Namespace: aws.String("y"), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60),
		Threshold: aws.Float64(5), EvaluationPeriods: aws.Int32(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
	require.NoError(t, err)
	rt, _ := startBinary(t, f)

	send := func(name string, edit func(p map[string]any)) {
		t.Helper()
		ev := f.event(t, name, func(ev map[string]any) { edit(props(ev)) })
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		res := invoke(t, rt, raw)
		require.Nil(t, res.Error)
		got, err := f.s3.WaitFor(5 * time.Second)
		require.NoError(t, err)
		require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	}
	withPack := func(set, group string) func(p map[string]any) {
		return func(p map[string]any) {
			p["MonitoringPack"] = set
			if set != "none" {
				p["AlarmTopicArn"] = topic
			}
			if group == "" {
				delete(p, "LogGroupName")
			} else {
				p["LogGroupName"] = group
			}
		}
	}

	send("create", withPack("cis", ""))
	assert.Len(t, f.packAlarms(t), 16, "15 pack alarms and the foreign one")
	assert.Len(t, f.packFilters(t, defaultGroup), 15)
	_, err = f.aws.Logs.PutMetricFilter(f.ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(defaultGroup),
		FilterName: aws.String("ops-root"), FilterPattern: aws.String("{$.x = 1}"), MetricTransformations: []cwltypes.MetricTransformation{
			{MetricName: aws.String("x"), MetricNamespace: aws.String("y"), MetricValue: aws.String("1")}}})
	require.NoError(t, err)

	send("update", withPack("cis-v5", "/trailguard/management-trail"))
	assert.Len(t, f.packAlarms(t), 17, "16 pack alarms and the foreign one")
	assert.Len(t, f.packFilters(t, "/trailguard/management-trail"), 16, "the pack moved with the log group")
	assert.Equal(t, []string{"ops-root"}, f.packFilters(t, defaultGroup), "the old log group keeps only the foreign filter")

	send("update", withPack("none", "/trailguard/management-trail"))
	assert.Equal(t, []string{"ops-root-usage"}, f.packAlarms(t), "switched off: only the foreign alarm is left")
	assert.Empty(t, f.packFilters(t, "/trailguard/management-trail"))

	send("update", withPack("cis", "/trailguard/management-trail"))
	assert.Len(t, f.packAlarms(t), 16)
	send("delete", withPack("cis", "/trailguard/management-trail"))
	assert.Equal(t, []string{"ops-root-usage"}, f.packAlarms(t), "Delete removes the pack and nothing else")
	assert.Empty(t, f.packFilters(t, "/trailguard/management-trail"))
	assert.Equal(t, []string{"ops-root"}, f.packFilters(t, defaultGroup))
}
