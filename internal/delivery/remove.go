package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/trailguard/trailguard/internal/cis"
)

// Remove undoes the wiring: it gives the trail back the link it had before trailguard (or unlinks it), but only if
// it still points at this target's log group; it deletes this trail's inline policy; and it deletes the log group
// only if deleteLogGroup is set and the group is still the one this registration created (its tags say so). The
// caller decides deleteLogGroup: only it knows whether other registrations use the group. What is already gone is
// skipped, so Remove is safe to run twice. It returns the write calls it made.
func (e *Engine) Remove(ctx context.Context, t Target, deleteLogGroup bool) ([]string, error) {
	var actions []string
	if t.Pack.On() {
		// The pack is trailguard's own, named after the trail: it goes first, while the log group is still there.
		removed, err := e.RemovePack(ctx, t, cis.None, cis.None)
		actions = append(actions, removed...)
		if err != nil {
			return actions, err
		}
	}
	unlinked, err := e.unlink(ctx, t)
	if err != nil {
		return actions, err
	}
	if unlinked {
		actions = append(actions, "UpdateTrail")
	}
	released, err := e.ReleaseRole(ctx, t)
	actions = append(actions, released...)
	if err != nil {
		return actions, err
	}
	if deleteLogGroup {
		deleted, err := e.deleteLogGroupIfOurs(ctx, t)
		if err != nil {
			return actions, err
		}
		if deleted {
			actions = append(actions, "DeleteLogGroup")
		}
	}
	return actions, nil
}

// ReleaseRole deletes this trail's inline policy from the role. Roles themselves are never deleted: they are
// created at deploy time, or by their owner. The provider also calls it for the old role when an Update moves a
// trail to another role.
func (e *Engine) ReleaseRole(ctx context.Context, t Target) ([]string, error) {
	deleted, err := e.deleteRolePolicy(ctx, t)
	if err != nil || !deleted {
		return nil, err
	}
	return []string{"DeleteRolePolicy"}, nil
}

// deleteRolePolicy deletes this trail's inline policy if it is there. It reads first, so that a second Delete makes
// no write call at all.
func (e *Engine) deleteRolePolicy(ctx context.Context, t Target) (bool, error) {
	var nse *iamtypes.NoSuchEntityException
	_, err := e.c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(t.RoleName), PolicyName: aws.String(t.PolicyName)})
	if errors.As(err, &nse) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read role policy %s of role %s: %w", t.PolicyName, t.RoleName, err)
	}
	_, err = e.c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(t.RoleName), PolicyName: aws.String(t.PolicyName)})
	switch {
	case errors.As(err, &nse):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("delete role policy %s of role %s: %w", t.PolicyName, t.RoleName, err)
	}
	return true, nil
}

// deleteLogGroupIfOurs deletes the log group, with its data, only if its tags say trailguard created it for this
// trail and it was created after this registration: a tag can be put on any group by anyone with
// logs:TagResource, and a record by whoever can write the registry, but a creation time is CloudWatch Logs' own.
// Deletion protection, which trailguard keeps on, is turned off here and nowhere else, right before the delete.
func (e *Engine) deleteLogGroupIfOurs(ctx context.Context, t Target) (bool, error) {
	var nf *cwltypes.ResourceNotFoundException
	g, err := e.findLogGroup(ctx, t.LogGroupName)
	if err != nil || g == nil {
		return false, err
	}
	if !createdBy(g, t) {
		e.log.WarnContext(ctx, "kept log group: it is older than this registration, so this registration did not create it",
			"trail", t.TrailARN, "log_group", t.LogGroupName, "created", g.Created.UTC(), "registered", t.RegisteredAt.UTC())
		return false, nil
	}
	tags, err := e.c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{
		ResourceArn: aws.String(strings.TrimSuffix(t.LogGroupARN(), ":*")),
	})
	switch {
	case errors.As(err, &nf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read tags of log group %s: %w", t.LogGroupName, err)
	case tags.Tags[TagCreatedBy] != tagValue || tags.Tags[TagTrail] != t.TrailARN:
		e.log.InfoContext(ctx, "kept log group: trailguard did not create it for this trail", "trail", t.TrailARN,
			"log_group", t.LogGroupName)
		return false, nil
	}
	if g.Protected {
		if err := e.setProtection(ctx, t, false); err != nil {
			return false, err
		}
	}
	_, err = e.c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(t.LogGroupName)})
	switch {
	case errors.As(err, &nf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("delete log group %s: %w", t.LogGroupName, err)
	}
	e.log.InfoContext(ctx, "deleted log group", "trail", t.TrailARN, "log_group", t.LogGroupName)
	return true, nil
}

// unlink gives the trail back its previous link (or clears its CloudWatch Logs fields) if it still points at this
// target's log group. A trail someone relinked elsewhere, or a trail that is gone, is left alone.
func (e *Engine) unlink(ctx context.Context, t Target) (bool, error) {
	trail, err := e.readTrail(ctx, t, nil)
	if err != nil || trail == nil {
		return false, err
	}
	if !sameLogGroupARN(aws.ToString(trail.CloudWatchLogsLogGroupArn), t.LogGroupARN()) {
		return false, nil
	}
	if t.Previous != nil && t.Previous.Linked() {
		if _, err := e.linkTo(ctx, t, *t.Previous); err != nil {
			return false, fmt.Errorf("restore the previous link of trail %s: %w", t.TrailARN, err)
		}
		return true, nil
	}
	if _, err := e.c.CloudTrail.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{
		Name: aws.String(t.TrailARN), CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String(""),
	}); err != nil {
		return false, fmt.Errorf("unlink trail %s from CloudWatch Logs: %w", t.TrailARN, homeRegionHint(err))
	}
	e.log.InfoContext(ctx, "unlinked trail from CloudWatch Logs", "trail", t.TrailARN, "log_group", t.LogGroupName)
	return true, nil
}

// createdBy says whether the log group can have been created by the registration t: it was registered (RegisteredAt
// is set only by the provider) no later than the group's creation. The registration time is truncated to the
// second, so a second of clock difference between the function and CloudWatch Logs never keeps trailguard's own
// group; a group someone else created in that same second before the registration is the residual case.
func createdBy(g *logGroup, t Target) bool {
	return !t.RegisteredAt.IsZero() && !g.Created.Before(t.RegisteredAt.Truncate(time.Second))
}
