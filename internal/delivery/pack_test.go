package delivery_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/spec"
)

// packFixture wires a trail with a pack of set on moto and returns its target.
func packFixture(t *testing.T, set string) (*fixture, delivery.Target) {
	t.Helper()
	f := newFixture(t)
	f.trail(t, "management-trail")
	topic, err := f.aws.CreateAlarmTopic(f.ctx, testbed.AlarmTopicName, true)
	require.NoError(t, err)
	target := f.resolve(t, spec.Spec{TrailName: "management-trail", MonitoringPack: set, AlarmTopicARN: topic})
	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	require.True(t, res.Converged(target), "remaining drift: %v", res.Remaining)
	return f, target
}

func (f *fixture) filters(t *testing.T, group string) map[string][]string {
	t.Helper()
	out, err := f.aws.Logs.DescribeMetricFilters(f.ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	got := map[string][]string{}
	for _, m := range out.MetricFilters {
		got[aws.ToString(m.FilterName)] = append(got[aws.ToString(m.FilterName)], aws.ToString(m.FilterPattern))
	}
	return got
}

func (f *fixture) alarms(t *testing.T) map[string]cwtypes.MetricAlarm {
	t.Helper()
	out, err := f.aws.CloudWatch.DescribeAlarms(f.ctx, &cloudwatch.DescribeAlarmsInput{})
	require.NoError(t, err)
	got := map[string]cwtypes.MetricAlarm{}
	for _, a := range out.MetricAlarms {
		got[aws.ToString(a.AlarmName)] = a
	}
	return got
}

// The pack is put on the trail's log group as Security Hub documents it: every exact pattern, one alarm each with
// Sum, 300 s, >= 1, one period, missing data not breaching, actions to the topic, tagged with the registration.
func TestPackIsWiredAsSecurityHubDocumentsIt(t *testing.T) {
	f, target := packFixture(t, "cis")
	names := cis.NamesFor("management-trail")
	filters, alarms := f.filters(t, target.LogGroupName), f.alarms(t)
	require.Len(t, filters, 15)
	require.Len(t, alarms, 15)
	for _, c := range cis.Of(cis.SecurityHub) {
		assert.Equal(t, []string{c.Pattern}, filters[names.Filter(c)], c.ID)
		a := alarms[names.Alarm(c)]
		assert.Equal(t, names.Metric(c), aws.ToString(a.MetricName), c.ID)
		assert.Equal(t, cis.Namespace, aws.ToString(a.Namespace))
		assert.Equal(t, cwtypes.StatisticSum, a.Statistic)
		assert.Equal(t, int32(300), aws.ToInt32(a.Period))
		assert.Equal(t, 1.0, aws.ToFloat64(a.Threshold))
		assert.Equal(t, int32(1), aws.ToInt32(a.EvaluationPeriods))
		assert.Equal(t, cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, a.ComparisonOperator)
		assert.Equal(t, "notBreaching", aws.ToString(a.TreatMissingData))
		assert.Equal(t, []string{target.Pack.TopicARN}, a.AlarmActions)
		assert.Contains(t, aws.ToString(a.AlarmDescription), c.ID)
	}
	tags, err := f.aws.CloudWatch.ListTagsForResource(f.ctx, &cloudwatch.ListTagsForResourceInput{
		ResourceARN: alarms[names.Alarm(cis.Controls[0])].AlarmArn})
	require.NoError(t, err)
	assert.Contains(t, tags.Tags, cwtypes.Tag{Key: aws.String(delivery.TagTrail), Value: aws.String(target.TrailARN)})

	drifts, err := f.engine.Check(f.ctx, target, delivery.AspectAll, nil)
	require.NoError(t, err)
	assert.Empty(t, drifts, "a wired pack is compliant")
}

// Each guarded change is found and put back; a filter and an alarm of other names are never touched.
func TestPackDriftIsRepairedAndForeignOnesUntouched(t *testing.T) {
	f, target := packFixture(t, "cis")
	names := cis.NamesFor("management-trail")
	root, vpc := cis.Controls[0], cis.Controls[13]
	// Someone else's filter and alarm, on the same log group and with a prefix that looks alike.
	_, err := f.aws.Logs.PutMetricFilter(f.ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(target.LogGroupName),
		FilterName: aws.String("trailguard-cis-management-trailx-root-usage"), FilterPattern: aws.String("{$.x = 1}"),
		MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String("x"), MetricNamespace: aws.String("y"), MetricValue: aws.String("1")}}})
	require.NoError(t, err)
	_, err = f.aws.CloudWatch.PutMetricAlarm(f.ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("ops-root-usage"),
		MetricName: aws.String("x"), Namespace: aws.String("y"), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60),
		Threshold: aws.Float64(5), EvaluationPeriods: aws.Int32(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
	require.NoError(t, err)

	// The attack: the root-usage alarm deleted, the VPC filter edited by one character, another alarm's actions
	// disabled and its threshold raised.
	_, err = f.aws.CloudWatch.DeleteAlarms(f.ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{names.Alarm(root)}})
	require.NoError(t, err)
	_, err = f.aws.Logs.PutMetricFilter(f.ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(target.LogGroupName),
		FilterName: aws.String(names.Filter(vpc)), FilterPattern: aws.String(vpc.Pattern[:len(vpc.Pattern)-2] + "}"),
		MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String(names.Metric(vpc)),
			MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String("1")}}})
	require.NoError(t, err)
	_, err = f.aws.CloudWatch.DisableAlarmActions(f.ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{names.Alarm(vpc)}})
	require.NoError(t, err)

	drifts, err := f.engine.Check(f.ctx, target, delivery.AspectPack, nil)
	require.NoError(t, err)
	assert.ElementsMatch(t, []delivery.Drift{
		{Kind: delivery.PackFilterChanged, Want: names.Filter(vpc)},
		{Kind: delivery.PackAlarmMissing, Want: names.Alarm(root)},
		{Kind: delivery.PackAlarmChanged, Want: names.Alarm(vpc)},
	}, drifts)

	res, err := f.engine.Repair(f.ctx, target, drifts, delivery.AspectPack)
	require.NoError(t, err)
	assert.Empty(t, res.Remaining)
	assert.ElementsMatch(t, []string{"PutMetricFilter", "PutMetricAlarm", "PutMetricAlarm"}, res.Actions)
	assert.Equal(t, []string{vpc.Pattern}, f.filters(t, target.LogGroupName)[names.Filter(vpc)])
	alarms := f.alarms(t)
	assert.True(t, aws.ToBool(alarms[names.Alarm(vpc)].ActionsEnabled))
	assert.Contains(t, alarms, names.Alarm(root))

	assert.Equal(t, []string{"{$.x = 1}"}, f.filters(t, target.LogGroupName)["trailguard-cis-management-trailx-root-usage"], "foreign filter untouched")
	assert.Equal(t, 5.0, aws.ToFloat64(alarms["ops-root-usage"].Threshold), "foreign alarm untouched")

	// Delete removes the pack, and only the pack.
	actions, err := f.engine.Remove(f.ctx, target, false)
	require.NoError(t, err)
	assert.Contains(t, actions, "DeleteAlarms")
	filters := f.filters(t, target.LogGroupName)
	assert.Equal(t, map[string][]string{"trailguard-cis-management-trailx-root-usage": {"{$.x = 1}"}}, filters)
	assert.Equal(t, []string{"ops-root-usage"}, slices.Collect(mapKeys(f.alarms(t))))
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// A topic without a subscriber, a deleted topic and a trail sending data events to CloudWatch Logs are reported,
// never repaired: trailguard creates no topic or subscription, and what a trail records is its owner's choice.
func TestPackTopicAndNoisySelectorsAreReported(t *testing.T) {
	f, target := packFixture(t, "cis")
	subs, err := f.aws.SNS.ListSubscriptionsByTopic(f.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(target.Pack.TopicARN)})
	require.NoError(t, err)
	for _, s := range subs.Subscriptions {
		_, err := f.aws.SNS.Unsubscribe(f.ctx, &sns.UnsubscribeInput{SubscriptionArn: s.SubscriptionArn})
		require.NoError(t, err)
	}
	_, err = f.aws.CloudTrail.PutEventSelectors(f.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(target.TrailARN),
		EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll,
			DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}}}}})
	require.NoError(t, err)
	drifts, err := f.engine.Check(f.ctx, target, delivery.AspectPack|delivery.AspectSelectors|delivery.AspectDelivery, nil)
	require.NoError(t, err)
	assert.ElementsMatch(t, []delivery.DriftKind{delivery.PackTopicUnsubscribed, delivery.NoisySelectors}, kinds(drifts))
	events, err := f.engine.Check(f.ctx, target, delivery.AspectSelectors, nil)
	require.NoError(t, err)
	assert.Empty(t, events, "the selectors finding is the sweep's (AspectDelivery), not every selector event's")
	for _, d := range drifts {
		assert.False(t, target.Repairs(d.Kind), d.Kind)
	}
	assert.Contains(t, drifts[len(drifts)-1].String()+drifts[0].String(), "AWS::S3::Object")

	_, err = f.aws.SNS.DeleteTopic(f.ctx, &sns.DeleteTopicInput{TopicArn: aws.String(target.Pack.TopicARN)})
	require.NoError(t, err)
	drifts, err = f.engine.Check(f.ctx, target, delivery.AspectPack, nil)
	require.NoError(t, err)
	assert.Contains(t, kinds(drifts), delivery.PackTopicMissing)
}

