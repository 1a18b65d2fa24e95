package remediator_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/remediator"
	"github.com/trailguard/trailguard/internal/spec"
)

// The attack fails outright: the guarded group is protected, so an attacker's DeleteLogGroup is refused by
// CloudWatch Logs and no audit event is lost; nothing has to be repaired afterwards.
func TestAnAttackersDeleteLogGroupOfAGuardedGroupFails(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.Logs.DeleteLogGroup(f.ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(logGroup)})
	var api smithy.APIError
	require.True(t, errors.As(err, &api), "refused: %v", err)
	assert.Equal(t, "ValidationException", api.ErrorCode())
	_, found, err := f.aws.LogGroup(f.ctx, logGroup)
	require.NoError(t, err)
	assert.True(t, found)
}

// Protection turned off is turned on again and alerted naming the actor; a foreign key is undone and alerted.
func TestProtectionTurnedOffAndAForeignKeyAreUndoneAndAlerted(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	for i, event := range []string{"put-log-group-deletion-protection", "associate-kms-key"} {
		tc := tamperingFor(t, event)
		tc.do(f, t)
		require.NoError(t, f.deliver(t, event))
		assert.True(t, tc.undone(f, t), event)
		got := f.notifications(t, i+1)
		assert.Contains(t, got[i].Subject, "repaired", event)
		assert.Contains(t, got[i].Message, tamperer, event)
	}
	got := f.inbox.Messages("/ops")
	assert.Contains(t, got[0].Message, "deletion protection was turned off")
	assert.Contains(t, got[0].Message, "PutLogGroupDeletionProtection")
	assert.Contains(t, got[1].Message, foreignKey)
	assert.Contains(t, got[1].Message, "DisassociateKmsKey")
}

func tamperingFor(t *testing.T, event string) tampering {
	t.Helper()
	for _, tc := range guardTamperings {
		if tc.event == event {
			return tc
		}
	}
	t.Fatalf("no tampering %s", event)
	return tampering{}
}

// A deleted log stream cannot be brought back: the event is alerted at once, naming the actor, the log group, the
// stream and the trail, and nothing is written.
func TestADeletedLogStreamIsAlertedAtOnceNamingActorGroupStreamAndTrail(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	const stream = "123456789012_CloudTrail_us-east-1"
	_, err := f.aws.Logs.CreateLogStream(f.ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(logGroup), LogStreamName: aws.String(stream)})
	require.NoError(t, err)
	require.NoError(t, f.aws.DeleteLogStream(f.ctx, logGroup, stream))

	f.rec.Reset()
	require.NoError(t, f.deliver(t, "delete-log-stream"))
	assert.Empty(t, f.rec.ResourceWrites(), "nothing can be repaired")
	got := f.notifications(t, 1)
	require.Len(t, got, 1)
	for _, want := range []string{tamperer, logGroup, stream, testbed.TrailName, "cannot be restored"} {
		assert.Contains(t, got[0].Message, want)
	}
	rec := f.record(t)
	assert.Equal(t, registry.Drifted, rec.Status)
	require.NotNil(t, rec.LastRemediation)
	assert.Equal(t, tamperer, rec.LastRemediation.Actor)

	// The next sweep finds the group whole again (the stream is CloudTrail's to recreate): compliant, no alert.
	require.NoError(t, f.deliver(t, "sweep"))
	assert.Equal(t, registry.Compliant, f.record(t).Status)
	assert.Len(t, f.inbox.Messages("/ops"), 1)
}

// The same attacks through the built remediator bootstrap, as Lambda runs it: protection turned off and a foreign
// key are undone, a deleted stream is reported at once, each decision naming the actor.
func TestBinaryUndoesAndAlertsWhatDestroysAuditData(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	b := f.startBinary(t)
	invoke := func(name string) { t.Helper(); b.mustInvoke(t, name) }

	for _, tc := range guardTamperings {
		tc.do(f, t)
		invoke(tc.event)
		assert.True(t, tc.undone(f, t), tc.event)
	}
	const stream = "123456789012_CloudTrail_us-east-1"
	_, err := f.aws.Logs.CreateLogStream(f.ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(logGroup), LogStreamName: aws.String(stream)})
	require.NoError(t, err)
	require.NoError(t, f.aws.DeleteLogStream(f.ctx, logGroup, stream))
	invoke("delete-log-stream")

	got := f.notifications(t, len(guardTamperings)+1)
	require.Len(t, got, len(guardTamperings)+1)
	for i, m := range got {
		assert.Contains(t, m.Message, tamperer, "message %d names the actor", i)
	}
	last := got[len(got)-1].Message
	assert.Contains(t, last, stream)
	assert.Contains(t, last, logGroup)
	assert.Contains(t, last, testbed.TrailName)
}

// An adopted trail's own log group gets deletion protection like a declared one; the account policy's
// DeletionProtection setting opts out, with the property's rule.
func TestAnAdoptedTrailsLogGroupIsProtectedUnlessThePolicyOptsOut(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	const own = "/security/own-group"
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(own)})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:" + testbed.Account + ":log-group:" + own + ":*"),
		CloudWatchLogsRoleArn:     aws.String(testbed.DeliveryRoleARN)})
	require.NoError(t, err)
	require.NoError(t, f.deliver(t, "sweep"))
	g, _, err := f.aws.LogGroup(f.ctx, own)
	require.NoError(t, err)
	assert.True(t, aws.ToBool(g.DeletionProtectionEnabled))
	assert.Contains(t, f.rec.ResourceWrites(), "CloudWatch Logs.PutLogGroupDeletionProtection")

	p, err := remediator.NewAccountPolicy("", "", "")
	require.NoError(t, err)
	assert.False(t, p.Defaults.DeletionProtectionOff, "on by default")
	require.NoError(t, p.SetDeletionProtection("false"))
	assert.True(t, p.Defaults.DeletionProtectionOff)
	assert.ErrorContains(t, p.SetDeletionProtection("sometimes"), "property DeletionProtection")
}
