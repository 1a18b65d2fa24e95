package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Tag keys trailguard puts on what it creates, so a person (and trailguard on Delete) can tell its resources apart.
// The tags are the one record of what trailguard created: they stay with the resource, whatever happens to the
// registry.
const (
	// TagCreatedBy=trailguard marks a log group a registration created: only such a group may be deleted, and only
	// by the Delete of the registration that created it.
	TagCreatedBy = "trailguard:created-by"
	// TagRecreatedBy=trailguard marks a log group trailguard recreated after someone deleted a group it had not
	// created: recreating must not make it look like trailguard's own.
	TagRecreatedBy = "trailguard:recreated-by"
	TagTrail       = "trailguard:trail"
	// TagManagedBy on a trail names the stack (by name or stack id) that may manage it: the trail owner's consent.
	TagManagedBy = "trailguard:managed-by"
	// TagRegisteredBy on a trail names the stack whose registration guards it, so that a registration removed from
	// the registry without a Delete is noticed by the sweep.
	TagRegisteredBy = "trailguard:registered-by"
	// tagValue is the value of the two tags above.
	tagValue = "trailguard"
)

// Result is what one reconciliation found and did.
type Result struct {
	// Found is the drift before any write.
	Found []Drift
	// Actions are the write calls made, in order (e.g. "CreateLogGroup", "UpdateTrail").
	Actions []string
	// Remaining is the drift still there after the repair: empty when the trail converged. Drift the target does
	// not ask to repair (stopped logging without EnforceLogging) stays here.
	Remaining []Drift
}

// Converged says whether nothing the target enforces is still drifting.
func (r Result) Converged(t Target) bool {
	return !slices.ContainsFunc(r.Remaining, func(d Drift) bool { return t.Repairs(d.Kind) })
}

// Repairs says whether Repair repairs this kind of drift for t. A deleted trail cannot be recreated without its
// bucket and settings, failing delivery has a cause only a person can find, and logging is restarted only when the
// target enforces it.
//
// A missing role and a changed trust policy are reported, never repaired: no trailguard function may create a role
// or write a trust policy, because either would let a compromised function grant itself rights (infra/README.md).
// Event selectors and the trail's scope are the trail owner's choice: a change that records less is reported.
func (t Target) Repairs(k DriftKind) bool {
	switch k {
	case TrailMissing, DeliveryFailing, DeliveryStale, RoleMissing, TrustChanged, SelectorsChanged, TrailNarrowed, PostureChanged, LogStreamDeleted:
		return false
	case LoggingStopped:
		return t.EnforceLogging
	case ArchiveChanged:
		return t.RepairPosture && t.Posture != nil
	}
	if repairs, known := packRepairs(k); known {
		return repairs
	}
	return true
}

// Reconcile checks the aspects, repairs what drifted in dependency order, and checks again. When nothing drifted it
// makes only the reads of Check.
func (e *Engine) Reconcile(ctx context.Context, t Target, aspects Aspect) (Result, error) {
	found, err := e.Check(ctx, t, aspects, nil)
	if err != nil {
		return Result{}, err
	}
	return e.Repair(ctx, t, found, aspects)
}

// Repair applies the repairs the found drift needs and verifies them by re-reading only the aspects it repaired;
// a relink is verified by UpdateTrail's own answer, which states the trail's new link, so it costs no read. Drift
// the target does not repair is returned as Remaining without a write.
func (e *Engine) Repair(ctx context.Context, t Target, found []Drift, aspects Aspect) (Result, error) {
	res := Result{Found: found, Remaining: found}
	if !slices.ContainsFunc(found, func(d Drift) bool { return t.Repairs(d.Kind) }) {
		return res, nil
	}
	actions, linked, err := e.apply(ctx, t, found)
	res.Actions = actions
	if err != nil {
		return res, err
	}
	verify := repairedAspects(t, found)
	var again []Drift
	if linked != nil {
		verify &^= AspectTrail
		again = trailDrifts(t, linked)
	}
	if verify != 0 {
		d, err := e.Check(ctx, t, verify, nil)
		if err != nil {
			return res, fmt.Errorf("verify repair of trail %s: %w", t.TrailARN, err)
		}
		again = append(again, d...)
	}
	// What was not re-read stands as found: drift trailguard does not repair, in aspects it did not touch.
	reread := verify | repairedAspects(t, found)
	res.Remaining = slices.DeleteFunc(slices.Clone(found), func(d Drift) bool { return reread&aspectOf(d.Kind) != 0 })
	res.Remaining = append(res.Remaining, again...)
	return res, nil
}

// repairedAspects are the aspects the repair of found writes to: the ones to verify.
func repairedAspects(t Target, found []Drift) Aspect {
	var a Aspect
	for _, d := range found {
		if !t.Repairs(d.Kind) {
			continue
		}
		a |= aspectOf(d.Kind)
		if relinks(d.Kind) {
			a |= AspectTrail
		}
	}
	return a
}

