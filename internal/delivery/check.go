package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"

	"github.com/trailguard/trailguard/internal/spec"
)

// Aspect is a part of the delivery that Check reads. The remediator reads only the aspects an event can have
// changed, so that a no-op event costs one read.
type Aspect uint8

const (
	// AspectTrail is the trail's CloudWatch Logs link (GetTrail).
	AspectTrail Aspect = 1 << iota
	// AspectLogging is whether the trail is logging (GetTrailStatus).
	AspectLogging
	// AspectLogGroup is the log group and its retention (DescribeLogGroups).
	AspectLogGroup
	// AspectRole is the role, its trust policy and the trail's inline policy (GetRole, GetRolePolicy).
	AspectRole
	// AspectDelivery is whether CloudTrail actually delivers: no delivery error, a recent delivery
	// (GetTrailStatus, read once with AspectLogging).
	AspectDelivery
	// AspectSelectors is what the trail records: its event selectors (GetEventSelectors) and, for a trail whose
	// posture is recorded, its event configuration (GetEventConfiguration).
	AspectSelectors
	// AspectAll is every aspect of the wiring, in dependency order.
	AspectAll = AspectTrail | AspectLogging | AspectLogGroup | AspectRole | AspectSelectors | AspectPack
)

// DriftKind names one way the live state differs from the desired state.
type DriftKind string

// The kinds of drift, in the order they are repaired.
const (
	TrailMissing         DriftKind = "trail-missing"
	LogGroupMissing      DriftKind = "log-group-missing"
	RetentionChanged     DriftKind = "retention-changed"
	RoleMissing          DriftKind = "role-missing"
	TrustChanged         DriftKind = "trust-changed"
	PolicyMissing        DriftKind = "policy-missing"
	PolicyChanged        DriftKind = "policy-changed"
	TrailUnlinked        DriftKind = "trail-unlinked"
	TrailLinkedElsewhere DriftKind = "trail-linked-elsewhere"
	LoggingStopped       DriftKind = "logging-stopped"
	// DeliveryFailing and DeliveryStale are reported, never repaired: the wiring looks right but events do not arrive.
	DeliveryFailing DriftKind = "delivery-failing"
	DeliveryStale   DriftKind = "delivery-stale"
	// TrailNarrowed means the trail no longer records global services' events or other regions' events although it
	// did when registered. Reported, never repaired: the scope of a trail is its owner's choice.
	TrailNarrowed DriftKind = "trail-narrowed"
	// SelectorsChanged means the trail no longer records management write events: the trail still delivers, but
	// what an attacker does next is no longer in it. Reported, never repaired.
	SelectorsChanged DriftKind = "selectors-changed"
)

// Drift is one difference between live and desired state, with both sides for the person reading the alert.
type Drift struct {
	Kind DriftKind `json:"kind"`
	// Field names the setting that changed, for drift of one of several settings (PostureChanged).
	Field string `json:"field,omitempty"`
	Want  string `json:"want,omitempty"`
	Got   string `json:"got,omitempty"`
}

