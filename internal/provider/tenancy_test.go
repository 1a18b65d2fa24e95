package provider_test

// What a stack author must not be able to make trailguard do to an audit trail it does not own. Each test is one
// line of docs/security.md.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/registry"
)

const otherStack = "arn:aws:cloudformation:us-east-1:123456789012:stack/other-stack/0c9d8e7f-0000-11ef-9a8c-0e2d3f4a5b6c"

// otherTrail makes a trail that other-stack is allowed to manage, and returns its ARN.
func (f *fixture) otherTrail(t *testing.T, name string) string {
	t.Helper()
	arn, err := f.aws.CreateTrail(f.ctx, name, testbed.TrailOptions{})
	require.NoError(t, err)
	require.NoError(t, f.aws.TagTrail(f.ctx, arn, delivery.TagManagedBy, otherStack))
	return arn
}

// asOther edits an event into one of other-stack's resources naming trail.
func asOther(trail string, edit func(p map[string]any)) func(ev map[string]any) {
	return func(ev map[string]any) {
		ev["StackId"] = otherStack
		ev["PhysicalResourceId"] = trail
		props(ev)["TrailName"] = trail
		delete(props(ev), "RetentionInDays")
		if edit != nil {
			edit(props(ev))
		}
	}
}

func TestAStackCannotDeleteAnotherTrailsLogGroup(t *testing.T) {
	f := newFixture(t)
	created := f.send(t, f.event(t, "create", nil))
	require.Equal(t, "SUCCESS", created.Body.Status, created.Body.Reason)
	victim := created.Body.Data["LogGroupName"].(string)

	scratch := f.otherTrail(t, "scratch-trail")
	steal := asOther(scratch, func(p map[string]any) {
		p["LogGroupName"] = victim
		p["DeleteLogGroupOnDelete"] = "true"
	})
	got := f.send(t, f.event(t, "create", steal))
	require.Equal(t, "SUCCESS", got.Body.Status, "sharing a log group with the same settings is allowed: %s", got.Body.Reason)
	got = f.send(t, f.event(t, "delete", steal))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)

	_, found, err := f.aws.LogGroup(f.ctx, victim)
	require.NoError(t, err)
	assert.True(t, found, "the log group another registration created is kept, with its events")
	require.Len(t, f.notes.got, 1, "a person is told why the group was kept")
	assert.Contains(t, f.notes.got[0].Result, "kept log group "+victim)
	assert.Contains(t, f.notes.got[0].Result, "this resource did not create it")
}

func TestALogGroupSharedByTwoRegistrationsIsNotDeletedByEither(t *testing.T) {
	f := newFixture(t)
	deleting := func(ev map[string]any) { props(ev)["DeleteLogGroupOnDelete"] = "true" }
	created := f.send(t, f.event(t, "create", deleting))
	require.Equal(t, "SUCCESS", created.Body.Status, created.Body.Reason)
	group := created.Body.Data["LogGroupName"].(string)
	scratch := f.otherTrail(t, "scratch-trail")
	got := f.send(t, f.event(t, "create", asOther(scratch, func(p map[string]any) { p["LogGroupName"] = group })))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)

	got = f.send(t, f.event(t, "delete", deleting))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	_, found, err := f.aws.LogGroup(f.ctx, group)
	require.NoError(t, err)
	assert.True(t, found, "scratch-trail still delivers to it")
	require.Len(t, f.notes.got, 1)
	assert.Contains(t, f.notes.got[0].Result, "scratch-trail")
}

func TestConflictingSettingsOnASharedLogGroupAreRefusedNamingTheOwner(t *testing.T) {
	f := newFixture(t)
	created := f.send(t, f.event(t, "create", nil))
	require.Equal(t, "SUCCESS", created.Body.Status, created.Body.Reason)
	scratch := f.otherTrail(t, "scratch-trail")

	f.rec.Reset()
	got := f.send(t, f.event(t, "create", asOther(scratch, func(p map[string]any) {
		p["LogGroupName"] = created.Body.Data["LogGroupName"]
		p["RetentionInDays"] = "3653"
	})))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "TrailDelivery in stack "+stackID, "the reason names the owner")
	assert.Empty(t, f.rec.ResourceWrites())
}

