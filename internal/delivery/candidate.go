package delivery

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// Candidate is what account-wide mode must know of a trail no stack registered before it resolves it: where the
// trail lives, whom it belongs to and where it delivers now. Reading it here keeps the remediator free of AWS
// service packages: every AWS call goes through the engine.
type Candidate struct {
	TrailARN, HomeRegion string
	OrganizationTrail    bool
	// Current is the trail's CloudWatch Logs delivery as it is: kept when the trail is adopted.
	Current Link
}

// ReadCandidate reads a trail account-wide mode may adopt. A trail CloudTrail does not know is a
// *TrailNotFoundError: nothing to adopt.
func (e *Engine) ReadCandidate(ctx context.Context, trail string) (Candidate, error) {
	out, err := e.c.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(trail)})
	var nf *cttypes.TrailNotFoundException
	if errors.As(err, &nf) {
		return Candidate{}, &TrailNotFoundError{Trail: trail, Region: e.region}
	}
	if err != nil {
		return Candidate{}, fmt.Errorf("read trail %s: %w", trail, err)
	}
	tr := out.Trail
	return Candidate{
		TrailARN: aws.ToString(tr.TrailARN), HomeRegion: aws.ToString(tr.HomeRegion),
		OrganizationTrail: aws.ToBool(tr.IsOrganizationTrail),
		Current:           Link{LogGroupARN: aws.ToString(tr.CloudWatchLogsLogGroupArn), RoleARN: aws.ToString(tr.CloudWatchLogsRoleArn)},
	}, nil
}