func (d Drift) String() string {
	switch d.Kind {
	case TrailMissing:
		return fmt.Sprintf("trail %s no longer exists", d.Want)
	case LogGroupMissing:
		return fmt.Sprintf("log group %s is missing", d.Want)
	case RetentionChanged:
		return fmt.Sprintf("log group retention is %s, want at least %s", d.Got, d.Want)
	case RoleMissing:
		return fmt.Sprintf("role %s is missing (trailguard does not create roles: redeploy the provider stack or recreate it)", d.Want)
	case TrustChanged:
		return fmt.Sprintf("role %s no longer lets cloudtrail.amazonaws.com assume it", d.Want)
	case SelectorsChanged:
		return fmt.Sprintf("trail no longer records management write events (event selectors: %s)", d.Got)
	case TrailNarrowed:
		return fmt.Sprintf("trail no longer records %s", d.Got)
	case PolicyMissing:
		return fmt.Sprintf("role policy %s is missing", d.Want)
	case PolicyChanged:
		return fmt.Sprintf("role policy %s was changed", d.Want)
	case TrailUnlinked:
		return fmt.Sprintf("trail does not deliver to CloudWatch Logs (%s); want %s", d.Got, d.Want)
	case TrailLinkedElsewhere:
		return fmt.Sprintf("trail delivers to %s, want %s", d.Got, d.Want)
	case LoggingStopped:
		return "trail logging is stopped"
	case DeliveryFailing:
		return fmt.Sprintf("CloudTrail reports a CloudWatch Logs delivery error: %s", d.Got)
	case DeliveryStale:
		return fmt.Sprintf("no delivery to CloudWatch Logs since %s (allowed: %s)", d.Got, d.Want)
	case DeletionProtectionOff, LogGroupKeyChanged, LogStreamDeleted:
		return d.guardText()
	case PostureChanged, ArchiveChanged:
		return postureText(d)
	}
	if s := packDriftString(d); s != "" {
		return s
	}
	return string(d.Kind)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Check reads the given aspects of the live state and returns every drift from t, in repair order. It writes
// nothing. The aspects are read concurrently, so a check costs one round trip whatever it reads. A missing trail is
// reported as TrailMissing alone. sh shares reads between the trails of one sweep or event (nil shares nothing): the
// trail's configuration comes from ShareRegion's one DescribeTrails or ShareTrail's GetTrail, and a role several
// trails use is read once.
func (e *Engine) Check(ctx context.Context, t Target, aspects Aspect, sh *Shared) ([]Drift, error) {
	if t.HomeRegion != e.region {
		return nil, &ShadowTrailError{Trail: t.TrailARN, Region: e.region, HomeRegion: t.HomeRegion}
	}
	var link, group, role, selectors, status, pack []Drift
	var reads errgroup.Group
	if aspects&AspectTrail != 0 {
		reads.Go(func() (err error) {
			trail, err := e.readTrail(ctx, t, sh)
			if err == nil && trail != nil {
				link = trailDrifts(t, trail)
			} else if err == nil {
				link = []Drift{{Kind: TrailMissing, Want: t.TrailARN}}
			}
			return err
		})
	}
	if aspects&AspectLogGroup != 0 {
		reads.Go(func() (err error) { group, err = e.checkLogGroup(ctx, t); return err })
	}
	if aspects&AspectRole != 0 {
		reads.Go(func() (err error) { role, err = e.checkRole(ctx, t, sh); return err })
	}
	var config []Drift
	if aspects&AspectSelectors != 0 && t.Posture != nil {
		reads.Go(func() error {
			live := *t.Posture
			err := e.eventConfiguration(ctx, t.TrailARN, &live)
			var nf *cttypes.TrailNotFoundException
			switch {
			case errors.As(err, &nf):
				config, err = []Drift{{Kind: TrailMissing, Want: t.TrailARN}}, nil
			case err == nil:
				want := *t.Posture
				want.ReadWriteType, want.ExcludedSources, want.OnlySources = "", nil, nil // compared with the selectors
				live.ReadWriteType, live.ExcludedSources, live.OnlySources = "", nil, nil
				config = postureLoss(want, live, true)
			}
			return err
		})
	}
	if aspects&AspectSelectors != 0 && (t.ManagementEvents || t.Posture != nil) {
		reads.Go(func() error {
			out, err := e.getSelectors(ctx, t)
			var nf *cttypes.TrailNotFoundException
			switch {
			case errors.As(err, &nf):
				selectors, err = []Drift{{Kind: TrailMissing, Want: t.TrailARN}}, nil
			case err != nil:
			case t.ManagementEvents && !recordsManagementWrites(out.EventSelectors, out.AdvancedEventSelectors):
				selectors = []Drift{{Kind: SelectorsChanged, Want: "management write events", Got: describeSelectors(out)}}
			}
			if err == nil && t.Posture != nil && selectors == nil {
				want, live := *t.Posture, *t.Posture
				want.MaxEventSize, want.ContextKeys = "", nil // compared with the event configuration
				live.MaxEventSize, live.ContextKeys = "", nil
				live.ReadWriteType, live.ExcludedSources, live.OnlySources = managementScope(out.EventSelectors, out.AdvancedEventSelectors)
				selectors = postureLoss(want, live, true)
			}
			if err == nil && out != nil && aspects&AspectDelivery != 0 { // out is nil for a trail that is gone
				selectors = append(selectors, noisy(out)...) // a sweep's finding (pack.go)
			}
			return err
		})
	}
	if aspects&AspectPack != 0 && t.Pack.On() {
		sweep := aspects&AspectDelivery != 0 // only a sweep reads every aspect (trigger.SweepAspects)
		reads.Go(func() (err error) { pack, err = e.checkPack(ctx, t, sweep); return err })
	}
	if aspects&(AspectLogging|AspectDelivery) != 0 {
		reads.Go(func() (err error) { status, err = e.checkStatus(ctx, t, aspects); return err })
	}
	if err := reads.Wait(); err != nil {
		return nil, err
	}
	var drifts []Drift
	for _, d := range [][]Drift{group, role, link, selectors, config, status, pack} {
		if slices.ContainsFunc(d, func(d Drift) bool { return d.Kind == TrailMissing }) {
			return []Drift{{Kind: TrailMissing, Want: t.TrailARN}}, nil
		}
		drifts = append(drifts, d...)
	}
	return drifts, nil
}

// readTrail reads the trail's configuration, from the sweep's shared DescribeTrails when there is one. nil means
// the trail does not exist.
func (e *Engine) readTrail(ctx context.Context, t Target, sh *Shared) (*cttypes.Trail, error) {
	if sh != nil && t.TrailAccount == "" {
		// A delegated administrator's organization trail is not among this account's trails: read by ARN.
		return sh.trails[t.TrailARN], nil
	}
	out, err := e.c.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(t.TrailARN)})
	var nf *cttypes.TrailNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read trail %s: %w", t.TrailARN, err)
	}
	return out.Trail, nil
}