func TestRetentionOfALogGroupTrailguardDidNotCreateIsNeverCut(t *testing.T) {
	f := newFixture(t)
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("team-audit")})
	require.NoError(t, err)
	_, err = f.aws.Logs.PutRetentionPolicy(f.ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("team-audit"), RetentionInDays: aws.Int32(30)})
	require.NoError(t, err)

	f.rec.Reset()
	got := f.send(t, f.event(t, "create", func(ev map[string]any) {
		props(ev)["LogGroupName"] = "team-audit"
		props(ev)["RetentionInDays"] = "1"
	}))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "RetentionInDays")
	assert.Empty(t, f.rec.Writes())
	lg, _, err := f.aws.LogGroup(f.ctx, "team-audit")
	require.NoError(t, err)
	assert.Equal(t, int32(30), aws.ToInt32(lg.RetentionInDays))

	got = f.send(t, f.event(t, "create", func(ev map[string]any) {
		props(ev)["LogGroupName"] = "team-audit"
		delete(props(ev), "RetentionInDays")
	}))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	rec, _, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, int32(30), rec.Target.RetentionInDays, "the effective retention is the desired state")
}

func TestAStackMayManageOnlyATrailThatSaysSo(t *testing.T) {
	f := newFixture(t)
	handWired, err := f.aws.CreateTrail(f.ctx, "org-security-trail", testbed.TrailOptions{})
	require.NoError(t, err)

	for _, mode := range []string{"enforce", "off"} {
		f.rec.Reset()
		claim := asOther(handWired, func(p map[string]any) { p["Remediation"] = mode })
		got := f.send(t, f.event(t, "create", claim))
		assert.Equal(t, "FAILED", got.Body.Status, mode)
		assert.Contains(t, got.Body.Reason, "stack other-stack may not manage trail "+handWired)
		assert.Empty(t, f.rec.Writes(), "refused before any write, registry included")
		f.send(t, f.event(t, "delete", claim))
		assert.Empty(t, f.rec.Writes(), "its Delete changes nothing either")
	}

	t.Run("a trail declared in the same stack", func(t *testing.T) {
		require.NoError(t, f.aws.TagTrail(f.ctx, handWired, "aws:cloudformation:stack-id", otherStack))
		got := f.send(t, f.event(t, "create", asOther(handWired, nil)))
		assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
		f.send(t, f.event(t, "delete", asOther(handWired, nil)))
	})
	t.Run("a stack on the provider's allow-list", func(t *testing.T) {
		other, err := f.aws.CreateTrail(f.ctx, "untagged-trail", testbed.TrailOptions{})
		require.NoError(t, err)
		f.allowed = []string{"other-*"}
		f.handler = f.provider(f.moto.Config(testbed.Region, testbed.WithRecorder(f.rec)), testbed.Region)
		got := f.send(t, f.event(t, "create", asOther(other, nil)))
		assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	})
}

func TestATrailWiredByHandIsRewiredOnlyWhenAskedAndRestoredOnDelete(t *testing.T) {
	f := newFixture(t)
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("team-audit")})
	require.NoError(t, err)
	handLink := delivery.Link{LogGroupARN: "arn:aws:logs:us-east-1:123456789012:log-group:team-audit:*", RoleARN: "arn:aws:iam::123456789012:role/TeamDelivery"}
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String(handLink.LogGroupARN), CloudWatchLogsRoleArn: aws.String(handLink.RoleARN)})
	require.NoError(t, err)

	f.rec.Reset()
	got := f.send(t, f.event(t, "create", nil))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "ReplaceExistingDelivery")
	assert.Contains(t, got.Body.Reason, "team-audit")
	assert.Empty(t, f.rec.Writes())

	replace := func(ev map[string]any) { props(ev)["ReplaceExistingDelivery"] = "true" }
	got = f.send(t, f.event(t, "create", replace))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	rec, _, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	require.NotNil(t, rec.Target.Previous)
	assert.Equal(t, handLink, *rec.Target.Previous, "the link it replaced is recorded")

	got = f.send(t, f.event(t, "update", replace))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	got = f.send(t, f.event(t, "delete", replace))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	group, role, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, handLink, delivery.Link{LogGroupARN: group, RoleARN: role}, "Delete gives the trail back its own link, even after an Update")
}

func TestADeleteWithoutARegistrationChangesNothing(t *testing.T) {
	f := newFixture(t)
	created := f.send(t, f.event(t, "create", nil))
	require.Equal(t, "SUCCESS", created.Body.Status, created.Body.Reason)

	f.rec.Reset()
	for _, edit := range []func(ev map[string]any){
		func(ev map[string]any) { ev["LogicalResourceId"] = "SomethingElse" },
		func(ev map[string]any) { ev["StackId"] = otherStack },
	} {
		got := f.send(t, f.event(t, "delete", edit))
		assert.Equal(t, "SUCCESS", got.Body.Status)
	}
	assert.Empty(t, f.rec.Writes())
	group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, created.Body.Data["LogGroupArn"], group)
}

