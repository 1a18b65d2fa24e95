package remediator_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
)

// registerAgain records the trail's current posture as the desired state, as a stack Update does.
func (f *fixture) registerAgain(t *testing.T) {
	t.Helper()
	rec := f.record(t)
	target, _, err := f.engine.Resolve(f.ctx, delivery.Caller{Partition: "aws", Account: testbed.Account}, rec.Spec, &rec.Target)
	require.NoError(t, err)
	rec.Target = target
	require.NoError(t, f.reg.Save(f.ctx, rec))
	f.target = target
}

// Issue 19, case 4: one UpdateTrail moves the trail's archive to another account's bucket and key and turns log
// file validation off, leaving the CloudWatch Logs link alone. The event is caught and alerted naming each field,
// its recorded and its new value, and the actor; nothing is rewritten (posture repair is opt-in), and the sweep,
// finding the same, does not tell again.
func TestARedirectedArchiveIsAlertedFieldByField(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		EnableLogFileValidation: aws.Bool(true)})
	require.NoError(t, err)
	f.registerAgain(t)
	require.True(t, f.record(t).Target.Posture.LogFileValidation, "recorded at registration")

	_, err = s3.NewFromConfig(f.moto.Config(testbed.Region)).CreateBucket(f.ctx, &s3.CreateBucketInput{Bucket: aws.String("attacker-archive")})
	require.NoError(t, err)
	foreignKey := "arn:aws:kms:us-east-1:210987654321:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		S3BucketName: aws.String("attacker-archive"), KmsKeyId: aws.String(foreignKey), EnableLogFileValidation: aws.Bool(false)})
	require.NoError(t, err)
	f.rec.Reset()

	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.Empty(t, f.rec.ResourceWrites(), "reported, not repaired: posture repair is opt-in")
	got := f.notifications(t, 1)
	require.Len(t, got, 1)
	msg := got[0].Message
	assert.Contains(t, msg, "trail's S3BucketName changed from "+testbed.TrailBucket(testbed.TrailName)+" to attacker-archive")
	assert.Contains(t, msg, "trail's KmsKeyId changed from none to "+foreignKey)
	assert.Contains(t, msg, "trail's LogFileValidationEnabled changed from true to false")
	assert.Contains(t, msg, tamperer)
	assert.Equal(t, registry.Drifted, f.record(t).Status)

	require.NoError(t, f.deliver(t, "sweep"))
	assert.Len(t, f.notifications(t, 1), 1, "the sweep finds the same and does not tell again")
}

// Issue 19, case 5: selectors that still record management writes but leave out KMS's events (basic
// ExcludeManagementEventSources, or an advanced eventSource NotEquals) are a loss, alerted naming the field.
func TestSelectorsThatLeaveOutKMSAreAlerted(t *testing.T) {
	for name, in := range map[string]*cloudtrail.PutEventSelectorsInput{
		"basic": {EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll,
			ExcludeManagementEventSources: []string{"kms.amazonaws.com"}}}},
		"advanced": {AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{Name: aws.String("no kms"), FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}},
			{Field: aws.String("eventSource"), NotEquals: []string{"kms.amazonaws.com"}}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, spec.Spec{})
			in.TrailName = aws.String(testbed.TrailName)
			_, err := f.aws.CloudTrail.PutEventSelectors(f.ctx, in)
			require.NoError(t, err)

			require.NoError(t, f.deliver(t, "put-event-selectors"))
			assert.Empty(t, f.rec.ResourceWrites())
			got := f.notifications(t, 1)
			require.Len(t, got, 1)
			assert.Contains(t, got[0].Message, "trail's ExcludeManagementEventSources changed from none to kms.amazonaws.com")
			assert.NotContains(t, got[0].Message, "no longer records management write events", "it still does: the loss is KMS's events")
		})
	}
}

// A wider posture is not drift: validation turned on, more management events.
func TestAWiderPostureIsNotDrift(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.CloudTrail.PutEventSelectors(f.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(testbed.TrailName),
		EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeWriteOnly,
			ExcludeManagementEventSources: []string{"kms.amazonaws.com"}}}})
	require.NoError(t, err)
	f.registerAgain(t)
	_, err = f.aws.CloudTrail.PutEventSelectors(f.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(testbed.TrailName),
		EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll}}})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName), EnableLogFileValidation: aws.Bool(true)})
	require.NoError(t, err)
	f.rec.Reset()
	require.NoError(t, f.deliver(t, "sweep"))
	assert.Empty(t, f.rec.ResourceWrites())
	assert.Equal(t, registry.Compliant, f.record(t).Status)
}