// checkStatus reads GetTrailStatus once for logging and delivery health.
func (e *Engine) checkStatus(ctx context.Context, t Target, aspects Aspect) ([]Drift, error) {
	out, err := e.c.CloudTrail.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(t.TrailARN)})
	var nf *cttypes.TrailNotFoundException
	if errors.As(err, &nf) {
		return []Drift{{Kind: TrailMissing, Want: t.TrailARN}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read status of trail %s: %w", t.TrailARN, err)
	}
	logging := aws.ToBool(out.IsLogging)
	var drifts []Drift
	if aspects&AspectLogging != 0 && !logging {
		drifts = append(drifts, Drift{Kind: LoggingStopped, Want: "logging", Got: "stopped"})
	}
	if aspects&AspectDelivery == 0 {
		return drifts, nil
	}
	if msg := aws.ToString(out.LatestCloudWatchLogsDeliveryError); msg != "" {
		drifts = append(drifts, Drift{Kind: DeliveryFailing, Got: msg})
	} else if last := out.LatestCloudWatchLogsDeliveryTime; logging && last != nil && !last.IsZero() && e.now().Sub(*last) > e.maxDeliveryAge {
		drifts = append(drifts, Drift{Kind: DeliveryStale, Want: e.maxDeliveryAge.String(), Got: last.UTC().Format(time.RFC3339)})
	}
	return drifts, nil
}

// trailDrifts is every drift the trail's own configuration shows: its link, its scope and its posture.
func trailDrifts(t Target, trail *cttypes.Trail) []Drift {
	out := append(checkLink(t, trail), checkScope(t, trail)...)
	if t.Posture != nil {
		out = append(out, postureLoss(*t.Posture, postureOf(trail, nil), false)...)
	}
	return out
}

// checkLink compares the trail's CloudWatch Logs fields with the target. A cleared field may come back empty or
// absent, so both count as unset.
func checkLink(t Target, trail *cttypes.Trail) []Drift {
	gotGroup, gotRole := aws.ToString(trail.CloudWatchLogsLogGroupArn), aws.ToString(trail.CloudWatchLogsRoleArn)
	if gotGroup == "" || gotRole == "" {
		return []Drift{{Kind: TrailUnlinked, Want: t.LogGroupARN() + " via " + t.RoleARN(),
			Got: "log group " + orNone(gotGroup) + ", role " + orNone(gotRole)}}
	}
	if !sameLogGroupARN(gotGroup, t.LogGroupARN()) || gotRole != t.RoleARN() {
		return []Drift{{Kind: TrailLinkedElsewhere, Want: t.LogGroupARN() + " via " + t.RoleARN(), Got: gotGroup + " via " + gotRole}}
	}
	return nil
}

// checkScope reports a trail that records less than it did when registered: no more global services' events (IAM,
// STS: who changed which role), or only its home region's.
func checkScope(t Target, trail *cttypes.Trail) []Drift {
	var lost []string
	if t.GlobalServiceEvents && !aws.ToBool(trail.IncludeGlobalServiceEvents) {
		lost = append(lost, "global services' events (IAM, STS)")
	}
	if t.MultiRegion && !aws.ToBool(trail.IsMultiRegionTrail) {
		lost = append(lost, "other regions' events")
	}
	if len(lost) == 0 {
		return nil
	}
	return []Drift{{Kind: TrailNarrowed, Want: "what it recorded when registered", Got: strings.Join(lost, " or ")}}
}

// sameLogGroupARN compares log group ARNs with or without the ":*" suffix.
func sameLogGroupARN(a, b string) bool {
	return strings.TrimSuffix(a, ":*") == strings.TrimSuffix(b, ":*")
}

func (e *Engine) checkLogGroup(ctx context.Context, t Target) ([]Drift, error) {
	group, err := e.findLogGroup(ctx, t.LogGroupName)
	if err != nil {
		return nil, err
	}
	if group == nil {
		return []Drift{{Kind: LogGroupMissing, Want: t.LogGroupName}}, nil
	}
	var drifts []Drift
	if got := aws.ToInt32(group.RetentionInDays); spec.ShorterRetention(got, t.RetentionInDays) {
		drifts = append(drifts, Drift{Kind: RetentionChanged, Want: spec.RetentionText(t.RetentionInDays), Got: spec.RetentionText(got)})
	}
	return append(drifts, checkGuard(t, group)...), nil
}