func TestAFailedCreateLeavesNothingBehind(t *testing.T) {
	f := newFixture(t)
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Times: 1, Code: "InvalidHomeRegionException",
		Message: "This operation must be called from the trail's home region."})
	got := f.send(t, f.event(t, "create", nil))
	require.Equal(t, "FAILED", got.Body.Status)

	f.assertNothingLeft(t)
}

// assertNothingLeft checks that the sample trail is back as it was before its Create.
func (f *fixture) assertNothingLeft(t *testing.T) {
	t.Helper()
	_, registered, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.False(t, registered, "the claim is given back, so the rightful owner is not blocked")
	_, found, err := f.aws.LogGroup(f.ctx, "aws-cloudtrail-logs-123456789012-management-trail")
	require.NoError(t, err)
	assert.False(t, found, "the log group it created and never linked is removed")
	_, err = f.aws.RolePolicy(f.ctx, testbed.DeliveryRoleName, "trailguard-us-east-1-management-trail")
	assert.Error(t, err, "its role policy is removed")
	tags, err := f.aws.CloudTrail.ListTags(f.ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{testbed.TrailARN}})
	require.NoError(t, err)
	for _, tag := range tags.ResourceTagList[0].TagsList {
		assert.NotEqual(t, delivery.TagRegisteredBy, aws.ToString(tag.Key))
	}
}

func TestATimedOutCreateLeavesNothingBehind(t *testing.T) {
	f := newFixture(t)
	// IAM never propagates, and the engine would retry for longer than the request has: its time runs out.
	f.propagation = time.Minute
	f.handler = f.provider(f.moto.Config(testbed.Region, testbed.WithFaults(f.faults), testbed.WithRecorder(f.rec)), testbed.Region)
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Code: "InvalidCloudWatchLogsRoleArnException", Message: "Access denied."})
	raw, err := json.Marshal(f.event(t, "create", nil))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(f.ctx, 8*time.Second)
	defer cancel()
	require.NoError(t, f.handler(ctx, raw))
	require.Equal(t, "FAILED", f.s3.Responses()[0].Body.Status)

	// The undo ran before the answer: nothing is left to wait for, since Lambda may freeze the function after it.
	f.faults.Clear()
	f.assertNothingLeft(t)
}

func TestADeleteMarksItsRecordSoTheRemediatorDoesNotUndoIt(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
	f.faults.Add(testbed.Fault{Service: "IAM", Operation: "DeleteRolePolicy", Code: "AccessDenied", Status: 403, Message: "no"})
	got := f.send(t, f.event(t, "delete", nil))
	require.Equal(t, "FAILED", got.Body.Status)

	rec, found, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	require.True(t, found, "the record stays until the Delete completes")
	assert.Equal(t, registry.Deleting, rec.Status)
}

// Found in review: a group made in advance under the predictable default name, with a one-day retention and a
// foreign key, must not become the trail's desired state.
func TestALogGroupSquattingTheDefaultNameIsRefused(t *testing.T) {
	f := newFixture(t)
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("aws-cloudtrail-logs-123456789012-management-trail")})
	require.NoError(t, err)
	_, err = f.aws.Logs.PutRetentionPolicy(f.ctx, &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName: aws.String("aws-cloudtrail-logs-123456789012-management-trail"), RetentionInDays: aws.Int32(1)})
	require.NoError(t, err)

	f.rec.Reset()
	got := f.send(t, f.event(t, "create", func(ev map[string]any) { delete(props(ev), "RetentionInDays") }))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "property LogGroupName")
	assert.Contains(t, got.Body.Reason, "trailguard did not create it for this trail")
	assert.Empty(t, f.rec.Writes())
}

