package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/trailguard/trailguard/internal/spec"
)

// Why UpdateTrail refused a link, as the AWS CloudTrail API Reference (UpdateTrail, "Errors" and "Request
// Parameters") documents each answer, and which of them waiting can heal. Only IAM propagation can: right after
// a role or its policy is written, CloudTrail answers InvalidCloudWatchLogsRoleArnException or
// InvalidCloudWatchLogsLogGroupArnException until IAM has propagated (observed behaviour that IAM's eventual
// consistency explains, "Changes that I make are not always immediately visible" in the IAM user guide; the
// CloudTrail guide does not say it). Everything else fails at once, saying what to fix, instead of spending the retry budget.

// LinkRefusedError is an UpdateTrail refusal no retry can heal.
type LinkRefusedError struct {
	Trail, Fix string
	Err        error
}

func (e *LinkRefusedError) Error() string {
	return fmt.Sprintf("CloudTrail refused to link trail %s: %s: %v", e.Trail, e.Fix, e.Err)
}

func (e *LinkRefusedError) Unwrap() error { return e.Err }

// classifyLink says whether an UpdateTrail error is worth retrying while IAM propagates, and otherwise returns the
// error to fail with at once. A log group or role refusal is retried only when the link itself is well formed and
// the log group exists: then the refusal can only be CloudTrail not yet seeing the role's new rights.
func (e *Engine) classifyLink(ctx context.Context, t Target, l Link, err error) (retry bool, permanent error) {
	refused := func(fix string) (bool, error) { return false, &LinkRefusedError{Trail: t.TrailARN, Fix: fix, Err: err} }
	var group *cttypes.InvalidCloudWatchLogsLogGroupArnException
	var role *cttypes.InvalidCloudWatchLogsRoleArnException
	var combination *cttypes.InvalidParameterCombinationException
	var unavailable *cttypes.CloudWatchLogsDeliveryUnavailableException
	switch {
	case errors.As(err, &unavailable):
		// "Cannot set a CloudWatch Logs delivery for this Region."
		return refused("CloudTrail cannot deliver to CloudWatch Logs in region " + t.HomeRegion + " (CloudWatchLogsDeliveryUnavailableException)")
	case errors.As(err, &combination):
		// "The combination of parameters provided is not valid": a role without a log group, or the reverse.
		return refused("a role ARN needs a log group ARN and the reverse (both set, or both empty)")
	case errors.As(err, &group):
		// "The provided CloudWatch Logs log group is not valid": the ARN must name a log group that exists in the
		// trail's account, ending in ":*".
		if !strings.HasSuffix(l.LogGroupARN, ":*") {
			return refused("the log group ARN " + l.LogGroupARN + " must end in \":*\"")
		}
		lg, perr := spec.ParseLogGroupARN(strings.TrimSuffix(l.LogGroupARN, ":*"))
		if perr != nil {
			return refused("the log group ARN " + l.LogGroupARN + " is not a log group ARN: " + perr.Error())
		}
		g, ferr := e.findLogGroup(ctx, lg.Name)
		if ferr == nil && g == nil {
			return refused("log group " + lg.Name + " does not exist (it must exist in the trail's account and region)")
		}
		return true, nil
	case errors.As(err, &role):
		// "The provided role is not valid": it must exist and CloudTrail must be able to assume it.
		if _, perr := spec.ParseRoleARN(l.RoleARN); perr != nil {
			return refused("the role ARN " + l.RoleARN + " is not a role ARN: " + perr.Error())
		}
		return true, nil
	}
	return false, linkError(t, err)
}
