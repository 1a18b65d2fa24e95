package provider_test

// Issue 19, cases 1 and 2: what a stack admitted only by a name (the allow-list's, or a trailguard:managed-by tag
// naming it by name) must not be able to do, and what a stack the trail names by its id still may.

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/registry"
)

// squatterStack has the name a trail's owner tagged the trail with, but it is not the owner's stack: whoever
// creates a stack of that name first gets it.
const squatterStack = "arn:aws:cloudformation:us-east-1:123456789012:stack/platform-trails/66666666-0000-11ef-9a8c-0e2d3f4a5b6c"

// Case 2: a trail tagged trailguard:managed-by=platform-trails (a name) is not the squatter's to rewire, to move
// to a key of another account, or to weaken by Update.
func TestAStackNameIsNotConsent(t *testing.T) {
	f := newFixture(t)
	trail, err := f.aws.CreateTrail(f.ctx, "platform-trail", testbed.TrailOptions{})
	require.NoError(t, err)
	require.NoError(t, f.aws.TagTrail(f.ctx, trail, delivery.TagManagedBy, "platform-trails"))
	ownLink := "arn:aws:logs:us-east-1:123456789012:log-group:platform-audit:*"
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(trail),
		CloudWatchLogsLogGroupArn: aws.String(ownLink), CloudWatchLogsRoleArn: aws.String(testbed.DeliveryRoleARN)})
	require.NoError(t, err)
	as := func(stack string, edit func(p map[string]any)) func(ev map[string]any) {
		return func(ev map[string]any) {
			ev["StackId"], ev["PhysicalResourceId"] = stack, trail
			props(ev)["TrailName"] = trail
			delete(props(ev), "RetentionInDays")
			if edit != nil {
				edit(props(ev))
			}
		}
	}

	f.rec.Reset()
	got := f.send(t, f.event(t, "create", as(squatterStack, func(p map[string]any) {
		p["ReplaceExistingDelivery"], p["LogGroupName"], p["RetentionInDays"] = "true", "squatter-audit", "1"
	})))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "only a stack the trail itself names")
	assert.Empty(t, f.rec.Writes(), "refused before any write, registry included")
	group, _, err := f.aws.TrailLink(f.ctx, trail)
	require.NoError(t, err)
	assert.Equal(t, ownLink, group)

	// The same trail, unwired: a name admits wiring it, but not with a key of another account.
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(trail),
		CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
	require.NoError(t, err)
	f.rec.Reset()
	got = f.send(t, f.event(t, "create", as(squatterStack, func(p map[string]any) {
		p["LogGroupName"], p["AllowCrossAccountKey"] = "squatter-audit", "true"
		p["KmsKeyId"] = "arn:aws:kms:us-east-1:210987654321:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	})))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "use key arn:aws:kms:us-east-1:210987654321:key/")
	assert.Contains(t, got.Body.Reason, delivery.TagManagedBy+"="+squatterStack, "the reason says what consent looks like")
	assert.Empty(t, f.rec.Writes())

	// The owner tags the trail with its stack's id: its stack may rewire it, the squatter may not even wire it.
	owner := "arn:aws:cloudformation:us-east-1:123456789012:stack/platform-trails/11111111-0000-11ef-9a8c-0e2d3f4a5b6c"
	require.NoError(t, f.aws.TagTrail(f.ctx, trail, delivery.TagManagedBy, owner))
	got = f.send(t, f.event(t, "create", as(squatterStack, nil)))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "may not manage trail")
	got = f.send(t, f.event(t, "create", as(owner, func(p map[string]any) { p["AllowCrossAccountKey"] = "true" })))
	assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
}

// Case 1, by Update: a stack the allow-list admitted wires an unwired trail, and then may not move it to another
// log group, lower its retention or weaken its mode. Raising the retention is still its to do.
func TestAnUpdateThatTakesFromTheGuardNeedsTheTrailsConsent(t *testing.T) {
	f := newFixture(t)
	trail, err := f.aws.CreateTrail(f.ctx, "team-trail", testbed.TrailOptions{})
	require.NoError(t, err)
	f.allowed = []string{"other-*"}
	f.handler = f.provider(f.moto.Config(testbed.Region, testbed.WithRecorder(f.rec)), testbed.Region)
	other := func(edit func(p map[string]any)) func(ev map[string]any) {
		return asOther(trail, func(p map[string]any) {
			p["RetentionInDays"] = "400"
			p["RepairPosture"] = "true"
			delete(p, "LogGroupName")
			if edit != nil {
				edit(p)
			}
		})
	}
	got := f.send(t, f.event(t, "create", other(nil)))
	require.Equal(t, "SUCCESS", got.Body.Status, "the allow-list admits wiring an unwired trail: %s", got.Body.Reason)
	before, _, err := f.reg.Get(f.ctx, trail)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		edit func(p map[string]any)
		rule string
	}{
		"another log group":    {func(p map[string]any) { p["LogGroupName"] = "one-day-audit"; p["RetentionInDays"] = "1" }, "move the delivery from log group"},
		"a lower retention":    {func(p map[string]any) { p["RetentionInDays"] = "30" }, "lower RetentionInDays from 400 days to 30 days"},
		"report mode":          {func(p map[string]any) { p["Remediation"] = "report" }, "weaken Remediation from enforce to report"},
		"no remediation":       {func(p map[string]any) { p["Remediation"] = "off" }, "weaken Remediation from enforce to off"},
		"logging not forced":   {func(p map[string]any) { p["EnforceLogging"] = "false" }, "turn EnforceLogging off"},
		"posture not repaired": {func(p map[string]any) { p["RepairPosture"] = "false" }, "turn RepairPosture off"},
		"deletion unprotected": {func(p map[string]any) { p["DeletionProtection"] = "false" }, "turn DeletionProtection off"},
	} {
		f.rec.Reset()
		got := f.send(t, f.event(t, "update", other(tc.edit)))
		assert.Equal(t, "FAILED", got.Body.Status, name)
		assert.Contains(t, got.Body.Reason, tc.rule, name)
		assert.Contains(t, got.Body.Reason, "needs the trail's own consent", name)
		assert.Empty(t, f.rec.Writes(), "%s: nothing written", name)
	}
	after, _, err := f.reg.Get(f.ctx, trail)
	require.NoError(t, err)
	assert.Equal(t, before.Target, after.Target)
	assert.Equal(t, before.Spec, after.Spec)

	got = f.send(t, f.event(t, "update", other(func(p map[string]any) { p["RetentionInDays"] = "731" })))
	assert.Equal(t, "SUCCESS", got.Body.Status, "raising the retention takes nothing: %s", got.Body.Reason)

	// With the trail's consent (its tag names the stack by id) the same Update goes through.
	require.NoError(t, f.aws.TagTrail(f.ctx, trail, delivery.TagManagedBy, otherStack))
	got = f.send(t, f.event(t, "update", other(func(p map[string]any) { p["Remediation"] = "report" })))
	assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	rec, _, err := f.reg.Get(f.ctx, trail)
	require.NoError(t, err)
	assert.Equal(t, registry.Owner{StackID: otherStack, LogicalResourceID: "TrailDelivery"}, rec.Owner)
	assert.Equal(t, "report", string(rec.Spec.Remediation))
}

// Found in review of issue 19: a stack admitted by a name alone declares the link a trail already has (wired by
// hand, before trailguard), so there is nothing to rewire, and deletes its resource. The Delete gives the trail back
// its link as found, never unlinks it.
func TestDeclaringATrailsOwnLinkThenDeletingDoesNotUnlinkIt(t *testing.T) {
	f := newFixture(t)
	trail, err := f.aws.CreateTrail(f.ctx, "team-trail", testbed.TrailOptions{})
	require.NoError(t, err)
	f.allowed = []string{"other-*"}
	f.handler = f.provider(f.moto.Config(testbed.Region, testbed.WithRecorder(f.rec)), testbed.Region)
	// The team wired it by hand to its group, through the delivery role, and nobody registered it.
	link := "arn:aws:logs:us-east-1:123456789012:log-group:team-audit:*"
	_, err = f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("team-audit")})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(trail),
		CloudWatchLogsLogGroupArn: aws.String(link), CloudWatchLogsRoleArn: aws.String(testbed.DeliveryRoleARN)})
	require.NoError(t, err)

	squat := asOther(trail, func(p map[string]any) { p["LogGroupName"], p["Remediation"] = "team-audit", "off" })
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", squat)).Body.Status, "the same link: nothing to rewire")
	got := f.send(t, f.event(t, "delete", squat))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	group, role, err := f.aws.TrailLink(f.ctx, trail)
	require.NoError(t, err)
	assert.Equal(t, link, group, "still delivering as before the stack came")
	assert.Equal(t, testbed.DeliveryRoleARN, role)
}