// relinks says whether repairing this drift ends with UpdateTrail: CloudTrail must be told again about a log
// group that was recreated.
func relinks(k DriftKind) bool {
	switch k {
	case TrailUnlinked, TrailLinkedElsewhere, LogGroupMissing:
		return true
	}
	return false
}

// aspectOf is the aspect a kind of drift is found in.
func aspectOf(k DriftKind) Aspect {
	switch k {
	case LogGroupMissing, RetentionChanged, DeletionProtectionOff, LogGroupKeyChanged:
		return AspectLogGroup
	case LogStreamDeleted:
		return 0 // nothing to read again: the stream's events are gone
	case RoleMissing, TrustChanged, PolicyMissing, PolicyChanged:
		return AspectRole
	case LoggingStopped:
		return AspectLogging
	case DeliveryFailing, DeliveryStale:
		return AspectDelivery
	case SelectorsChanged, NoisySelectors:
		return AspectSelectors
	}
	if _, known := packRepairs(k); known {
		return AspectPack
	}
	return AspectTrail // TrailMissing, TrailUnlinked, TrailLinkedElsewhere, TrailNarrowed
}

// apply repairs the given drift in dependency order: log group, role policy, trail link, logging. It writes only
// what the drift needs, and every write is safe to repeat. linked is the trail as UpdateTrail answered when it
// relinked it.
func (e *Engine) apply(ctx context.Context, t Target, drifts []Drift) (actions []string, linked *cttypes.Trail, err error) {
	has := func(kinds ...DriftKind) bool {
		return slices.ContainsFunc(drifts, func(d Drift) bool { return slices.Contains(kinds, d.Kind) })
	}
	did := func(action string) { actions = append(actions, action) }
	if has(TrailMissing) {
		return nil, nil, fmt.Errorf("trail %s was deleted: trailguard cannot recreate it (its bucket and settings are not known)", t.TrailARN)
	}
	if has(LogGroupMissing) {
		if err := e.createLogGroup(ctx, t); err != nil {
			return actions, nil, err
		}
		did("CreateLogGroup")
	}
	if has(LogGroupMissing, RetentionChanged) {
		action, err := e.restoreRetention(ctx, t)
		if err != nil {
			return actions, nil, err
		}
		did(action)
	}
	if has(LogGroupKeyChanged) {
		action, err := e.restoreKey(ctx, t)
		if err != nil {
			return actions, nil, err
		}
		did(action)
	}
	if has(DeletionProtectionOff) {
		if err := e.protect(ctx, t); err != nil {
			return actions, nil, err
		}
		did("PutLogGroupDeletionProtection")
	}
	if has(PolicyMissing, PolicyChanged) {
		if _, err := e.c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName: aws.String(t.RoleName), PolicyName: aws.String(t.PolicyName), PolicyDocument: aws.String(t.RolePolicy()),
		}); err != nil {
			return actions, nil, fmt.Errorf("put role policy %s on role %s: %w", t.PolicyName, t.RoleName, err)
		}
		e.log.InfoContext(ctx, "put role policy", "trail", t.TrailARN, "role", t.RoleName, "policy", t.PolicyName)
		did("PutRolePolicy")
	}
	if has(PackFilterMissing, PackFilterChanged, PackAlarmMissing, PackAlarmChanged) {
		done, err := e.applyPack(ctx, t, drifts)
		actions = append(actions, done...)
		if err != nil {
			return actions, nil, err
		}
	}
	if has(ArchiveChanged) && t.Repairs(ArchiveChanged) {
		// Before the relink, so that the relink's answer shows the archive as repaired.
		if err := e.restoreArchive(ctx, t); err != nil {
			return actions, nil, err
		}
		did("UpdateTrail")
	}
	if slices.ContainsFunc(drifts, func(d Drift) bool { return relinks(d.Kind) }) {
		out, err := e.link(ctx, t)
		if err != nil {
			return actions, nil, err
		}
		did("UpdateTrail")
		// UpdateTrail answers with the trail's new link; only a link that is there counts as confirmation.
		if aws.ToString(out.CloudWatchLogsLogGroupArn) != "" {
			linked = &cttypes.Trail{CloudWatchLogsLogGroupArn: out.CloudWatchLogsLogGroupArn, CloudWatchLogsRoleArn: out.CloudWatchLogsRoleArn,
				IncludeGlobalServiceEvents: out.IncludeGlobalServiceEvents, IsMultiRegionTrail: out.IsMultiRegionTrail,
				IsOrganizationTrail: out.IsOrganizationTrail, S3BucketName: out.S3BucketName, S3KeyPrefix: out.S3KeyPrefix,
				KmsKeyId: out.KmsKeyId, LogFileValidationEnabled: out.LogFileValidationEnabled}
		}
	}
	if has(LoggingStopped) && t.EnforceLogging {
		// By name: in the trail's home region and account the name is unambiguous, and moto, unlike AWS, accepts
		// nothing else here. From the delegated administrator only the ARN finds the trail.
		if _, err := e.c.CloudTrail.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(t.trailID())}); err != nil {
			return actions, nil, fmt.Errorf("start logging of trail %s: %w", t.TrailARN, err)
		}
		e.log.InfoContext(ctx, "started logging", "trail", t.TrailARN)
		did("StartLogging")
	}
	return actions, linked, nil
}