// Issue 19, case 6: a trail deleted and re-created under the same name, with an attacker's bucket and no
// validation, is a new trail. Without its consent nothing is written and the refusal is told once; once its owner
// tags it for the registered stack it is wired, and the new bucket is reported, not accepted in silence.
func TestARecreatedTrailIsANewTrail(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		EnableLogFileValidation: aws.Bool(true)})
	require.NoError(t, err)
	f.registerAgain(t)
	_, err = f.aws.CloudTrail.DeleteTrail(f.ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(testbed.TrailName)})
	require.NoError(t, err)
	require.NoError(t, f.deliver(t, "delete-trail"))
	require.Equal(t, registry.Gone, f.record(t).Status)

	_, err = s3.NewFromConfig(f.moto.Config(testbed.Region)).CreateBucket(f.ctx, &s3.CreateBucketInput{Bucket: aws.String("attacker-archive")})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.CreateTrail(f.ctx, &cloudtrail.CreateTrailInput{Name: aws.String(testbed.TrailName),
		S3BucketName: aws.String("attacker-archive"), IsMultiRegionTrail: aws.Bool(true)})
	require.NoError(t, err)
	f.rec.Reset()
	require.NoError(t, f.deliver(t, "create-trail"))
	require.NoError(t, f.deliver(t, "sweep"))
	assert.Empty(t, f.rec.ResourceWrites(), "nothing written to a trail that has not consented")
	assert.False(t, f.linked(t))
	got := f.notifications(t, 2)
	require.Len(t, got, 2, "gone, then the refusal once (not again at the sweep)")
	assert.Contains(t, got[1].Message, "deleted and created again")
	assert.Contains(t, got[1].Message, delivery.TagManagedBy+"="+owner.StackID)

	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, owner.StackID))
	require.NoError(t, f.deliver(t, "sweep"))
	assert.True(t, f.linked(t), "consented: wired again")
	got = f.notifications(t, 3)
	require.Len(t, got, 3)
	assert.Contains(t, got[2].Message, "trail's S3BucketName changed from "+testbed.TrailBucket(testbed.TrailName)+" to attacker-archive")
	assert.Contains(t, got[2].Message, "trail's LogFileValidationEnabled changed from true to false")
}

// With RepairPosture, the same redirect is put back: the recorded bucket and validation, in one UpdateTrail.
func TestARedirectedArchiveIsPutBackWhenTheResourceOptsIn(t *testing.T) {
	f := newFixture(t, spec.Spec{RepairPosture: true})
	_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		EnableLogFileValidation: aws.Bool(true)})
	require.NoError(t, err)
	f.registerAgain(t)
	_, err = s3.NewFromConfig(f.moto.Config(testbed.Region)).CreateBucket(f.ctx, &s3.CreateBucketInput{Bucket: aws.String("attacker-archive")})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		S3BucketName: aws.String("attacker-archive"), EnableLogFileValidation: aws.Bool(false)})
	require.NoError(t, err)
	f.rec.Reset()

	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.Equal(t, 1, f.rec.Count("CloudTrail", "UpdateTrail"), "one write puts the archive back")
	tr, err := f.aws.CloudTrail.GetTrail(f.ctx, &cloudtrail.GetTrailInput{Name: aws.String(testbed.TrailName)})
	require.NoError(t, err)
	assert.Equal(t, testbed.TrailBucket(testbed.TrailName), aws.ToString(tr.Trail.S3BucketName))
	assert.True(t, aws.ToBool(tr.Trail.LogFileValidationEnabled))
	got := f.notifications(t, 1)
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Subject, "repaired")
	assert.Contains(t, got[0].Message, "trail's S3BucketName changed from "+testbed.TrailBucket(testbed.TrailName)+" to attacker-archive")
	assert.Equal(t, registry.Compliant, f.record(t).Status)
}

// Issue 19: the event configuration CloudTrail added in 2025 is part of the posture. Back to Standard-size events
// and a context key dropped (PutEventConfiguration) is alerted at its event, naming each field.
func TestAnEventConfigurationThatSaysLessIsAlerted(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.CloudTrail.PutEventConfiguration(f.ctx, &cloudtrail.PutEventConfigurationInput{TrailName: aws.String(testbed.TrailName),
		MaxEventSize: cttypes.MaxEventSizeLarge, ContextKeySelectors: []cttypes.ContextKeySelector{{Type: cttypes.TypeTagContext, Equals: []string{"team"}}}})
	require.NoError(t, err)
	f.registerAgain(t)
	require.Equal(t, "Large", f.record(t).Target.Posture.MaxEventSize, "recorded at registration")

	_, err = f.aws.CloudTrail.PutEventConfiguration(f.ctx, &cloudtrail.PutEventConfigurationInput{TrailName: aws.String(testbed.TrailName),
		MaxEventSize: cttypes.MaxEventSizeStandard})
	require.NoError(t, err)
	f.rec.Reset()
	require.NoError(t, f.deliver(t, "put-event-configuration"))
	assert.Empty(t, f.rec.ResourceWrites())
	got := f.notifications(t, 1)
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Message, "trail's MaxEventSize changed from Large to Standard")
	assert.Contains(t, got[0].Message, "trail's ContextKeySelectors changed from TagContext:team to none")
}
