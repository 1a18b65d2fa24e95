package remediator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
	"github.com/trailguard/trailguard/internal/trigger"
)

// TagOptOut is the tag that, set to "true" on a trail, keeps account-wide mode from adopting it. It counts when trailguard first
// sees the trail (or while the trail is still unguarded), never against a trail already adopted: otherwise whoever
// may tag a trail could switch its protection off and then unlink it. To stop guarding an adopted trail, declare
// it in a stack with Remediation off.
const TagOptOut = "trailguard:opt-out"

// AccountPolicy is account-wide mode: the remediator guards every trail of its account and region, declared or
// not. A trail no stack registered gets Defaults as its desired state, resolved by the same engine.Resolve and
// checked by the same rules as the provider's, and is registered as owned by registry.AccountPolicy.
type AccountPolicy struct {
	// Defaults is the desired state of an adopted trail; TrailName is set per trail. Only the retention, the key
	// and the mode are meant to be set (NewAccountPolicy checks them).
	Defaults spec.Spec
}

// NewAccountPolicy checks the account policy's defaults with the provider's own parser, so a default the provider
// would refuse in a template is refused here, naming the property. Remediation off would adopt trails only to
// leave them alone, so it is refused too.
func NewAccountPolicy(retentionInDays, kmsKeyID, remediation string) (*AccountPolicy, error) {
	props := map[string]any{"TrailName": "account-policy"}
	if retentionInDays != "" {
		props["RetentionInDays"] = retentionInDays
	}
	if kmsKeyID != "" {
		props["KmsKeyId"] = kmsKeyID
	}
	if remediation != "" {
		props["Remediation"] = remediation
	}
	s, err := spec.Parse(props)
	if err != nil {
		return nil, fmt.Errorf("account policy defaults: %w", err)
	}
	if s.Remediation == spec.Off {
		return nil, errors.New("account policy defaults: property Remediation: must be enforce or report in account-wide mode " +
			"(off would adopt every trail only to leave it alone; turn account-wide mode off instead)")
	}
	s.TrailName = ""
	return &AccountPolicy{Defaults: s}, nil
}

// SetDeletionProtection sets the account policy's DeletionProtection ("true", the default when empty, or "false"),
// checked by the provider's parser so the setting is refused as the property would be.
func (p *AccountPolicy) SetDeletionProtection(value string) error {
	if value == "" {
		return nil
	}
	s, err := spec.Parse(map[string]any{"TrailName": "account-policy", "DeletionProtection": value})
	if err != nil {
		return fmt.Errorf("account policy defaults: %w", err)
	}
	p.Defaults.DeletionProtectionOff = s.DeletionProtectionOff
	return nil
}

// WithMonitoringPack sets the CIS monitoring pack the account policy keeps on an adopted trail's log group (set
// "cis" or "cis-v5"; empty: none) and the topic its alarms notify (empty: the provider's notification topic),
// checked by the provider's own parser.
func (p *AccountPolicy) WithMonitoringPack(set, topic string) error {
	props := map[string]any{"TrailName": "account-policy"}
	if set != "" {
		props["MonitoringPack"] = set
	}
	if topic != "" {
		props["AlarmTopicArn"] = topic
	}
	s, err := spec.Parse(props)
	if err != nil {
		return fmt.Errorf("account policy defaults: %w", err)
	}
	p.Defaults.MonitoringPack, p.Defaults.AlarmTopicARN = s.MonitoringPack, s.AlarmTopicARN
	return nil
}

// WithAccountPolicy turns account-wide mode on.
func WithAccountPolicy(p *AccountPolicy) Option { return func(r *Remediator) { r.account = p } }

// unguardedPolicyRecord says whether a record is one the account policy keeps only to remember an opt-out or a
// refusal: such a trail is looked at again at every sweep, and adopted once the reason is gone.
func unguardedPolicyRecord(rec registry.Record) bool {
	return rec.Owner == registry.AccountPolicy && rec.Spec.Remediation == spec.Off
}

