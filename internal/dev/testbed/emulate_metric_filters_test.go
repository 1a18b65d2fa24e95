package testbed

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PutMetricFilter on an existing name replaces the filter (CloudWatch Logs API reference: "Creates or updates a
// metric filter"); a filter of the same name on another log group, and other names, stay.
func TestPutMetricFilterReplacesAsAWSDoes(t *testing.T) {
	NeedMoto(t)
	ctx := context.Background()
	s, err := Launch(ctx)
	require.NoError(t, err)
	defer s.Stop()
	logs := cloudwatchlogs.NewFromConfig(s.Config(Region))
	for _, g := range []string{"/a", "/b"} {
		_, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)})
		require.NoError(t, err)
	}
	put := func(group, name, pattern string) {
		_, err := logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(group),
			FilterName: aws.String(name), FilterPattern: aws.String(pattern), MetricTransformations: []cwltypes.MetricTransformation{
				{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("1")}}})
		require.NoError(t, err)
	}
	put("/a", "f", "old")
	put("/b", "f", "other group")
	put("/a", "g", "other name")
	put("/a", "f", "new")
	out, err := logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/a")})
	require.NoError(t, err)
	got := map[string][]string{}
	for _, f := range out.MetricFilters {
		got[aws.ToString(f.FilterName)] = append(got[aws.ToString(f.FilterName)], aws.ToString(f.FilterPattern))
	}
	assert.Equal(t, map[string][]string{"f": {"new"}, "g": {"other name"}}, got)
	out, err = logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/b")})
	require.NoError(t, err)
	require.Len(t, out.MetricFilters, 1)
	assert.Equal(t, "other group", aws.ToString(out.MetricFilters[0].FilterPattern))
}

// DisableAlarmActions switches an alarm's actions off and EnableAlarmActions on again, the rest of the alarm as it
// was; a name that does not exist is ignored (CloudWatch API reference).
func TestAlarmActionsSwitchAsAWSDoes(t *testing.T) {
	NeedMoto(t)
	ctx := context.Background()
	s, err := Launch(ctx)
	require.NoError(t, err)
	defer s.Stop()
	cw := cloudwatch.NewFromConfig(s.Config(Region))
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("a"), MetricName: aws.String("m"),
		Namespace: aws.String("n"), Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), Threshold: aws.Float64(1),
		EvaluationPeriods: aws.Int32(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		AlarmActions: []string{"arn:aws:sns:us-east-1:" + Account + ":t"}})
	require.NoError(t, err)
	state := func() (bool, []string) {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}})
		require.NoError(t, err)
		require.Len(t, out.MetricAlarms, 1)
		return aws.ToBool(out.MetricAlarms[0].ActionsEnabled), out.MetricAlarms[0].AlarmActions
	}
	_, err = cw.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"a", "no-such-alarm"}})
	require.NoError(t, err)
	enabled, actions := state()
	assert.False(t, enabled)
	assert.Equal(t, []string{"arn:aws:sns:us-east-1:" + Account + ":t"}, actions)
	_, err = cw.EnableAlarmActions(ctx, &cloudwatch.EnableAlarmActionsInput{AlarmNames: []string{"a"}})
	require.NoError(t, err)
	enabled, _ = state()
	assert.True(t, enabled)
}