// The alarms notify only a topic of the trail's own account and region: a stack author cannot send the account's
// security alarms to another account's topic.
func TestPackTopicOfAnotherAccountIsRefused(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	for _, topic := range []string{"arn:aws:sns:us-east-1:999999999999:exfil", "arn:aws:sns:eu-west-1:" + testbed.Account + ":far", "not-an-arn"} {
		_, _, err := f.engine.Resolve(f.ctx, caller, spec.Spec{TrailName: "management-trail", MonitoringPack: "cis", AlarmTopicARN: topic,
			Remediation: spec.Enforce}, nil)
		var fe *spec.FieldError
		require.True(t, errors.As(err, &fe), "%s: %v", topic, err)
		assert.Equal(t, "AlarmTopicArn", fe.Field)
	}
	// No topic and no provider topic: refused, naming the property.
	_, _, err := f.engine.Resolve(f.ctx, caller, spec.Spec{TrailName: "management-trail", MonitoringPack: "cis", Remediation: spec.Enforce}, nil)
	assert.ErrorContains(t, err, "AlarmTopicArn")
	// The provider stack's topic is the default.
	topic := "arn:aws:sns:us-east-1:" + testbed.Account + ":trailguard-notifications"
	target, _, err := f.newEngine(delivery.WithPackTopic(topic)).Resolve(f.ctx, caller,
		spec.Spec{TrailName: "management-trail", MonitoringPack: "cis-v5", Remediation: spec.Enforce}, nil)
	require.NoError(t, err)
	assert.Equal(t, delivery.Pack{Set: cis.CISv5, TopicARN: topic}, target.Pack)
}

