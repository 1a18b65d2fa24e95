package delivery

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/trailguard/trailguard/internal/cis"
)

// A pack's alarm reads the Sum of its metric, and any metric filter of the account and region, on any log group,
// may publish to the same metric name and namespace: one that publishes -1 for the same events keeps the Sum at 0
// and the alarm silent while the pack's own filter and alarm are untouched. foreignPublishers asks CloudWatch Logs
// for every filter publishing to each of the pack's metrics (DescribeMetricFilters by metric name and namespace,
// across log groups), and reports any that is not the pack's own filter on the trail's log group. It never touches
// them: they are not trailguard's.
func (e *Engine) foreignPublishers(ctx context.Context, t Target, names cis.Names, controls []cis.Control) ([]Drift, error) {
	var metrics, foreign []string
	for _, c := range controls {
		// One call at a time: the sweep is no hurry, and DescribeMetricFilters has a small per-account rate.
		in := &cloudwatchlogs.DescribeMetricFiltersInput{MetricName: aws.String(names.Metric(c)), MetricNamespace: aws.String(cis.Namespace)}
		found := false
		for {
			page, err := e.c.MetricFilters.DescribeMetricFilters(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("read metric filters publishing %s/%s: %w", cis.Namespace, names.Metric(c), err)
			}
			for _, f := range page.MetricFilters {
				group, name := aws.ToString(f.LogGroupName), aws.ToString(f.FilterName)
				if group == t.LogGroupName && name == names.Filter(c) {
					continue
				}
				foreign = append(foreign, group+":"+name)
				found = true
			}
			if aws.ToString(page.NextToken) == "" {
				break
			}
			in.NextToken = page.NextToken
		}
		if found {
			metrics = append(metrics, names.Metric(c))
		}
	}
	if len(metrics) == 0 {
		return nil, nil
	}
	return []Drift{{Kind: PackMetricForeign, Want: strings.Join(metrics, " "), Got: strings.Join(foreign, ", ")}}, nil
}
