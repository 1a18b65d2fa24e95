package testbed

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test bed's one emulation of an AWS behaviour moto 5.2.1 lacks (motoboot/sitecustomize.py): a trail's event
// configuration, answered as the AWS CloudTrail API Reference documents GetEventConfiguration and
// PutEventConfiguration for a trail.
func TestEventConfigurationAnswersAsAWSDocuments(t *testing.T) {
	NeedMoto(t)
	ctx := context.Background()
	s, err := Launch(ctx)
	require.NoError(t, err)
	defer s.Stop()
	a := NewAWS(s.Config(Region))
	arn, err := a.CreateTrail(ctx, TrailName, TrailOptions{})
	require.NoError(t, err)

	got, err := a.CloudTrail.GetEventConfiguration(ctx, &cloudtrail.GetEventConfigurationInput{TrailName: aws.String(TrailName)})
	require.NoError(t, err)
	assert.Equal(t, arn, aws.ToString(got.TrailARN))
	assert.Equal(t, cttypes.MaxEventSizeStandard, got.MaxEventSize, "Standard until set")
	assert.Empty(t, got.ContextKeySelectors)

	put, err := a.CloudTrail.PutEventConfiguration(ctx, &cloudtrail.PutEventConfigurationInput{TrailName: aws.String(arn),
		MaxEventSize: cttypes.MaxEventSizeLarge, ContextKeySelectors: []cttypes.ContextKeySelector{{Type: cttypes.TypeTagContext, Equals: []string{"team"}}}})
	require.NoError(t, err)
	assert.Equal(t, arn, aws.ToString(put.TrailARN))
	got, err = a.CloudTrail.GetEventConfiguration(ctx, &cloudtrail.GetEventConfigurationInput{TrailName: aws.String(arn)})
	require.NoError(t, err)
	assert.Equal(t, cttypes.MaxEventSizeLarge, got.MaxEventSize)
	assert.Equal(t, []cttypes.ContextKeySelector{{Type: cttypes.TypeTagContext, Equals: []string{"team"}}}, got.ContextKeySelectors)

	_, err = a.CloudTrail.GetEventConfiguration(ctx, &cloudtrail.GetEventConfigurationInput{TrailName: aws.String("no-such-trail")})
	var nf *cttypes.TrailNotFoundException
	assert.ErrorAs(t, err, &nf)
}
