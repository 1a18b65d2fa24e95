package cischeck_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/cischeck"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func TestMain(m *testing.M) { os.Exit(testbed.RunWithMoto(m)) }

var now = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

type world struct {
	ctx    context.Context
	aws    *testbed.AWS
	target delivery.Target
}

// compliant builds the world every control passes in: a multi-Region logging trail wired with a cis-v5 pack.
func compliant(t *testing.T) *world {
	t.Helper()
	m := testbed.StartMoto(t)
	w := &world{ctx: context.Background(), aws: testbed.NewAWS(m.Config(testbed.Region))}
	require.NoError(t, w.aws.CreateDeliveryRole(w.ctx))
	_, err := w.aws.CreateTrail(w.ctx, testbed.TrailName, testbed.TrailOptions{})
	require.NoError(t, err)
	w.target, err = w.aws.WirePack(w.ctx, testbed.TrailName, "cis-v5")
	require.NoError(t, err)
	return w
}

func (w *world) evaluate(t *testing.T) map[string]cischeck.Result {
	t.Helper()
	results, err := cischeck.Evaluate(w.ctx, cischeck.NewClients(w.aws.Config), testbed.Region, testbed.Account, cis.CISv5, now)
	require.NoError(t, err)
	require.Len(t, results, 2+16)
	out := map[string]cischeck.Result{}
	for _, r := range results {
		out[r.Control] = r
	}
	return out
}

func statuses(results map[string]cischeck.Result) map[string]cischeck.Status {
	out := map[string]cischeck.Status{}
	for id, r := range results {
		out[id] = r.Status
	}
	return out
}

// every is the status map with every control at s, then the overrides.
func every(s cischeck.Status, overrides map[string]cischeck.Status) map[string]cischeck.Status {
	out := map[string]cischeck.Status{"CloudTrail.1": s, "CloudTrail.5": s}
	for _, c := range cis.Of(cis.CISv5) {
		out[c.ID] = s
	}
	for id, o := range overrides {
		out[id] = o
	}
	return out
}

func TestCompliantWorldPassesEveryControl(t *testing.T) {
	w := compliant(t)
	got := w.evaluate(t)
	assert.Equal(t, every(cischeck.Passed, nil), statuses(got))
	assert.Contains(t, got["CloudWatch.1"].Reason, cis.NamesFor(testbed.TrailName).Alarm(cis.Controls[0]))
}

// A filter whose pattern differs by one byte fails its control, and only it: Security Hub compares exact patterns.
func TestEachFilterEditedFailsItsControl(t *testing.T) {
	w := compliant(t)
	names := cis.NamesFor(testbed.TrailName)
	for _, c := range cis.Of(cis.CISv5) {
		put := func(pattern string) {
			_, err := w.aws.Logs.PutMetricFilter(w.ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(w.target.LogGroupName),
				FilterName: aws.String(names.Filter(c)), FilterPattern: aws.String(pattern), MetricTransformations: []cwltypes.MetricTransformation{
					{MetricName: aws.String(names.Metric(c)), MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String("1")}}})
			require.NoError(t, err)
		}
		put(c.Pattern + " ")
		got := w.evaluate(t)
		assert.Equal(t, every(cischeck.Passed, map[string]cischeck.Status{c.ID: cischeck.Failed}), statuses(got), c.ID)
		assert.Contains(t, got[c.ID].Reason, "exact pattern", c.ID)
		put(c.Pattern)
	}
}

