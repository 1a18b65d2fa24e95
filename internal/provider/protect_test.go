package provider_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func (f *fixture) protected(t *testing.T, name string) (protected, found bool) {
	t.Helper()
	g, found, err := f.aws.LogGroup(f.ctx, name)
	require.NoError(t, err)
	return aws.ToBool(g.DeletionProtectionEnabled), found
}

// Create protects the group it creates (an attacker's DeleteLogGroup then fails), the DeletionProtection property
// opts out, and the only time trailguard turns protection off is to honour DeleteLogGroupOnDelete on the group its
// registration created.
func TestDeletionProtectionIsOnUntilDeleteLogGroupOnDeleteAsksForTheGroup(t *testing.T) {
	f := newFixture(t)
	got := f.send(t, f.event(t, "create", func(ev map[string]any) { props(ev)["DeleteLogGroupOnDelete"] = "true" }))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	group := got.Body.Data["LogGroupName"].(string)
	protected, _ := f.protected(t, group)
	assert.True(t, protected)
	_, err := f.aws.Logs.DeleteLogGroup(f.ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)})
	require.Error(t, err, "an attacker's DeleteLogGroup fails")

	got = f.send(t, f.event(t, "delete", func(ev map[string]any) { props(ev)["DeleteLogGroupOnDelete"] = "true" }))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	_, found := f.protected(t, group)
	assert.False(t, found, "deleted as its stack asked: trailguard turned its own protection off first")

	got = f.send(t, f.event(t, "create", func(ev map[string]any) { props(ev)["DeletionProtection"] = "false" }))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	protected, _ = f.protected(t, group)
	assert.False(t, protected, "the opt-out")
}

// The record says DeleteLogGroupOnDelete, the Delete request does not: the group stays. A registry record alone never
// makes the provider delete a group.
func TestARecordAloneNeverMakesTheProviderDeleteAGroup(t *testing.T) {
	f := newFixture(t)
	got := f.send(t, f.event(t, "create", func(ev map[string]any) { props(ev)["DeleteLogGroupOnDelete"] = "true" }))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	group := got.Body.Data["LogGroupName"].(string)
	got = f.send(t, f.event(t, "delete", nil))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	_, found := f.protected(t, group)
	assert.True(t, found)
}

// Someone else's group, reused by a stack that asks for DeleteLogGroupOnDelete; then a forged tag (anyone with
// logs:TagResource) and a forged record saying this registration created the group. The provider's Delete, the
// built bootstrap as Lambda runs it, keeps the group: it is older than the registration.
func TestBinaryAForgedTagAndRecordNeverDeleteSomeoneElsesGroup(t *testing.T) {
	f := newFixture(t)
	rt, _ := startBinary(t, f)
	const group = "payments-audit"
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	// The provider's clock is the real one here: let a whole second pass, so the registration is later than the
	// group even after the one-second allowance for clock differences.
	time.Sleep(2 * time.Second)

	withGroup := func(ev map[string]any) {
		props(ev)["LogGroupName"], props(ev)["DeleteLogGroupOnDelete"] = group, "true"
		delete(props(ev), "RetentionInDays")
	}
	for _, name := range []string{"create", "delete"} {
		if name == "delete" {
			_, err := f.aws.Logs.TagResource(f.ctx, &cloudwatchlogs.TagResourceInput{
				ResourceArn: aws.String("arn:aws:logs:" + testbed.Region + ":" + testbed.Account + ":log-group:" + group),
				Tags:        map[string]string{delivery.TagCreatedBy: "trailguard", delivery.TagTrail: testbed.TrailARN}})
			require.NoError(t, err)
			rec, found, err := f.reg.Get(f.ctx, testbed.TrailARN)
			require.NoError(t, err)
			require.True(t, found)
			require.False(t, rec.Target.CreatedLogGroup, "reused, not created")
			require.False(t, rec.Target.RegisteredAt.IsZero())
			rec.Target.CreatedLogGroup = true
			require.NoError(t, f.reg.Save(f.ctx, rec))
		}
		raw, err := json.Marshal(f.event(t, name, withGroup))
		require.NoError(t, err)
		require.Nil(t, invoke(t, rt, raw).Error)
		got, err := f.s3.WaitFor(5 * time.Second)
		require.NoError(t, err)
		require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	}
	protected, found := f.protected(t, group)
	assert.True(t, found, "someone else's group and its events are kept")
	assert.True(t, protected, "and its protection stays on")
}
