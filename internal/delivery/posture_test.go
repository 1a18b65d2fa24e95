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

// Issue 19, case 3: an organization trail narrowed to one account (UpdateTrail --no-is-organization-trail) is a
// loss of what it recorded when registered: drift naming the field, reported, not repaired. The reverse (a trail
// that becomes an organization trail, validation turned on) is wider, and not drift.
func TestPostureLossIsDriftAndWiderIsNot(t *testing.T) {
	f := newFixture(t)
	orgID := f.organizationTrail(t, "org-trail")
	f.engine = f.newEngine(delivery.WithBoundaryOrganization(orgID))
	target := f.resolve(t, spec.Spec{TrailName: "org-trail"})
	require.NotNil(t, target.Posture)
	require.True(t, target.Posture.OrganizationTrail, "recorded at registration")
	_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)

	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("org-trail"),
		IsOrganizationTrail: aws.Bool(false), EnableLogFileValidation: aws.Bool(true)})
	require.NoError(t, err)
	f.rec.Reset()
	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectTrail)
	require.NoError(t, err)
	assert.Equal(t, []delivery.Drift{{Kind: delivery.PostureChanged, Field: "IsOrganizationTrail", Want: "true", Got: "false"}}, res.Found,
		"narrowed: drift; validation turned on: not")
	assert.Equal(t, "trail's IsOrganizationTrail changed from true to false", res.Found[0].String())
	assert.Empty(t, f.rec.Writes(), "reported, not repaired")
}