func TestWorldsBuiltToFail(t *testing.T) {
	names := cis.NamesFor(testbed.TrailName)
	allCloudWatch := func(s cischeck.Status) map[string]cischeck.Status {
		out := map[string]cischeck.Status{}
		for _, c := range cis.Of(cis.CISv5) {
			out[c.ID] = s
		}
		return out
	}
	with := func(a, b map[string]cischeck.Status) map[string]cischeck.Status {
		for k, v := range b {
			a[k] = v
		}
		return a
	}
	for _, tc := range []struct {
		name    string
		breakIt func(w *world, t *testing.T)
		want    map[string]cischeck.Status
	}{
		{"single-Region trail", func(w *world, t *testing.T) {
			_, err := w.aws.CloudTrail.UpdateTrail(w.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName), IsMultiRegionTrail: aws.Bool(false)})
			require.NoError(t, err)
		}, with(allCloudWatch(cischeck.Failed), map[string]cischeck.Status{"CloudTrail.1": cischeck.Failed})},
		{"logging stopped", func(w *world, t *testing.T) {
			_, err := w.aws.CloudTrail.StopLogging(w.ctx, &cloudtrail.StopLoggingInput{Name: aws.String(testbed.TrailName)})
			require.NoError(t, err)
		}, with(allCloudWatch(cischeck.Failed), map[string]cischeck.Status{"CloudTrail.1": cischeck.Failed})},
		{"write-only management events", func(w *world, t *testing.T) {
			_, err := w.aws.CloudTrail.PutEventSelectors(w.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(testbed.TrailName),
				EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeWriteOnly}}})
			require.NoError(t, err)
		}, with(allCloudWatch(cischeck.Failed), map[string]cischeck.Status{"CloudTrail.1": cischeck.Failed})},
		{"not delivering to CloudWatch Logs", func(w *world, t *testing.T) {
			_, err := w.aws.CloudTrail.UpdateTrail(w.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
				CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
			require.NoError(t, err)
		}, with(allCloudWatch(cischeck.Failed), map[string]cischeck.Status{"CloudTrail.5": cischeck.Failed})},
		{"root-usage alarm deleted", func(w *world, t *testing.T) {
			_, err := w.aws.CloudWatch.DeleteAlarms(w.ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{names.Alarm(cis.Controls[0])}})
			require.NoError(t, err)
		}, map[string]cischeck.Status{"CloudWatch.1": cischeck.Failed}},
		{"topic without subscriber", func(w *world, t *testing.T) {
			subs, err := w.aws.SNS.ListSubscriptionsByTopic(w.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(w.target.Pack.TopicARN)})
			require.NoError(t, err)
			for _, s := range subs.Subscriptions {
				_, err := w.aws.SNS.Unsubscribe(w.ctx, &sns.UnsubscribeInput{SubscriptionArn: s.SubscriptionArn})
				require.NoError(t, err)
			}
		}, allCloudWatch(cischeck.Failed)},
		{"topic deleted", func(w *world, t *testing.T) {
			_, err := w.aws.SNS.DeleteTopic(w.ctx, &sns.DeleteTopicInput{TopicArn: aws.String(w.target.Pack.TopicARN)})
			require.NoError(t, err)
		}, allCloudWatch(cischeck.Failed)},
		{"pack removed", func(w *world, t *testing.T) {
			_, err := delivery.New(delivery.NewClients(w.aws.Config), testbed.Region).RemovePack(w.ctx, w.target, cis.None, cis.None)
			require.NoError(t, err)
		}, allCloudWatch(cischeck.Failed)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := compliant(t)
			tc.breakIt(w, t)
			got := w.evaluate(t)
			assert.Equal(t, every(cischeck.Passed, tc.want), statuses(got))
			for id, s := range tc.want {
				assert.NotEmpty(t, got[id].Reason, "%s %s says why", id, s)
			}
		})
	}
}

// No trail at all: CloudTrail.1 and every CloudWatch.x fail, CloudTrail.5 has nothing to evaluate.
func TestNoTrailFailsAndHasNoData(t *testing.T) {
	m := testbed.StartMoto(t)
	w := &world{ctx: context.Background(), aws: testbed.NewAWS(m.Config(testbed.Region))}
	got := w.evaluate(t)
	assert.Equal(t, every(cischeck.Failed, map[string]cischeck.Status{"CloudTrail.5": cischeck.NoData}), statuses(got))
}

// A multi-Region trail based in another region is evaluated there: NO_DATA here, as Security Hub says.
func TestTrailBasedElsewhereHasNoData(t *testing.T) {
	m := testbed.StartMoto(t)
	ctx := context.Background()
	eu := testbed.NewAWS(m.Config("eu-west-1"))
	_, err := eu.CreateTrail(ctx, "eu-trail", testbed.TrailOptions{})
	require.NoError(t, err)
	w := &world{ctx: ctx, aws: testbed.NewAWS(m.Config(testbed.Region))}
	results, err := cischeck.Evaluate(ctx, cischeck.NewClients(w.aws.Config), testbed.Region, testbed.Account, cis.SecurityHub, now)
	require.NoError(t, err)
	for _, r := range results {
		if r.Control == "CloudTrail.5" {
			continue
		}
		assert.Equal(t, cischeck.NoData, r.Status, "%s: %s", r.Control, r.Reason)
	}
}