// createLogGroup creates the log group. It is tagged as trailguard's own only when this registration created it in
// the first place; a group someone else created and then deleted comes back tagged as recreated, so it never
// becomes deletable by trailguard. A group that already exists (a concurrent or repeated run created it) is left as
// it is.
func (e *Engine) createLogGroup(ctx context.Context, t Target) error {
	tags := map[string]string{TagRecreatedBy: tagValue, TagTrail: t.TrailARN}
	if t.CreatedLogGroup {
		tags = map[string]string{TagCreatedBy: tagValue, TagTrail: t.TrailARN}
	}
	in := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(t.LogGroupName), Tags: tags,
		DeletionProtectionEnabled: aws.Bool(!t.DeletionProtectionOff)}
	if t.KmsKeyID != "" {
		in.KmsKeyId = aws.String(t.KmsKeyID)
	}
	_, err := e.c.Logs.CreateLogGroup(ctx, in)
	var exists *cwltypes.ResourceAlreadyExistsException
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create log group %s: %w", t.LogGroupName, err)
	}
	e.log.InfoContext(ctx, "created log group", "trail", t.TrailARN, "log_group", t.LogGroupName, "recreated", !t.CreatedLogGroup)
	return nil
}

// restoreRetention gives the log group back the retention the target keeps: PutRetentionPolicy, or
// DeleteRetentionPolicy when the events are kept forever. It returns the call it made.
func (e *Engine) restoreRetention(ctx context.Context, t Target) (string, error) {
	if t.RetentionInDays == 0 {
		_, err := e.c.Logs.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String(t.LogGroupName)})
		if err != nil {
			return "", fmt.Errorf("restore never-expiring retention of log group %s: %w", t.LogGroupName, err)
		}
		return "DeleteRetentionPolicy", nil
	}
	if _, err := e.c.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName: aws.String(t.LogGroupName), RetentionInDays: aws.Int32(t.RetentionInDays),
	}); err != nil {
		return "", fmt.Errorf("set retention of log group %s to %d days: %w", t.LogGroupName, t.RetentionInDays, err)
	}
	return "PutRetentionPolicy", nil
}

// link points the trail at the target's log group and role. Right after a role or policy is created, CloudTrail may reject
// them until IAM has propagated, so those rejections are retried with capped exponential backoff, within the
// engine's propagation budget and the context's deadline.
func (e *Engine) link(ctx context.Context, t Target) (*cloudtrail.UpdateTrailOutput, error) {
	return e.linkTo(ctx, t, t.Link())
}

// linkTo points the trail at a link, retrying while IAM propagates. It returns CloudTrail's answer.
func (e *Engine) linkTo(ctx context.Context, t Target, l Link) (*cloudtrail.UpdateTrailOutput, error) {
	in := &cloudtrail.UpdateTrailInput{
		Name:                      aws.String(t.TrailARN),
		CloudWatchLogsLogGroupArn: aws.String(l.LogGroupARN),
		CloudWatchLogsRoleArn:     aws.String(l.RoleARN),
	}
	giveUp := e.now().Add(e.propagationTotal)
	wait := e.propagationBase
	for attempt := 1; ; attempt++ {
		out, err := e.c.CloudTrail.UpdateTrail(ctx, in)
		if err == nil {
			e.log.InfoContext(ctx, "linked trail to CloudWatch Logs", "trail", t.TrailARN, "log_group", l.LogGroupARN,
				"role", l.RoleARN, "attempts", attempt)
			return out, nil
		}
		retry, permanent := e.classifyLink(ctx, t, l, err)
		if !retry {
			return nil, permanent
		}
		if e.now().Add(wait).After(giveUp) || !hasTime(ctx, wait) {
			return nil, fmt.Errorf("%w (still rejected after %d attempts while waiting for IAM to propagate)", linkError(t, err), attempt)
		}
		e.log.InfoContext(ctx, "CloudTrail does not accept the role or log group yet; retrying", "trail", t.TrailARN,
			"attempt", attempt, "wait_ms", wait.Milliseconds(), "error", err.Error())
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", linkError(t, err), ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, e.propagationMax)
	}
}

func linkError(t Target, err error) error {
	var home *cttypes.InvalidHomeRegionException
	if errors.As(err, &home) {
		return fmt.Errorf("link trail %s: %w", t.TrailARN, homeRegionHint(err))
	}
	return fmt.Errorf("link trail %s to log group %s via role %s: %w", t.TrailARN, t.LogGroupName, t.RoleARN(), err)
}

// homeRegionHint says what to do when CloudTrail refuses an update from outside the trail's home region.
func homeRegionHint(err error) error {
	var home *cttypes.InvalidHomeRegionException
	if errors.As(err, &home) {
		return fmt.Errorf("CloudTrail says this region is not the trail's home region: update it from its home region: %w", err)
	}
	return err
}

// hasTime says whether the context leaves more than d before its deadline.
func hasTime(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}