// Switching from cis-v5 to cis removes only the variant; switching off removes it all.
func TestRemovePackKeepsWhatTheNewSetWants(t *testing.T) {
	f, target := packFixture(t, "cis-v5")
	require.Len(t, f.alarms(t), 16)
	_, err := f.engine.RemovePack(f.ctx, target, cis.SecurityHub, cis.SecurityHub)
	require.NoError(t, err)
	assert.Len(t, f.alarms(t), 15)
	assert.Len(t, f.filters(t, target.LogGroupName), 15)
	_, err = f.engine.RemovePack(f.ctx, target, cis.None, cis.None)
	require.NoError(t, err)
	assert.Empty(t, f.alarms(t))
	assert.Empty(t, f.filters(t, target.LogGroupName))
}

// A registry record edited to send the pack's alarms to another account's topic, or to keep an unknown set, is
// refused like any record that breaks the provider's rules.
func TestValidateRefusesAForeignPack(t *testing.T) {
	f, target := packFixture(t, "cis")
	require.NoError(t, target.Validate(region, testbed.Account, false))
	foreign := target
	foreign.Pack.TopicARN = "arn:aws:sns:us-east-1:999999999999:exfil"
	assert.ErrorContains(t, foreign.Validate(region, testbed.Account, false), "AlarmTopicArn")
	unknown := target
	unknown.Pack.Set = "cis-v9"
	assert.ErrorContains(t, unknown.Validate(region, testbed.Account, false), "Pack")
	_ = f
}

// Any guarded trail, pack or not, that sends data events or network-activity events to CloudWatch Logs is a sweep
// finding naming the selector; reported, never repaired.
func TestNoisySelectorsAreASweepFindingForEveryGuardedTrail(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail"})
	_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	sweep := delivery.AspectAll | delivery.AspectDelivery
	drifts, err := f.engine.Check(f.ctx, target, sweep, nil)
	require.NoError(t, err)
	assert.Empty(t, drifts, "management events only: no finding")

	_, err = f.aws.CloudTrail.PutEventSelectors(f.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(target.TrailARN),
		AdvancedEventSelectors: []cttypes.AdvancedEventSelector{
			{Name: aws.String("management"), FieldSelectors: []cttypes.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}},
			{Name: aws.String("lambda-invokes"), FieldSelectors: []cttypes.AdvancedFieldSelector{
				{Field: aws.String("eventCategory"), Equals: []string{"Data"}},
				{Field: aws.String("resources.type"), Equals: []string{"AWS::Lambda::Function"}}}},
		}})
	require.NoError(t, err)
	drifts, err = f.engine.Check(f.ctx, target, sweep, nil)
	require.NoError(t, err)
	require.Equal(t, []delivery.DriftKind{delivery.NoisySelectors}, kinds(drifts))
	assert.Contains(t, drifts[0].String(), `"lambda-invokes"`)
	assert.False(t, target.Repairs(delivery.NoisySelectors))
	res, err := f.engine.Repair(f.ctx, target, drifts, sweep)
	require.NoError(t, err)
	assert.Empty(t, res.Actions, "nothing is written for a finding")
}
