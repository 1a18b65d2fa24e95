package testbed_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/testbed"
)

// The proxy must name calls as the in-process transport does, so one set of faults serves both.
func TestFaultProxyNamesCallsAndInjectsFaults(t *testing.T) {
	m := testbed.StartMoto(t)
	faults, rec := testbed.NewFaults(), &testbed.Recorder{}
	proxy, err := testbed.NewFaultProxy(m.URL(), faults, rec)
	require.NoError(t, err)
	defer proxy.Close()
	cfg := m.Config("us-east-1")
	cfg.BaseEndpoint = aws.String(proxy.URL())
	a := testbed.NewAWS(cfg)
	ctx := context.Background()

	faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Every: 2, Code: "InvalidHomeRegionException", Message: "home"})
	for i := range 4 {
		_, err := a.CloudTrail.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("missing-trail")})
		var home *cttypes.InvalidHomeRegionException
		assert.Equal(t, i%2 == 1, errors.As(err, &home), "call %d: %v", i+1, err)
	}
	_, err = a.IAM.ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err)
	assert.Equal(t, 2, faults.Injected())
	assert.Equal(t, 4, rec.Count("CloudTrail", "UpdateTrail"))
	assert.Equal(t, 1, rec.Count("IAM", "ListRoles"))
}
