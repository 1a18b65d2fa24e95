package remediator_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/spec"
)

// Issue 19, cases 4 and 5 through the built remediator bootstrap: the archive redirected in one UpdateTrail, then
// KMS's events left out by a selector, each alerted at its event naming the field and both values.
func TestBinaryAlertsOnALostPosture(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		EnableLogFileValidation: aws.Bool(true)})
	require.NoError(t, err)
	f.registerAgain(t)
	b := f.startBinary(t)
	invoke := func(name string) { t.Helper(); b.mustInvoke(t, name) }

	_, err = s3.NewFromConfig(f.moto.Config(testbed.Region)).CreateBucket(f.ctx, &s3.CreateBucketInput{Bucket: aws.String("attacker-archive")})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		S3BucketName: aws.String("attacker-archive"), EnableLogFileValidation: aws.Bool(false)})
	require.NoError(t, err)
	invoke("update-trail-cleared")
	got := f.notifications(t, 1)
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Message, "trail's S3BucketName changed from "+testbed.TrailBucket(testbed.TrailName)+" to attacker-archive")
	assert.Contains(t, got[0].Message, "trail's LogFileValidationEnabled changed from true to false")

	_, err = f.aws.CloudTrail.PutEventSelectors(f.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(testbed.TrailName),
		EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll,
			ExcludeManagementEventSources: []string{"kms.amazonaws.com"}}}})
	require.NoError(t, err)
	invoke("put-event-selectors")
	got = f.notifications(t, 2)
	require.Len(t, got, 2)
	assert.Contains(t, got[1].Message, "trail's ExcludeManagementEventSources changed from none to kms.amazonaws.com")
	tr, err := f.aws.CloudTrail.GetTrail(f.ctx, &cloudtrail.GetTrailInput{Name: aws.String(testbed.TrailName)})
	require.NoError(t, err)
	assert.Equal(t, "attacker-archive", aws.ToString(tr.Trail.S3BucketName), "reported, not rewritten: posture repair is opt-in")
}