// adoptCandidates lists what a sweep in account-wide mode looks at beyond the registered trails: every trail of
// the region without a record, and the account policy's unguarded records. Trails of another account (an
// organization trail's copy in a member account) are left to their owner without a call.
func (r *Remediator) adoptCandidates(recs []registry.Record, sh *delivery.Shared, account string) (trails []string, unguarded map[string]registry.Record) {
	unguarded = map[string]registry.Record{}
	for _, rec := range recs {
		if unguardedPolicyRecord(rec) {
			unguarded[rec.TrailARN] = rec
		}
	}
	for _, trailARN := range sh.TrailARNs() {
		a, err := spec.ParseTrailARN(trailARN)
		if err != nil || a.Account != account || a.Region != r.engine.Region() {
			continue
		}
		if _, ok := unguarded[trailARN]; ok || !slices.ContainsFunc(recs, func(rec registry.Record) bool { return rec.TrailARN == trailARN }) {
			trails = append(trails, trailARN)
		}
	}
	slices.Sort(trails)
	return trails, unguarded
}

// adopt applies the account policy to one trail that no stack registered: it leaves alone a shadow copy or
// another account's trail (without telling anyone: it is its owner's), remembers and reports once a trail that
// opts out or cannot be guarded, and otherwise registers the trail with the policy's desired state and decides on
// its drift at once. prior is the account policy's unguarded record of the trail, if any.
func (r *Remediator) adopt(ctx context.Context, trig trigger.Trigger, trail string, prior *registry.Record, account string,
	sh *delivery.Shared, start time.Time) error {
	p := r.account
	c, err := r.engine.ReadCandidate(ctx, trail)
	var nf *delivery.TrailNotFoundError
	if errors.As(err, &nf) {
		r.log.InfoContext(ctx, "account policy: trail not found, nothing to adopt", "trail", trail, "event_id", trig.EventID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("account policy: %w", err)
	}
	trailARN := c.TrailARN
	a, err := spec.ParseTrailARN(trailARN)
	if err != nil {
		return fmt.Errorf("account policy: trail %s: CloudTrail returned an unexpected ARN: %w", trail, err)
	}
	switch {
	case c.HomeRegion != "" && c.HomeRegion != r.engine.Region() || a.Region != r.engine.Region():
		r.log.InfoContext(ctx, "account policy: a shadow copy, left to its home region", "trail", trailARN, "home_region", c.HomeRegion)
		return nil
	case a.Account != account:
		r.log.InfoContext(ctx, "account policy: a trail of another account, left to its owner", "trail", trailARN,
			"owner_account", a.Account, "organization_trail", c.OrganizationTrail)
		return nil
	}
	tags, err := r.engine.TrailTags(ctx, trailARN)
	if err != nil {
		return fmt.Errorf("account policy: %w", err)
	}
	optOut := strings.EqualFold(strings.TrimSpace(tags[TagOptOut]), "true")
	if optOut {
		return r.leaveUnguarded(ctx, trig, a, prior, notify.ActionOptedOut, "tagged "+TagOptOut+"=true: not guarded", start)
	}

	s := p.Defaults
	s.TrailName = trailARN
	current := c.Current
	if current.Linked() {
		// Kept as it is: its own log group, role, retention and key become the desired state.
		s.LogGroupARN, s.RoleARN = strings.TrimSuffix(current.LogGroupARN, ":*"), current.RoleARN
		s.RetentionInDays, s.KmsKeyID = 0, ""
	}
	t, live, err := r.engine.Resolve(ctx, delivery.Caller{Partition: a.Partition, Account: account}, s, nil)
	if err == nil {
		err = t.Validate(r.engine.Region(), account, s.AllowCrossAccountKey)
	}
	if err != nil {
		var fe *spec.FieldError
		if !errors.As(err, &fe) && !isRefusal(err) {
			return fmt.Errorf("account policy: resolve trail %s: %w", trailARN, err) // a failed read: retried
		}
		return r.leaveUnguarded(ctx, trig, a, prior, notify.ActionNotAdopted, "cannot be adopted: "+err.Error(), start)
	}

	rec := registry.Record{TrailARN: t.TrailARN, Owner: registry.AccountPolicy, Spec: s, Target: t, Status: registry.Compliant}
	lost, err := r.register(ctx, &rec, prior)
	if lost {
		r.log.InfoContext(ctx, "account policy: someone registered the trail meanwhile; theirs stands", "trail", trailARN)
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := r.engine.MarkRegistered(ctx, t, live, registry.AccountPolicy.StackID); err != nil {
		return r.fail(ctx, trig, rec, start, err)
	}

	// Decide on its drift at once, in the same decision: a person hears "adopted" with what was repaired.
	found, err := r.engine.Check(ctx, t, delivery.AspectAll, sh)
	if err != nil {
		return r.fail(ctx, trig, rec, start, fmt.Errorf("check trail %s: %w", t.TrailARN, err))
	}
	d, next, actErr := r.act(ctx, trig, rec, found, delivery.AspectAll)
	d.Duration = r.now().Sub(start)
	kept := "its own log group and role are kept"
	if !current.Linked() {
		kept = "it was not linked"
	}
	what := fmt.Sprintf("adopted by the account policy (%s): log group %s (retention %s), role %s, mode %s", kept,
		t.LogGroupName, retention(t.RetentionInDays), t.RoleARN(), s.Remediation)
	if findings := delivery.CISFindings(t); len(findings) > 0 {
		what += "; " + strings.Join(findings, "; ")
	}
	if d.Action != notify.ActionFailed {
		outcome := d.Action
		d.Action = notify.ActionAdopted
		switch outcome {
		case notify.ActionNone:
			d.Result = what
		default:
			d.Result = what + "; " + outcome + ": " + d.Result
		}
	}
	next.LastRemediation = &registry.Remediation{At: r.now().UTC(), EventID: trig.EventID, EventName: d.EventName, Actor: trig.Actor,
		Drift: d.Drift, Action: d.Action, Result: d.Result}
	if err := r.reg.Save(ctx, next); err != nil && actErr == nil {
		actErr = err
	} else if err == nil {
		next.Version++
		r.cache.Put(next)
	}
	if actErr != nil && d.Action != notify.ActionFailed {
		d.Action, d.Result = notify.ActionFailed, actErr.Error()
	}
	r.report(ctx, d)
	return actErr
}

// isRefusal says whether Resolve refused the trail for what it is (a rule), rather than failing to read it.
func isRefusal(err error) bool {
	var shadow *delivery.ShadowTrailError
	var nf *delivery.TrailNotFoundError
	return errors.As(err, &shadow) || errors.As(err, &nf)
}

func retention(days int32) string {
	if days == 0 {
		return "never expires"
	}
	return fmt.Sprintf("%d days", days)
}

// leaveUnguarded records, in a record of mode off, that the account policy does not guard the trail and why, and
// tells a person once: a sweep that finds the same reason again says nothing and writes nothing.
func (r *Remediator) leaveUnguarded(ctx context.Context, trig trigger.Trigger, a spec.TrailARN, prior *registry.Record,
	action, reason string, start time.Time) error {
	if prior != nil && prior.LastRemediation != nil && prior.LastRemediation.Action == action && prior.LastRemediation.Result == reason {
		return nil
	}
	rec := registry.Record{
		TrailARN: a.String(), Owner: registry.AccountPolicy, Status: registry.Unguarded,
		Spec:   spec.Spec{TrailName: a.String(), Remediation: spec.Off},
		Target: delivery.Target{TrailName: a.Name, TrailARN: a.String(), HomeRegion: a.Region, Partition: a.Partition, Account: a.Account},
	}
	d := decision(trig, rec)
	d.Action, d.Result, d.Duration = action, reason, r.now().Sub(start)
	rec.LastRemediation = &registry.Remediation{At: r.now().UTC(), EventID: trig.EventID, EventName: d.EventName, Actor: trig.Actor,
		Action: action, Result: reason}
	lost, err := r.register(ctx, &rec, prior)
	if lost || err != nil {
		return err // lost: a stack or another invocation got there first; theirs stands, and they report
	}
	r.cache.Put(rec)
	r.report(ctx, d)
	return nil
}

// register writes the account policy's record: a new claim, or an update of its own earlier record (prior). lost
// says a stack or another invocation registered the trail meanwhile; their record stands.
func (r *Remediator) register(ctx context.Context, rec *registry.Record, prior *registry.Record) (lost bool, err error) {
	if prior != nil {
		rec.Version = prior.Version
		err = r.reg.Save(ctx, *rec)
	} else {
		err = r.reg.Claim(ctx, *rec)
	}
	var owned *registry.OwnedError
	var conflict *registry.ConflictError
	if errors.As(err, &owned) || errors.As(err, &conflict) {
		return true, nil
	}
	if err == nil {
		rec.Version++
	}
	return false, err
}
