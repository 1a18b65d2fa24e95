package delivery_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/spec"
)

// Issue 19: UpdateTrail errors told apart. Only what IAM propagation explains is retried; a refusal no wait can
// heal fails at the first answer, saying what to fix. The engine's propagation budget here is 2 s of 1 to 5 ms
// waits, so a retried refusal would make hundreds of attempts.
func TestUpdateTrailRefusalsThatCannotHealFailAtOnce(t *testing.T) {
	for name, tc := range map[string]struct {
		code, message string
		arrange       func(t *testing.T, f *fixture, target delivery.Target)
		fix           string
	}{
		"delivery unavailable in the region": {"CloudWatchLogsDeliveryUnavailableException", "Cannot set a CloudWatch Logs delivery for this Region.",
			nil, "CloudTrail cannot deliver to CloudWatch Logs in region us-east-1"},
		"a role without a log group": {"InvalidParameterCombinationException", "You must specify a log group ARN.",
			nil, "a role ARN needs a log group ARN"},
		"a log group that does not exist": {"InvalidCloudWatchLogsLogGroupArnException", "Log group does not exist.",
			func(t *testing.T, f *fixture, target delivery.Target) {
				require.NoError(t, f.aws.DeleteLogGroup(f.ctx, target.LogGroupName))
			}, "does not exist"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.trail(t, "management-trail")
			target := f.resolve(t, spec.Spec{TrailName: "management-trail"})
			_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
			require.NoError(t, err)
			_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(target.TrailARN),
				CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
			require.NoError(t, err)
			if tc.arrange != nil {
				tc.arrange(t, f, target)
			}
			f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Code: tc.code, Message: tc.message})
			before := f.rec.Count("CloudTrail", "UpdateTrail")
			_, err = f.engine.Reconcile(f.ctx, target, delivery.AspectTrail)
			var refused *delivery.LinkRefusedError
			require.ErrorAs(t, err, &refused)
			assert.Contains(t, err.Error(), tc.fix)
			assert.Contains(t, err.Error(), tc.code)
			assert.Equal(t, 1, f.rec.Count("CloudTrail", "UpdateTrail")-before, "one attempt: waiting cannot heal it")
		})
	}
}
