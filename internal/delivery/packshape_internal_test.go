package delivery

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/stretchr/testify/assert"

	"github.com/trailguard/trailguard/internal/cis"
)

// The filter fields moto 5.2.1 does not store (it keeps only name, pattern, group and transformations), read as
// DescribeMetricFilters returns them from AWS: each one set is a changed filter.
func TestSameFilterRefusesTheFieldsMotoDoesNotStore(t *testing.T) {
	names, c := cis.NamesFor("t"), cis.Controls[0]
	want := func() cwltypes.MetricFilter {
		return cwltypes.MetricFilter{FilterName: aws.String(names.Filter(c)), FilterPattern: aws.String(c.Pattern),
			MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String(names.Metric(c)),
				MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String("1"), Unit: cwltypes.StandardUnitNone}}}
	}
	assert.True(t, sameFilter(want(), names, c), "AWS reads back Unit None for a filter put without one")
	for name, change := range map[string]func(*cwltypes.MetricFilter){
		"ApplyOnTransformedLogs":    func(f *cwltypes.MetricFilter) { f.ApplyOnTransformedLogs = true },
		"EmitSystemFieldDimensions": func(f *cwltypes.MetricFilter) { f.EmitSystemFieldDimensions = []string{"@aws.account"} },
		"FieldSelectionCriteria":    func(f *cwltypes.MetricFilter) { f.FieldSelectionCriteria = aws.String(`$.x = "y"`) },
		"Unit":                      func(f *cwltypes.MetricFilter) { f.MetricTransformations[0].Unit = cwltypes.StandardUnitCount },
	} {
		f := want()
		change(&f)
		assert.False(t, sameFilter(f, names, c), name)
	}
}

// Topic policies: which statements stop CloudWatch publishing, and which do not.
func TestDeniesCloudWatch(t *testing.T) {
	const topic = "arn:aws:sns:us-east-1:123456789012:alarms"
	for policy, denies := range map[string]bool{
		``: false,
		`{"Statement":{"Sid":"a","Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"*"}}`:                                        false,
		`{"Statement":{"Sid":"d","Effect":"Deny","Principal":{"Service":["cloudwatch.amazonaws.com"]},"Action":"SNS:*","Resource":"*"}}`:          true,
		`{"Statement":[{"Sid":"d","Effect":"Deny","Principal":{"AWS":"*"},"NotAction":"sns:Subscribe","Resource":"` + topic + `"}]}`:              true,
		`{"Statement":[{"Sid":"d","Effect":"Deny","Principal":"*","Action":"sns:Publish","Resource":"arn:aws:sns:*:*:other"}]}`:                   false,
		`{"Statement":[{"Sid":"d","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sns:Publish"}]}`:                 false,
		`{"Statement":[{"Sid":"d","Effect":"Deny","Principal":"*","Action":"sns:Pub*","Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}]}`:  true,
		`{"Statement":[{"Sid":"d","Effect":"Deny","Principal":"*","Action":"sns:Publish","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`: false,
		`not json`: true,
	} {
		_, got := deniesCloudWatch(policy, topic)
		assert.Equal(t, denies, got, policy)
	}
}
