package testbed_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		helperLaunchMoto() // this binary is the child of TestMotoDiesWithItsParent
	}
	os.Exit(testbed.RunWithMoto(m))
}

// The injected errors must be the typed errors the SDK gives for real AWS answers, or the tests prove nothing.
func TestFaultsBecomeTheSDKsTypedErrors(t *testing.T) {
	m := testbed.StartMoto(t)
	ctx := context.Background()
	faults, rec := testbed.NewFaults(), &testbed.Recorder{}
	a := testbed.NewAWS(m.Config("us-east-1", testbed.WithFaults(faults), testbed.WithRecorder(rec)))

	faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Times: 1, Code: "InvalidHomeRegionException", Message: "home"})
	_, err := a.CloudTrail.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("missing-trail")})
	var home *cttypes.InvalidHomeRegionException
	assert.True(t, errors.As(err, &home), "JSON protocol: %v", err)

	faults.Add(testbed.Fault{Service: "IAM", Operation: "GetRole", Times: 1, Code: "NoSuchEntity", Message: "no role"})
	_, err = a.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
	var nse *iamtypes.NoSuchEntityException
	assert.True(t, errors.As(err, &nse), "query protocol: %v", err)

	faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "GetTrailStatus", Times: 1, Reply: `{"IsLogging":true,"LatestCloudWatchLogsDeliveryError":"denied"}`})
	out, err := a.CloudTrail.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("missing-trail")})
	require.NoError(t, err)
	assert.Equal(t, "denied", aws.ToString(out.LatestCloudWatchLogsDeliveryError))

	// Used up: the next call reaches moto, which does not know the trail.
	_, err = a.CloudTrail.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("missing-trail")})
	var nf *cttypes.TrailNotFoundException
	assert.True(t, errors.As(err, &nf), "%v", err)
	assert.Equal(t, 3, faults.Injected())
	assert.Equal(t, []string{"CloudTrail.UpdateTrail"}, rec.Writes())
	assert.Equal(t, 2, rec.Count("CloudTrail", "GetTrailStatus"))
}
