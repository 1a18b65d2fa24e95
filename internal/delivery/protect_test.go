package delivery_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/spec"
)

func (f *fixture) protected(t *testing.T, name string) bool {
	t.Helper()
	g, found, err := f.aws.LogGroup(f.ctx, name)
	require.NoError(t, err)
	require.True(t, found, name)
	return aws.ToBool(g.DeletionProtectionEnabled)
}

// Every guarded log group gets deletion protection, the one it creates and the one it reuses, unless the resource
// opts out; an attacker's DeleteLogGroup then fails outright.
func TestEveryGuardedLogGroupIsProtectedFromDeletion(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "created-trail")
	f.trail(t, "reused-trail")
	f.trail(t, "opted-out-trail")
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("team-audit")})
	require.NoError(t, err)
	_, err = f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("scratch")})
	require.NoError(t, err)

	created := f.resolve(t, spec.Spec{TrailName: "created-trail"})
	res, err := f.engine.Reconcile(f.ctx, created, delivery.AspectAll)
	require.NoError(t, err)
	assert.NotContains(t, res.Actions, "PutLogGroupDeletionProtection", "created protected, in one call")
	assert.True(t, f.protected(t, created.LogGroupName))

	reused := f.resolve(t, spec.Spec{TrailName: "reused-trail", LogGroupName: "team-audit"})
	res, err = f.engine.Reconcile(f.ctx, reused, delivery.AspectAll)
	require.NoError(t, err)
	assert.Equal(t, []delivery.DriftKind{delivery.DeletionProtectionOff}, kinds(res.Found[:1]))
	assert.Contains(t, res.Actions, "PutLogGroupDeletionProtection")
	assert.True(t, f.protected(t, "team-audit"))

	_, err = f.aws.Logs.DeleteLogGroup(f.ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("team-audit")})
	require.Error(t, err, "an attacker's DeleteLogGroup fails")
	assert.True(t, f.logGroupExists(t, "team-audit"))

	optedOut := f.resolve(t, spec.Spec{TrailName: "opted-out-trail", LogGroupName: "scratch", DeletionProtectionOff: true})
	res, err = f.engine.Reconcile(f.ctx, optedOut, delivery.AspectAll)
	require.NoError(t, err)
	assert.NotContains(t, res.Actions, "PutLogGroupDeletionProtection")
	assert.False(t, f.protected(t, "scratch"), "the opt-out is honoured, and is no drift")
}

// A tag can be put on any group by anyone with logs:TagResource, and a record by whoever can write the registry; a
// group's creation time cannot be set by anyone. A group older than the registration is never deleted, whatever
// its tags and the record say.
func TestAForgedTagAndRecordNeverDeleteSomeoneElsesLogGroup(t *testing.T) {
	f := newFixture(t)
	trail := f.trail(t, "audit-trail")
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("payments-audit")})
	require.NoError(t, err)
	target := f.resolve(t, spec.Spec{TrailName: "audit-trail", LogGroupName: "payments-audit"})
	_, err = f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)

	// The forgery: the group tagged as trailguard's for this trail, the record saying this registration created it.
	_, err = f.aws.Logs.TagResource(f.ctx, &cloudwatchlogs.TagResourceInput{
		ResourceArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:payments-audit"),
		Tags:        map[string]string{delivery.TagCreatedBy: "trailguard", delivery.TagTrail: trail.String()}})
	require.NoError(t, err)
	forged := target
	forged.CreatedLogGroup = true
	for _, registered := range []time.Time{time.Now().Add(2 * time.Second), {}} {
		forged.RegisteredAt = registered
		actions, err := f.engine.Remove(f.ctx, forged, true)
		require.NoError(t, err)
		assert.NotContains(t, actions, "DeleteLogGroup")
		assert.True(t, f.logGroupExists(t, "payments-audit"), "registered at %v", registered)
		assert.True(t, f.protected(t, "payments-audit"), "its protection is left on")
	}
}
