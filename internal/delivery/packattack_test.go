package delivery_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/spec"
)

// A filter or an alarm can be made never to fire while every field a scanner prints stays right: the filter's
// metric given a dimension or a default value, the alarm made to read one unit only or given another description.
// Each is drift, and a repair puts the whole desired state back.
func TestPackNeuteredFilterOrAlarmIsDrift(t *testing.T) {
	f, target := packFixture(t, "cis")
	names := cis.NamesFor("management-trail")
	root, vpc, nacl, iam := cis.Controls[0], cis.Controls[13], cis.Controls[10], cis.Controls[3]
	putFilter := func(c cis.Control, m cwltypes.MetricTransformation) {
		m.MetricName, m.MetricNamespace, m.MetricValue = aws.String(names.Metric(c)), aws.String(cis.Namespace), aws.String("1")
		_, err := f.aws.Logs.PutMetricFilter(f.ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(target.LogGroupName),
			FilterName: aws.String(names.Filter(c)), FilterPattern: aws.String(c.Pattern), MetricTransformations: []cwltypes.MetricTransformation{m}})
		require.NoError(t, err)
	}
	// The filter's metric now has a dimension: the alarm (no dimensions) never sees a data point.
	putFilter(root, cwltypes.MetricTransformation{Dimensions: map[string]string{"src": "$.sourceIPAddress"}})
	// A default value is published for every event that does not match.
	putFilter(nacl, cwltypes.MetricTransformation{DefaultValue: aws.Float64(-1)})
	putAlarm := func(c cis.Control, unit cwtypes.StandardUnit, description string) {
		_, err := f.aws.CloudWatch.PutMetricAlarm(f.ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(names.Alarm(c)),
			AlarmDescription: aws.String(description), Namespace: aws.String(cis.Namespace), MetricName: aws.String(names.Metric(c)),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), Threshold: aws.Float64(1), EvaluationPeriods: aws.Int32(1), Unit: unit,
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, TreatMissingData: aws.String("notBreaching"),
			ActionsEnabled: aws.Bool(true), AlarmActions: []string{target.Pack.TopicARN}})
		require.NoError(t, err)
	}
	// The alarm now reads only data points in Seconds; the filter publishes them without a unit.
	putAlarm(vpc, cwtypes.StandardUnitSeconds, cis.Description(vpc, target.TrailARN))
	putAlarm(iam, "", "nothing to see here")

	fl, err := f.aws.Logs.DescribeMetricFilters(f.ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(target.LogGroupName),
		FilterNamePrefix: aws.String(names.Filter(root))})
	require.NoError(t, err)
	require.Len(t, fl.MetricFilters, 1, "the test bed replaces a filter of the same name, as AWS does")
	require.NotEmpty(t, fl.MetricFilters[0].MetricTransformations[0].Dimensions, "the test bed keeps the dimension")
	require.Equal(t, cwtypes.StandardUnitSeconds, f.alarms(t)[names.Alarm(vpc)].Unit, "the test bed keeps the unit")

	drifts, err := f.engine.Check(f.ctx, target, delivery.AspectPack, nil)
	require.NoError(t, err)
	assert.ElementsMatch(t, []delivery.Drift{
		{Kind: delivery.PackFilterChanged, Want: names.Filter(root) + " " + names.Filter(nacl)},
		{Kind: delivery.PackAlarmChanged, Want: names.Alarm(iam) + " " + names.Alarm(vpc)},
	}, drifts)
	res, err := f.engine.Repair(f.ctx, target, drifts, delivery.AspectPack)
	require.NoError(t, err)
	assert.Empty(t, res.Remaining)
	drifts, err = f.engine.Check(f.ctx, target, delivery.AspectPack, nil)
	require.NoError(t, err)
	assert.Empty(t, drifts, "the repair puts the whole desired state back")
	assert.Empty(t, f.alarms(t)[names.Alarm(vpc)].Unit)
}

// The topic's only subscriber given a filter policy (an alarm notification carries no message attributes, so it
// matches nothing) no longer counts as a subscriber.
func TestPackTopicSubscriberFilteredToNothingIsDrift(t *testing.T) {
	f, target := packFixture(t, "cis")
	subs, err := f.aws.SNS.ListSubscriptionsByTopic(f.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(target.Pack.TopicARN)})
	require.NoError(t, err)
	require.Len(t, subs.Subscriptions, 1)
	_, err = f.aws.SNS.SetSubscriptionAttributes(f.ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: subs.Subscriptions[0].SubscriptionArn,
		AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(`{"never":["matches"]}`)})
	require.NoError(t, err)
	drifts, err := f.engine.Check(f.ctx, target, delivery.AspectPack, nil)
	require.NoError(t, err)
	require.Equal(t, []delivery.DriftKind{delivery.PackTopicUnsubscribed}, kinds(drifts))
	assert.Contains(t, drifts[0].String(), "filter policy")
	assert.False(t, target.Repairs(delivery.PackTopicUnsubscribed), "the subscription is its owner's")

	// A second subscriber without a filter policy receives the alarms.
	_, err = f.aws.SNS.Subscribe(f.ctx, &sns.SubscribeInput{TopicArn: aws.String(target.Pack.TopicARN), Protocol: aws.String("email"),
		Endpoint: aws.String("oncall@example.com")})
	require.NoError(t, err)
	drifts, err = f.engine.Check(f.ctx, target, delivery.AspectPack, nil)
	require.NoError(t, err)
	assert.Empty(t, drifts)
}

