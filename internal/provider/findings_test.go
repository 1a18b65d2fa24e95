package provider_test

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
	"github.com/trailguard/trailguard/internal/notify"
)

// Issue 19: a trail registered as one region only, recording management writes only, is told once as a CIS finding
// (not drift): the registration stands, and an Update that changes nothing about it says nothing more.
func TestATrailShortOfTheCISAuditIsAFindingToldOnce(t *testing.T) {
	f := newFixture(t)
	_, err := f.aws.CloudTrail.CreateTrail(f.ctx, &cloudtrail.CreateTrailInput{Name: aws.String("regional-trail"),
		S3BucketName: aws.String(testbed.TrailBucket(testbed.TrailName))})
	require.NoError(t, err)
	trail := "arn:aws:cloudtrail:us-east-1:123456789012:trail/regional-trail"
	_, err = f.aws.CloudTrail.PutEventSelectors(f.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("regional-trail"),
		EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeWriteOnly}}})
	require.NoError(t, err)
	require.NoError(t, f.aws.TagTrail(f.ctx, trail, delivery.TagManagedBy, stackID))
	mine := func(ev map[string]any) {
		ev["PhysicalResourceId"] = trail
		props(ev)["TrailName"] = "regional-trail"
		delete(props(ev), "LogGroupName")
	}

	got := f.send(t, f.event(t, "create", mine))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	require.Len(t, f.notes.got, 1)
	d := f.notes.got[0]
	assert.Equal(t, notify.ActionFinding, d.Action)
	assert.Contains(t, d.Drift, "CIS: the trail is not multi-Region (IsMultiRegionTrail false)")
	assert.Contains(t, d.Drift, "CIS: the trail's management events are WriteOnly, not ReadWriteType All")

	got = f.send(t, f.event(t, "update", func(ev map[string]any) { mine(ev); props(ev)["RetentionInDays"] = "400" }))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	assert.Len(t, f.notes.got, 1, "told once")
}

// Found in review of issue 19: a stack Update re-reads the trail's posture. After someone moved the archive, only
// the trail's consented owner may accept the move by its Update, and a person is told; a stack admitted by a name
// keeps the registered posture, so the move stays drift.
func TestAnUpdateAcceptsALostPostureOnlyWithConsentAndSaysSo(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
	_, err := s3.NewFromConfig(f.moto.Config(testbed.Region)).CreateBucket(f.ctx, &s3.CreateBucketInput{Bucket: aws.String("elsewhere")})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName), S3BucketName: aws.String("elsewhere")})
	require.NoError(t, err)
	keep := func(ev map[string]any) { delete(props(ev), "LogGroupName"); props(ev)["RetentionInDays"] = "400" }

	// A name only: the registered posture is kept.
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, testbed.SampleStackName))
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "update", keep)).Body.Status)
	rec, _, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, testbed.TrailBucket(testbed.TrailName), rec.Target.Posture.S3BucketName)
	assert.Empty(t, f.notes.got)

	// The owner, by id: accepted, and said.
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, stackID))
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "update", keep)).Body.Status)
	rec, _, err = f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, "elsewhere", rec.Target.Posture.S3BucketName)
	require.Len(t, f.notes.got, 1)
	assert.Equal(t, notify.ActionPostureAccepted, f.notes.got[0].Action)
	assert.Contains(t, f.notes.got[0].Drift, "trail's S3BucketName changed from "+testbed.TrailBucket(testbed.TrailName)+" to elsewhere")
}