type logGroup struct {
	RetentionInDays *int32
	KmsKeyID        string
	// Protected is CloudWatch Logs deletion protection.
	Protected bool
	// Created is the group's creation time, which CloudWatch Logs sets and nobody can change.
	Created time.Time
}

// findLogGroup looks a log group up by exact name; nil means it does not exist.
func (e *Engine) findLogGroup(ctx context.Context, name string) (*logGroup, error) {
	in := &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)}
	for {
		out, err := e.c.Logs.DescribeLogGroups(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read log group %s: %w", name, err)
		}
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) == name {
				return &logGroup{RetentionInDays: g.RetentionInDays, KmsKeyID: aws.ToString(g.KmsKeyId),
					Protected: aws.ToBool(g.DeletionProtectionEnabled), Created: time.UnixMilli(aws.ToInt64(g.CreationTime))}, nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil, nil
		}
		in.NextToken = out.NextToken
	}
}

func (e *Engine) checkRole(ctx context.Context, t Target, sh *Shared) ([]Drift, error) {
	var role *iamtypes.Role
	var pol *iam.GetRolePolicyOutput
	var roleErr, polErr error
	var reads errgroup.Group
	reads.Go(func() error { role, roleErr = sh.role(ctx, e.c.IAM, t.RoleName); return nil })
	reads.Go(func() error {
		pol, polErr = e.c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(t.RoleName), PolicyName: aws.String(t.PolicyName)})
		return nil
	})
	_ = reads.Wait()
	var nse *iamtypes.NoSuchEntityException
	if errors.As(roleErr, &nse) {
		// Its policy went with it; nothing can be put back until a person recreates the role.
		return []Drift{{Kind: RoleMissing, Want: t.RoleName}}, nil
	}
	if roleErr != nil {
		return nil, fmt.Errorf("read role %s: %w", t.RoleName, roleErr)
	}
	var drifts []Drift
	if !trustsCloudTrail(aws.ToString(role.AssumeRolePolicyDocument), t) {
		drifts = append(drifts, Drift{Kind: TrustChanged, Want: t.RoleName})
	}
	switch {
	case errors.As(polErr, &nse):
		drifts = append(drifts, Drift{Kind: PolicyMissing, Want: t.PolicyName})
	case polErr != nil:
		return nil, fmt.Errorf("read role policy %s of role %s: %w", t.PolicyName, t.RoleName, polErr)
	case !samePolicy(aws.ToString(pol.PolicyDocument), t.RolePolicy()):
		drifts = append(drifts, Drift{Kind: PolicyChanged, Want: t.PolicyName})
	}
	return drifts, nil
}

// getSelectors reads the trail's event selectors.
func (e *Engine) getSelectors(ctx context.Context, t Target) (*cloudtrail.GetEventSelectorsOutput, error) {
	out, err := e.c.CloudTrail.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(t.TrailARN)})
	if err != nil {
		return nil, fmt.Errorf("read event selectors of trail %s: %w", t.TrailARN, err)
	}
	return out, nil
}

// recordsManagementWrites applies CloudTrail's selector rules: a basic selector that includes management events
// with ReadWriteType All or WriteOnly, or an advanced selector on eventCategory Management that does not keep only
// read-only events.
func recordsManagementWrites(basic []cttypes.EventSelector, advanced []cttypes.AdvancedEventSelector) bool {
	if len(basic) == 0 && len(advanced) == 0 {
		return true
	}
	for _, s := range basic {
		if aws.ToBool(s.IncludeManagementEvents) && s.ReadWriteType != cttypes.ReadWriteTypeReadOnly {
			return true
		}
	}
	for _, s := range advanced {
		management, readOnly := false, false
		for _, f := range s.FieldSelectors {
			switch aws.ToString(f.Field) {
			case "eventCategory":
				management = slices.Contains(f.Equals, "Management")
			case "readOnly":
				readOnly = slices.Contains(f.Equals, "true") || slices.Contains(f.NotEquals, "false")
			}
		}
		if management && !readOnly {
			return true
		}
	}
	return false
}

func describeSelectors(out *cloudtrail.GetEventSelectorsOutput) string {
	var parts []string
	for _, s := range out.EventSelectors {
		parts = append(parts, fmt.Sprintf("management=%t readWrite=%s", aws.ToBool(s.IncludeManagementEvents), s.ReadWriteType))
	}
	for _, s := range out.AdvancedEventSelectors {
		parts = append(parts, "advanced "+strings.ReplaceAll(orNone(aws.ToString(s.Name)), " ", "_"))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}
