// Package provider implements the Custom::CloudTrailCloudWatchLogs resource: it turns CloudFormation's Create,
// Update and Delete into the delivery engine's resolve, reconcile and remove, and keeps the registry in step.
// The CloudFormation protocol itself (responses, deadlines, panics) is customresource's job.
package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/customresource"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
)

// Engine is the part of the delivery engine the provider drives.
type Engine interface {
	Resolve(ctx context.Context, who delivery.Caller, s spec.Spec, prior *delivery.Target) (delivery.Target, delivery.Live, error)
	Reconcile(context.Context, delivery.Target, delivery.Aspect) (delivery.Result, error)
	Remove(ctx context.Context, t delivery.Target, deleteLogGroup bool) ([]string, error)
	ReleaseRole(ctx context.Context, t delivery.Target) ([]string, error)
	RemovePack(ctx context.Context, t delivery.Target, keepFilters, keepAlarms cis.Set) ([]string, error)
	MarkRegistered(ctx context.Context, t delivery.Target, live delivery.Live, stackID string) (bool, error)
	UnmarkRegistered(ctx context.Context, t delivery.Target, stackID string) (bool, error)
}

// Registry is the part of the registry the provider writes.
type Registry interface {
	Get(ctx context.Context, trailARN string) (registry.Record, bool, error)
	List(ctx context.Context) ([]registry.Record, error)
	Claim(ctx context.Context, rec registry.Record) error
	Save(ctx context.Context, rec registry.Record) error
	Release(ctx context.Context, trailARN string, owner registry.Owner) error
}

// Notifier tells a person what a Delete kept that its stack asked to delete.
type Notifier interface {
	Notify(ctx context.Context, d notify.Decision) error
}

// Provider handles the resource's requests.
type Provider struct {
	engine   Engine
	reg      Registry
	log      *slog.Logger
	notifier Notifier
	region   string
	// allowed are stack names (a trailing * matches a prefix) that may manage a trail whose tags do not name them.
	allowed []string
	// stacks, when set, confirms each request's stack operation before any write (see checkStack).
	stacks Stacks
	now    func() time.Time
}

// Option configures a Provider.
type Option func(*Provider)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

// WithNotifier sets who is told when a Delete keeps a log group its stack asked to delete.
func WithNotifier(n Notifier) Option { return func(p *Provider) { p.notifier = n } }

// WithClock replaces time.Now, the clock of a registration's RegisteredAt.
func WithClock(now func() time.Time) Option { return func(p *Provider) { p.now = now } }

// WithAllowedStacks admits stacks by name (see spec.ParseAllowedStacks) to manage trails whose tags do not name them.
func WithAllowedStacks(names []string) Option { return func(p *Provider) { p.allowed = names } }

// undoReserve is the time kept back from the work of a Create for its undo, so that a Create that runs out of time
// still undoes itself before it answers: once the answer is sent Lambda may freeze the function at any moment, and
// work left for later may never run. Short requests keep half their time instead.
const undoReserve = 20 * time.Second

// workContext is the request's context, ending early enough to leave the undo its reserve.
func workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, deadline.Add(-min(undoReserve, time.Until(deadline)/2)))
}

