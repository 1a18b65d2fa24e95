package testbed

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