// A topic CloudWatch cannot publish to is drift: re-encrypted with the AWS managed key alias/aws/sns (whose key
// policy CloudWatch is not in) or with another key than it had, or a policy denying CloudWatch sns:Publish. A
// deny on plain HTTP only is not: CloudWatch publishes over TLS.
func TestPackTopicCloudWatchCannotUseIsDrift(t *testing.T) {
	f, target := packFixture(t, "cis")
	set := func(name, value string) {
		_, err := f.aws.SNS.SetTopicAttributes(f.ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(target.Pack.TopicARN),
			AttributeName: aws.String(name), AttributeValue: aws.String(value)})
		require.NoError(t, err)
	}
	check := func() []delivery.Drift {
		drifts, err := f.engine.Check(f.ctx, target, delivery.AspectPack, nil)
		require.NoError(t, err)
		return drifts
	}
	policy := func(statement string) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"owner","Effect":"Allow","Principal":{"AWS":"*"},"Action":"SNS:Publish",`+
			`"Resource":%q},%s]}`, target.Pack.TopicARN, statement)
	}
	for _, tc := range []struct{ attr, value, want string }{
		{"KmsMasterKeyId", "alias/aws/sns", "AWS managed key alias/aws/sns"},
		{"KmsMasterKeyId", "arn:aws:kms:us-east-1:111122223333:key/0d2b1c7e-ffff-4a3b-8c9d-0123456789ab", "not the key it had"},
		{"Policy", policy(`{"Sid":"no-alarms","Effect":"Deny","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"sns:Publish","Resource":"*"}`), `"no-alarms"`},
		{"Policy", policy(`{"Sid":"everyone","Effect":"Deny","Principal":"*","Action":"sns:*","Resource":"` + target.Pack.TopicARN + `"}`), `"everyone"`},
		{"Policy", policy(`{"Sid":"all-but-me","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"SNS:Publish","Resource":"*"}`), `"all-but-me"`},
	} {
		set(tc.attr, tc.value)
		drifts := check()
		require.Equal(t, []delivery.DriftKind{delivery.PackTopicUnusable}, kinds(drifts), tc.value)
		assert.Contains(t, drifts[0].String(), tc.want)
		assert.False(t, target.Repairs(delivery.PackTopicUnusable))
		set("KmsMasterKeyId", "")
		set("Policy", policy(`{"Sid":"https-only","Effect":"Deny","Principal":"*","Action":"SNS:Publish","Resource":"*",`+
			`"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`))
		assert.Empty(t, check(), "an unencrypted topic that only refuses plain HTTP is usable")
	}
}

// A stack cannot wire the pack to a topic CloudWatch can never publish to: refused at Resolve, naming the property.
func TestPackTopicWithAnAWSManagedKeyIsRefused(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	topic, err := f.aws.CreateAlarmTopic(f.ctx, "managed-key", true)
	require.NoError(t, err)
	_, err = f.aws.SNS.SetTopicAttributes(f.ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(topic),
		AttributeName: aws.String("KmsMasterKeyId"), AttributeValue: aws.String("alias/aws/sns")})
	require.NoError(t, err)
	_, _, err = f.engine.Resolve(f.ctx, caller, spec.Spec{TrailName: "management-trail", MonitoringPack: "cis", AlarmTopicARN: topic,
		Remediation: spec.Enforce}, nil)
	var fe *spec.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "AlarmTopicArn", fe.Field)
	assert.Contains(t, fe.Rule, "alias/aws/sns")
}

// Another filter, on the trail's group or any other, publishing to a pack metric (here -1 for the same events,
// which keeps the Sum at 0) is reported naming it, and never touched.
func TestPackMetricCancelledByAForeignFilterIsReported(t *testing.T) {
	f, target := packFixture(t, "cis")
	names := cis.NamesFor("management-trail")
	root, vpc := cis.Controls[0], cis.Controls[13]
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("elsewhere")})
	require.NoError(t, err)
	for _, p := range []struct {
		group string
		c     cis.Control
	}{{target.LogGroupName, root}, {"elsewhere", vpc}} {
		_, err := f.aws.Logs.PutMetricFilter(f.ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(p.group),
			FilterName: aws.String("ops-dedupe"), FilterPattern: aws.String(p.c.Pattern),
			MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String(names.Metric(p.c)),
				MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String("-1")}}})
		require.NoError(t, err)
	}
	// A sweep reads them; an event's check does not (checkPack says why), so it keeps to a few round trips.
	drifts, err := f.engine.Check(f.ctx, target, delivery.AspectPack, nil)
	require.NoError(t, err)
	assert.Empty(t, drifts, "an event's check of the pack reads no other log group's filters")
	drifts, err = f.engine.Check(f.ctx, target, delivery.AspectPack|delivery.AspectDelivery, nil)
	require.NoError(t, err)
	require.Equal(t, []delivery.Drift{{Kind: delivery.PackMetricForeign, Want: names.Metric(root) + " " + names.Metric(vpc),
		Got: target.LogGroupName + ":ops-dedupe, elsewhere:ops-dedupe"}}, drifts)
	assert.False(t, target.Repairs(delivery.PackMetricForeign))
	res, err := f.engine.Repair(f.ctx, target, drifts, delivery.AspectPack)
	require.NoError(t, err)
	assert.Empty(t, res.Actions, "another's filter is never touched")
	assert.Contains(t, f.filters(t, "elsewhere"), "ops-dedupe")
}