// New returns a provider for trails whose home region is region. Every resource is registered: the registry is
// what proves, at Delete, that a resource wired a trail, so a Delete without a registration changes nothing.
func New(engine Engine, reg Registry, region string, opts ...Option) *Provider {
	p := &Provider{engine: engine, reg: reg, region: region, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Handle serves one CloudFormation request. Its PhysicalResourceId is the trail ARN.
func (p *Provider) Handle(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	switch req.RequestType {
	case customresource.RequestCreate, customresource.RequestUpdate:
		return p.apply(ctx, req)
	case customresource.RequestDelete:
		return p.delete(ctx, req)
	}
	return customresource.Result{}, fmt.Errorf("unknown RequestType %q: want Create, Update or Delete", req.RequestType)
}

// caller reads the account and partition from the stack ARN, so the provider needs no STS call.
func caller(req customresource.Request) (delivery.Caller, error) {
	a, err := arn.Parse(req.StackID)
	if err != nil || a.Service != "cloudformation" || a.AccountID == "" {
		return delivery.Caller{}, fmt.Errorf("StackId %q is not a CloudFormation stack ARN", req.StackID)
	}
	return delivery.Caller{Partition: a.Partition, Account: a.AccountID}, nil
}

func owner(req customresource.Request) registry.Owner {
	return registry.Owner{StackID: req.StackID, LogicalResourceID: req.LogicalResourceID}
}

// trailARN is the ARN a spec's trail must have: Resolve accepts only trails of the caller's account whose home
// region is this one, so the ARN is known before any call.
func (p *Provider) trailARN(who delivery.Caller, s spec.Spec) string {
	if strings.HasPrefix(s.TrailName, "arn:") {
		return s.TrailName
	}
	return spec.TrailARN{Partition: who.Partition, Region: p.region, Account: who.Account, Name: s.TrailName}.String()
}

// apply serves Create and Update: it checks that the stack may manage the trail and that nothing another owner
// relies on changes, registers the desired state, wires the trail and answers with its ARN. Every check comes
// before the first write.
func (p *Provider) apply(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	// Before anything is read: a log group this request creates is created after it.
	registeredAt := p.now().UTC().Truncate(time.Millisecond)
	s, err := spec.Parse(req.ResourceProperties)
	if err != nil {
		return customresource.Result{}, err
	}
	who, err := caller(req)
	if err != nil {
		return customresource.Result{}, err
	}
	prior, supersede, err := p.prior(ctx, req, p.trailARN(who, s))
	if err != nil {
		return customresource.Result{}, err
	}
	if err := p.checkStack(ctx, req); err != nil {
		return customresource.Result{}, err
	}
	var priorTarget *delivery.Target
	if prior != nil {
		priorTarget = &prior.Target
	}
	t, live, err := p.engine.Resolve(ctx, who, s, priorTarget)
	if err != nil {
		return customresource.Result{}, err
	}
	t.RegisteredAt = registeredAt
	if prior != nil {
		// The registration dates from the Create that made it: a log group created since is its own, one older is not.
		t.RegisteredAt = prior.Target.RegisteredAt
	}
	consented, allowed := p.permitted(req.StackID, live.Tags)
	if !consented && !allowed {
		return customresource.Result{}, &NotPermittedError{Trail: t.TrailARN, Stack: stackName(req.StackID)}
	}
	if !consented {
		if rule := needsConsent(s, t, prior, supersede); rule != "" {
			return customresource.Result{}, &ConsentError{Trail: t.TrailARN, StackID: req.StackID, Rule: rule}
		}
	}
	acceptedLoss := keepPosture(&t, prior, consented)
	if t.Previous, err = previousLink(s, t, live, priorTarget, consented); err != nil {
		return customresource.Result{}, err
	}
	if err := p.checkSharedLogGroup(ctx, req, t); err != nil {
		return customresource.Result{}, err
	}
	rec := registry.Record{TrailARN: t.TrailARN, Owner: owner(req), Spec: s, Target: t}
	if supersede {
		// Only now, after every check: the account policy's record gives way to the stack (a conditional delete of
		// that owner's record alone). Should the sweep adopt the trail again in between, the Claim names it.
		if err := p.reg.Release(ctx, t.TrailARN, registry.AccountPolicy); err != nil {
			return customresource.Result{}, err
		}
	}
	if err := p.reg.Claim(ctx, rec); err != nil {
		return customresource.Result{}, err
	}
	work, cancel := workContext(ctx)
	defer cancel()
	res, err := p.wire(work, req, t, live)
	if err != nil {
		if prior == nil {
			// A Create, or an Update that moved the resource to another trail: CloudFormation's rollback will not
			// come back for this trail, so nothing may stay behind on it.
			err = errors.Join(err, p.undo(ctx, req, t, res))
		}
		return customresource.Result{}, err
	}
	p.log.InfoContext(ctx, "trail delivers to CloudWatch Logs", "request_type", req.RequestType, "trail", t.TrailARN,
		"log_group", t.LogGroupName, "role", t.RoleName, "drift_found", delivery.Describe(res.Found), "actions", res.Actions)
	p.tellFindings(ctx, req, rec, prior)
	p.tellAcceptedPosture(ctx, req, rec, acceptedLoss)
	if prior != nil && prior.Target.TrailARN == t.TrailARN && prior.Target.RoleARN() != t.RoleARN() {
		if _, err := p.engine.ReleaseRole(ctx, prior.Target); err != nil {
			return customresource.Result{}, fmt.Errorf("trail %s now uses role %s; removing its policy from the old role %s: %w",
				t.TrailARN, t.RoleName, prior.Target.RoleName, err)
		}
	}
	if err := p.releasePack(ctx, prior, t); err != nil {
		return customresource.Result{}, err
	}
	return customresource.Result{PhysicalResourceID: t.TrailARN, Data: data(t)}, nil
}

// releasePack removes what an Update no longer wants of the prior CIS monitoring pack: all of it when the pack is
// switched off or moved to another log group, the controls the new set lacks when the set changes.
func (p *Provider) releasePack(ctx context.Context, prior *registry.Record, t delivery.Target) error {
	if prior == nil || prior.Target.TrailARN != t.TrailARN || !prior.Target.Pack.On() {
		return nil
	}
	keepAlarms, keepFilters := t.Pack.Set, t.Pack.Set
	if !t.Pack.On() {
		keepAlarms, keepFilters = cis.None, cis.None
	}
	if prior.Target.LogGroupName != t.LogGroupName {
		keepFilters = cis.None // the new log group has its own filters
	}
	if keepAlarms == prior.Target.Pack.Set && keepFilters == prior.Target.Pack.Set {
		return nil
	}
	actions, err := p.engine.RemovePack(ctx, prior.Target, keepFilters, keepAlarms)
	if err != nil {
		return fmt.Errorf("trail %s: removing the CIS monitoring pack it no longer keeps: %w", t.TrailARN, err)
	}
	p.log.InfoContext(ctx, "removed CIS monitoring pack controls the update dropped", "trail", t.TrailARN, "actions", actions)
	return nil
}

// prior reads this resource's registration of the trail, if any. Another owner's registration fails the request
// before anything is read or written, naming the owner, with one exception: the account policy's (account-wide
// mode adopted a trail no stack declared), which a stack may supersede. supersede says so; the stack must still
// pass the ownership rule, and the account policy's desired state is no prior of the stack's (its link counts as
// "somewhere else", its log group as one this registration did not create).
func (p *Provider) prior(ctx context.Context, req customresource.Request, trailARN string) (prior *registry.Record, supersede bool, err error) {
	rec, found, err := p.reg.Get(ctx, trailARN)
	switch {
	case err != nil:
		return nil, false, err
	case !found:
		return nil, false, nil
	case rec.Owner == registry.AccountPolicy && owner(req) != registry.AccountPolicy:
		return nil, true, nil
	case rec.Owner != owner(req):
		return nil, false, &registry.OwnedError{Trail: trailARN, Owner: rec.Owner}
	}
	return &rec, false, nil
}

// previousLink decides what happens to a trail that already delivers somewhere else. A link this resource made
// itself (an Update) is not "somewhere else". Any other link is replaced only when the spec says so, and is then
// recorded so that Delete can restore it.
func previousLink(s spec.Spec, t delivery.Target, live delivery.Live, prior *delivery.Target, consented bool) (*delivery.Link, error) {
	if prior != nil {
		// Already this resource's trail: whatever it points at now is drift (maybe a tamperer's), never the link to
		// give back on Delete.
		return prior.Previous, nil
	}
	if !live.Link.Linked() {
		return nil, nil
	}
	if live.Link.Same(t.Link()) {
		// Already delivering here before this resource existed (wired by hand, or by the account policy): the
		// link is not this resource's to take away, so Delete (and a failed Create's undo) gives it back as found
		// instead of unlinking the trail. Without this a stack admitted by a name alone could unlink a trail it
		// never wired, by declaring its current link and deleting the resource.
		l := live.Link
		return &l, nil
	}
	if !s.ReplaceExistingDelivery {
		return nil, &spec.FieldError{Field: "ReplaceExistingDelivery", Rule: fmt.Sprintf("trail %s already delivers to %s via %s; "+
			"set ReplaceExistingDelivery to \"true\" to rewire it (the current link is restored on Delete), or name that log "+
			"group and role", t.TrailARN, live.Link.LogGroupARN, live.Link.RoleARN)}
	}
	if !consented {
		return nil, &spec.FieldError{Field: "ReplaceExistingDelivery", Rule: fmt.Sprintf("trail %s already delivers to %s: "+
			"only a stack the trail itself names (its %s or %s tag) may rewire it; the allow-list admits a stack to wire "+
			"unwired trails only", t.TrailARN, live.Link.LogGroupARN, TagStackID, delivery.TagManagedBy)}
	}
	l := live.Link
	return &l, nil
}

// checkSharedLogGroup refuses a log group another owner registered with other settings: two registrations that
// disagree on retention or key would undo each other at every sweep.
func (p *Provider) checkSharedLogGroup(ctx context.Context, req customresource.Request, t delivery.Target) error {
	recs, err := p.reg.List(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		o := r.Target
		if r.Owner == owner(req) || r.TrailARN == t.TrailARN || o.LogGroupName != t.LogGroupName || o.HomeRegion != t.HomeRegion {
			continue
		}
		if o.RetentionInDays != t.RetentionInDays || o.KmsKeyID != t.KmsKeyID {
			return &registry.OwnedError{Trail: t.TrailARN, Owner: r.Owner, LogGroup: t.LogGroupName}
		}
	}
	return nil
}

// wire marks the trail as registered and reconciles everything the spec enforces.
func (p *Provider) wire(ctx context.Context, req customresource.Request, t delivery.Target, live delivery.Live) (delivery.Result, error) {
	if _, err := p.engine.MarkRegistered(ctx, t, live, req.StackID); err != nil {
		return delivery.Result{}, err
	}
	res, err := p.engine.Reconcile(ctx, t, aspectsFor(t))
	if err == nil && !res.Converged(t) {
		err = fmt.Errorf("trail %s still drifts after the repair: %s", t.TrailARN, delivery.Describe(res.Remaining))
	}
	return res, err
}

// undo leaves nothing behind after a failed Create: CloudFormation answers it with a Delete of a fallback id that
// must change nothing, so the Create gives back its claim, restores the trail's link, removes its policy and
// deletes the log group it created if the trail was never linked to it (so it holds no audit event). It runs in the
// time workContext kept back, before the answer.
func (p *Provider) undo(ctx context.Context, req customresource.Request, t delivery.Target, res delivery.Result) error {
	linked := slices.Contains(res.Actions, "UpdateTrail")
	actions, err := p.engine.Remove(ctx, t, t.CreatedLogGroup && !linked)
	if _, uerr := p.engine.UnmarkRegistered(ctx, t, req.StackID); uerr != nil {
		err = errors.Join(err, uerr)
	}
	if rerr := p.reg.Release(ctx, t.TrailARN, owner(req)); rerr != nil {
		err = errors.Join(err, rerr)
	}
	p.log.InfoContext(ctx, "failed Create undone", "trail", t.TrailARN, "actions", actions, "error", errString(err))
	return err
}

// aspectsFor is what Create and Update reconcile: everything, but logging only when the spec enforces it, because
// starting a trail the author deliberately stopped is not the provider's call.
func aspectsFor(t delivery.Target) delivery.Aspect {
	if t.EnforceLogging {
		return delivery.AspectAll
	}
	return delivery.AspectAll &^ delivery.AspectLogging
}

// delete unwires the trail this resource registered. Without this resource's registration (an id the provider
// never issued, a trail another resource owns, a Delete sent twice) it changes nothing in AWS.
func (p *Provider) delete(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	done := customresource.Result{PhysicalResourceID: req.PhysicalResourceID}
	trail, err := spec.ParseTrailARN(req.PhysicalResourceID)
	if err != nil {
		p.log.InfoContext(ctx, "delete of a resource that was never created: nothing to do", "physical_id", req.PhysicalResourceID)
		return done, nil
	}
	rec, found, err := p.reg.Get(ctx, trail.String())
	switch {
	case err != nil:
		return customresource.Result{}, err
	case !found:
		p.log.InfoContext(ctx, "delete of a trail this resource does not register: nothing to do", "trail", trail.String())
		return done, nil
	case rec.Owner != owner(req):
		p.log.InfoContext(ctx, "delete of a trail another resource owns: nothing to do", "trail", trail.String(), "owner", rec.Owner.String())
		return done, nil
	}
	if err := p.checkStack(ctx, req); err != nil {
		return customresource.Result{}, err
	}
	if rec.Status != registry.Deleting {
		rec.Status = registry.Deleting
		if err := p.reg.Save(ctx, rec); err != nil {
			return customresource.Result{}, err
		}
	}
	deleteLogGroup, err := p.mayDeleteLogGroup(ctx, rec, asksToDeleteLogGroup(req))
	if err != nil {
		return customresource.Result{}, err
	}
	actions, err := p.engine.Remove(ctx, rec.Target, deleteLogGroup)
	if err != nil {
		return customresource.Result{}, err
	}
	if _, err := p.engine.UnmarkRegistered(ctx, rec.Target, req.StackID); err != nil {
		return customresource.Result{}, err
	}
	if err := p.reg.Release(ctx, rec.TrailARN, owner(req)); err != nil {
		return customresource.Result{}, err
	}
	p.log.InfoContext(ctx, "trail unwired", "trail", rec.TrailARN, "actions", actions, "delete_log_group", deleteLogGroup)
	return done, nil
}

// mayDeleteLogGroup says whether a Delete may delete the log group, with its audit data: only when its stack asked
// for it (in the Delete request's own properties, which CloudFormation sends, and in the registration), this very
// registration created the group, and no other registration delivers to it. When the stack asked but may not, the
// group is kept and a person is told why. The engine then also requires the group to be younger than the
// registration (delivery.Engine.Remove), which neither a tag nor a registry record can fake.
func (p *Provider) mayDeleteLogGroup(ctx context.Context, rec registry.Record, asked bool) (bool, error) {
	if !rec.Spec.DeleteLogGroupOnDelete || !asked {
		return false, nil
	}
	t := rec.Target
	reason := ""
	if !t.CreatedLogGroup {
		reason = "this resource did not create it"
	} else {
		recs, err := p.reg.List(ctx)
		if err != nil {
			return false, err
		}
		for _, other := range recs {
			if other.TrailARN != rec.TrailARN && other.Target.LogGroupName == t.LogGroupName && other.Target.HomeRegion == t.HomeRegion {
				reason = "trail " + other.TrailARN + " (" + other.Owner.String() + ") also delivers to it"
				break
			}
		}
	}
	if reason == "" {
		return true, nil
	}
	msg := fmt.Sprintf("kept log group %s although DeleteLogGroupOnDelete is true: %s", t.LogGroupName, reason)
	p.log.WarnContext(ctx, msg, "trail", t.TrailARN, "log_group", t.LogGroupName)
	if p.notifier != nil {
		// The stack is confirmed: the stack check asked CloudFormation that it is deleting this very resource.
		d := notify.Decision{Trail: t.TrailName, TrailARN: t.TrailARN, Mode: string(rec.Spec.Remediation), Actor: rec.Owner.StackID, ActorConfirmed: true,
			EventName: customresource.RequestDelete, Action: notify.ActionReported, Drift: []string{msg}, Result: msg}
		if err := p.notifier.Notify(ctx, d); err != nil {
			p.log.ErrorContext(ctx, "notification failed", "trail", t.TrailARN, "error", err.Error())
		}
	}
	return false, nil
}

// asksToDeleteLogGroup says whether the Delete request's properties, CloudFormation's copy of the template, set
// DeleteLogGroupOnDelete: a registry record alone never makes the provider delete a group. Properties that no longer
// parse ask for nothing.
func asksToDeleteLogGroup(req customresource.Request) bool {
	s, err := spec.Parse(req.ResourceProperties)
	return err == nil && s.DeleteLogGroupOnDelete
}

func data(t delivery.Target) map[string]any {
	return map[string]any{
		"TrailArn":     t.TrailARN,
		"HomeRegion":   t.HomeRegion,
		"LogGroupName": t.LogGroupName,
		"LogGroupArn":  t.LogGroupARN(),
		"RoleName":     t.RoleName,
		"RoleArn":      t.RoleARN(),
		"PolicyName":   t.PolicyName,
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