// Found in review: a stack admitted only by the allow-list (a name any stack author can choose) may wire an unwired
// trail, but not redirect one that already delivers elsewhere.
func TestTheAllowListAloneCannotRewireATrail(t *testing.T) {
	f := newFixture(t)
	handWired, err := f.aws.CreateTrail(f.ctx, "team-trail", testbed.TrailOptions{})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("team-trail"),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:team-audit:*"),
		CloudWatchLogsRoleArn:     aws.String("arn:aws:iam::123456789012:role/TeamDelivery")})
	require.NoError(t, err)
	f.allowed = []string{"other-*"}
	f.handler = f.provider(f.moto.Config(testbed.Region, testbed.WithRecorder(f.rec)), testbed.Region)

	f.rec.Reset()
	got := f.send(t, f.event(t, "create", asOther(handWired, func(p map[string]any) { p["ReplaceExistingDelivery"] = "true" })))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "only a stack the trail itself names")
	assert.Empty(t, f.rec.Writes())
}

// Found in review: an Update that moves the resource to another trail and fails leaves nothing on that trail.
func TestAFailedUpdateToAnotherTrailLeavesNothingBehind(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
	second, err := f.aws.CreateTrail(f.ctx, "second-trail", testbed.TrailOptions{})
	require.NoError(t, err)
	require.NoError(t, f.aws.TagTrail(f.ctx, second, delivery.TagManagedBy, stackID))
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Times: 1, Code: "InvalidHomeRegionException",
		Message: "This operation must be called from the trail's home region."})

	got := f.send(t, f.event(t, "update", func(ev map[string]any) { props(ev)["TrailName"] = "second-trail" }))
	require.Equal(t, "FAILED", got.Body.Status)
	_, registered, err := f.reg.Get(f.ctx, second)
	require.NoError(t, err)
	assert.False(t, registered, "the claim on the second trail is given back")
	_, registered, err = f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.True(t, registered, "the resource's own trail stays as it was")
}

// Found in review: an Update must not record a tamperer's link as the one Delete gives back.
func TestAnUpdateKeepsTheOriginalPreviousLink(t *testing.T) {
	f := newFixture(t)
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("team-audit")})
	require.NoError(t, err)
	handLink := delivery.Link{LogGroupARN: "arn:aws:logs:us-east-1:123456789012:log-group:team-audit:*", RoleARN: "arn:aws:iam::123456789012:role/TeamDelivery"}
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String(handLink.LogGroupARN), CloudWatchLogsRoleArn: aws.String(handLink.RoleARN)})
	require.NoError(t, err)
	replace := func(ev map[string]any) { props(ev)["ReplaceExistingDelivery"] = "true" }
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", replace)).Body.Status)

	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:attacker:*"), CloudWatchLogsRoleArn: aws.String(handLink.RoleARN)})
	require.NoError(t, err)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "update", replace)).Body.Status)
	rec, _, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	require.NotNil(t, rec.Target.Previous)
	assert.Equal(t, handLink, *rec.Target.Previous)
}

// Found in review: an Update after a failed Delete makes the trail guarded again.
func TestAnUpdateAfterAFailedDeleteGuardsTheTrailAgain(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
	f.faults.Add(testbed.Fault{Service: "IAM", Operation: "DeleteRolePolicy", Times: 1, Code: "AccessDenied", Status: 403, Message: "no"})
	require.Equal(t, "FAILED", f.send(t, f.event(t, "delete", nil)).Body.Status)

	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "update", nil)).Body.Status)
	rec, _, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, registry.Compliant, rec.Status)
}

// Found in review: whoever may invoke the provider directly (CloudFormation invokes it with the stack operator's
// credentials) must not be able to name a stack operation that is not happening.
func TestARequestFromNoStackOperationIsRefusedBeforeAnyWrite(t *testing.T) {
	cases := map[string]func(s *stackServer, stack string){
		"a stack that never existed": func(s *stackServer, stack string) { s.unknown[stack] = true },
		"a stack at rest":            func(s *stackServer, stack string) { s.status[stack] = "UPDATE_COMPLETE" },
		"a resource that is not custom": func(s *stackServer, stack string) {
			s.types[stack] = "AWS::SNS::Topic"
		},
	}
	for name, arrange := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
			arrange(f.stacks, stackID)
			f.rec.Reset()
			for _, kind := range []string{"create", "update", "delete"} {
				got := f.send(t, f.event(t, kind, func(ev map[string]any) { props(ev)["RetentionInDays"] = "1" }))
				assert.Equal(t, "FAILED", got.Body.Status, kind)
				assert.Contains(t, got.Body.Reason, "only CloudFormation, during an operation of that stack, may send it", kind)
			}
			assert.Empty(t, f.rec.Writes(), "refused before any write, registry included")
			group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
			require.NoError(t, err)
			assert.NotEmpty(t, group, "the trail stays wired")
		})
	}
}
