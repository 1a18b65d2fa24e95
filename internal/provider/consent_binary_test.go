package provider_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// Issue 19, cases 1 and 2 through the built provider bootstrap, as the attacker sent them: a stack named as the
// trail's tag says (not the owner's stack) may not rewire it, and the owner's own stack, wired, may not be
// weakened by an Update from a stack the trail names only by name.
func TestBinaryRefusesWhatOnlyConsentAdmits(t *testing.T) {
	f := newFixture(t)
	rt, _ := startBinary(t, f)
	send := func(ev map[string]any) string {
		t.Helper()
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		require.Nil(t, invoke(t, rt, raw).Error)
		got, err := f.s3.WaitFor(5 * time.Second)
		require.NoError(t, err)
		if got.Body.Status != "SUCCESS" {
			return got.Body.Reason
		}
		return ""
	}
	// The trail names the sample stack by name only; it already delivers to its owner's group.
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, testbed.SampleStackName))
	own := "arn:aws:logs:us-east-1:123456789012:log-group:owner-audit:*"
	_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String(own), CloudWatchLogsRoleArn: aws.String(testbed.DeliveryRoleARN)})
	require.NoError(t, err)

	f.rec.Reset()
	reason := send(f.event(t, "create", func(ev map[string]any) {
		props(ev)["ReplaceExistingDelivery"], props(ev)["RetentionInDays"] = "true", "1"
	}))
	assert.Contains(t, reason, "only a stack the trail itself names")
	group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, own, group, "still its owner's link")

	// Unwired, a name admits wiring it; an Update that would move it to a one-day group is refused.
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
	require.NoError(t, err)
	require.Empty(t, send(f.event(t, "create", nil)))
	reason = send(f.event(t, "update", func(ev map[string]any) { props(ev)["RetentionInDays"] = "1" }))
	assert.Contains(t, reason, "move the delivery from log group aws-cloudtrail-logs-123456789012-management-trail to /trailguard/management-trail")
	assert.Contains(t, reason, "needs the trail's own consent")
	rec, _, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, "aws-cloudtrail-logs-123456789012-management-trail", rec.Target.LogGroupName, "nothing written")
}
