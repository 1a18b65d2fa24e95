package delivery_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/spec"
)

// A sweep over a registered trail that was deleted reports it gone, whatever else it reads: the selectors' read
// finds no trail, and the sweep's other findings on those selectors must not read what is not there.
func TestASweepOverADeletedTrailReportsItGone(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "doomed")
	target := f.resolve(t, spec.Spec{TrailName: "doomed"})
	require.True(t, target.ManagementEvents, "the selectors are read at every check")
	_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.DeleteTrail(f.ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("doomed")})
	require.NoError(t, err)

	drifts, err := f.engine.Check(f.ctx, target, delivery.AspectAll|delivery.AspectDelivery, nil)
	require.NoError(t, err)
	require.NotEmpty(t, drifts)
	for _, d := range drifts {
		assert.Equal(t, delivery.TrailMissing, d.Kind, "%v", d)
	}
}
