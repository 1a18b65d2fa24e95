// Package remediator keeps registered trails delivering to CloudWatch Logs: for each EventBridge event it finds the
// registered trails the change can affect, reads their live state, and repairs (or, in report mode, reports) the
// drift; a scheduled sweep does the same for every trail, so a lost event costs at most one sweep interval.
package remediator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"golang.org/x/sync/errgroup"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/repair"
	"github.com/trailguard/trailguard/internal/spec"
	"github.com/trailguard/trailguard/internal/trigger"
)

// Engine is the part of the delivery engine the remediator drives.
type Engine interface {
	Region() string
	Check(ctx context.Context, t delivery.Target, aspects delivery.Aspect, sh *delivery.Shared) ([]delivery.Drift, error)
	Repair(ctx context.Context, t delivery.Target, found []delivery.Drift, aspects delivery.Aspect) (delivery.Result, error)
	ShareRegion(ctx context.Context) (*delivery.Shared, error)
	ShareTrail(ctx context.Context, trail string) (*delivery.Shared, error)
	// SweepTags reads every trail's tags for the sweep: registration marks and consent tags.
	SweepTags(ctx context.Context, sh *delivery.Shared) (map[string]map[string]string, error)
	// Resolve and MarkRegistered are account-wide mode's: it adopts a trail exactly as the provider registers one.
	Resolve(ctx context.Context, who delivery.Caller, s spec.Spec, prior *delivery.Target) (delivery.Target, delivery.Live, error)
	MarkRegistered(ctx context.Context, t delivery.Target, live delivery.Live, stackID string) (bool, error)
	// CheckTrailOwner refuses a record whose trail belongs to another account than this deployment may act on.
	CheckTrailOwner(t delivery.Target) error
	// TrailTags reads a trail's tags: a re-created trail's consent, an adoption candidate's opt-out.
	TrailTags(ctx context.Context, trailARN string) (map[string]string, error)
	// ReadCandidate reads a trail account-wide mode may adopt: where it lives, whose it is, where it delivers.
	ReadCandidate(ctx context.Context, trail string) (delivery.Candidate, error)
}

// Registry is the part of the registry the remediator reads and writes.
type Registry interface {
	// Get is a consistent read of one record.
	Get(ctx context.Context, trailARN string) (registry.Record, bool, error)
	List(ctx context.Context) ([]registry.Record, error)
	Save(ctx context.Context, rec registry.Record) error
	// Claim creates a record; account-wide mode registers the trails it adopts with it.
	Claim(ctx context.Context, rec registry.Record) error
}

// Notifier tells a person about a repair or an alert.
type Notifier interface {
	Notify(ctx context.Context, d notify.Decision) error
}

// EventSender carries a decision's metrics to an organization's central account (notify.EventSender).
type EventSender interface {
	Send(ctx context.Context, at time.Time, d notify.Decision) error
}

// Remediator handles EventBridge events.
type Remediator struct {
	engine   Engine
	reg      Registry
	cache    *registry.Cache
	notifier Notifier
	events   EventSender
	log      *slog.Logger
	metrics  io.Writer
	// policy decides between repairing, reporting and holding off.
	policy repair.Policy
	now    func() time.Time
	// account, when set, is account-wide mode: every trail of the account and region is guarded.
	account *AccountPolicy
}

// Option configures a Remediator.
type Option func(*Remediator)

// WithLogger sets the logger for decision lines.
func WithLogger(l *slog.Logger) Option { return func(r *Remediator) { r.log = l } }

// WithMetrics sets where embedded-metric-format lines go (default stdout, which Lambda ships to CloudWatch).
func WithMetrics(w io.Writer) Option { return func(r *Remediator) { r.metrics = w } }

// WithEvents sends every decision a person is told of as an event too (organization members: the member stack
// forwards them to the central bus); by default none is sent.
func WithEvents(e EventSender) Option { return func(r *Remediator) { r.events = e } }

// WithPolicy sets the repair policy (default repair.Default).
func WithPolicy(p repair.Policy) Option { return func(r *Remediator) { r.policy = p } }

// WithClock replaces time.Now, for tests of the repair window.
func WithClock(now func() time.Time) Option { return func(r *Remediator) { r.now = now } }

// New returns a remediator.
func New(engine Engine, reg Registry, notifier Notifier, opts ...Option) *Remediator {
	r := &Remediator{
		engine: engine, reg: reg, notifier: notifier, log: slog.Default(), metrics: os.Stdout,
		policy: repair.Default, now: time.Now,
	}
	for _, o := range opts {
		o(r)
	}
	r.cache = registry.NewCache(reg, snapshotTTL, func() time.Time { return r.now() })
	return r
}

// snapshotTTL is how long a snapshot of the registry answers event lookups: the cost of a lookup against how soon
// a log-group or role event for a newly registered trail is acted on (trail events and the sweep re-read at once).
const snapshotTTL = time.Minute

// saveAttempts bounds the re-reads when another invocation updates the same trail's record concurrently.
const saveAttempts = 3

// Handle decides and acts on one event. Events that are not for trailguard are logged and dropped; a malformed
// event or a failed repair returns an error, so that Lambda retries it and then sends it to the on-failure queue.
func (r *Remediator) Handle(ctx context.Context, raw json.RawMessage) error {
	start := r.now()
	trig, err := trigger.Decode(raw)
	var ignored *trigger.IgnoredError
	if errors.As(err, &ignored) {
		r.log.InfoContext(ctx, "event ignored", "reason", ignored.Reason, "event_id", trig.EventID, "event_name", trig.EventName)
		return nil
	}
	if err != nil {
		r.log.ErrorContext(ctx, "malformed event", "error", err.Error(), "size", len(raw))
		return fmt.Errorf("malformed event: %w", err)
	}
	if trig.Region != "" && trig.Region != r.engine.Region() {
		r.log.InfoContext(ctx, "event ignored", "reason", fmt.Sprintf("event from region %s; this remediator serves %s", trig.Region, r.engine.Region()),
			"event_id", trig.EventID, "event_name", trig.EventName)
		return nil
	}
	recs, read, sh, err := r.affected(ctx, trig)
	if err != nil {
		return err
	}
	var (
		errs []error
		mu   sync.Mutex
		work errgroup.Group // its functions return nil: every failure is kept, not only the first
	)
	work.SetLimit(sweepConcurrency)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	account := invokedAccount(ctx)
	if trig.Kind == trigger.KindSweep {
		all := recs
		work.Go(func() error {
			if err := r.checkRegistrations(ctx, trig, all, sh, start); err != nil {
				fail(err)
			}
			return nil
		})
	}
	if r.account != nil {
		r.applyAccountPolicy(ctx, trig, recs, sh, account, start, &work, fail)
	}
	recs = slices.DeleteFunc(slices.Clone(recs), func(rec registry.Record) bool { return !guarded(rec) })
	if len(recs) == 0 && trig.Kind != trigger.KindSweep {
		_ = work.Wait()
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		r.log.InfoContext(ctx, "event ignored", "reason", "no registered trail is affected", "event_id", trig.EventID,
			"event_name", trig.EventName, "trail", trig.Trail, "log_group", trig.LogGroup, "role", trig.Role)
		return nil
	}
	for _, rec := range recs {
		work.Go(func() error {
			var err error
			verr := rec.Target.Validate(r.engine.Region(), account, rec.Spec.AllowCrossAccountKey)
			if verr == nil {
				verr = r.engine.CheckTrailOwner(rec.Target)
			}
			if verr != nil {
				r.refuse(ctx, trig, rec, start, verr)
			} else {
				err = r.decide(ctx, trig, rec, start, read, sh)
			}
			if err != nil {
				fail(err)
			}
			return nil
		})
	}
	_ = work.Wait()
	return errors.Join(errs...)
}

// applyAccountPolicy starts account-wide mode's work for one trigger: a sweep looks at every trail of the region
// without a record (and at the account policy's unguarded ones), a CreateTrail event at the trail it names when no
// stack registered it. It needs the function's own account, which Lambda gives: without it nothing is adopted.
func (r *Remediator) applyAccountPolicy(ctx context.Context, trig trigger.Trigger, recs []registry.Record, sh *delivery.Shared,
	account string, start time.Time, work *errgroup.Group, fail func(error)) {
	if account == "" && (trig.Kind == trigger.KindSweep || trig.Creates) {
		r.log.WarnContext(ctx, "account-wide mode: the function's own account is unknown (no Lambda context), nothing adopted",
			"event_id", trig.EventID, "trail", trig.Trail)
		return
	}
	var trails []string
	unguarded := map[string]registry.Record{}
	switch {
	case trig.Kind == trigger.KindSweep && sh != nil:
		trails, unguarded = r.adoptCandidates(recs, sh, account)
	case trig.Kind == trigger.KindTrail && trig.Creates:
		switch {
		case len(recs) == 0:
			trails = []string{trig.Trail}
		case len(recs) == 1 && unguardedPolicyRecord(recs[0]):
			trails, unguarded[recs[0].TrailARN] = []string{recs[0].TrailARN}, recs[0]
		}
	}
	for _, trail := range trails {
		var prior *registry.Record
		if rec, ok := unguarded[trail]; ok {
			prior = &rec
		}
		work.Go(func() error {
			if err := r.adopt(ctx, trig, trail, prior, account, sh, start); err != nil {
				fail(err)
			}
			return nil
		})
	}
}

// guarded says whether the remediator acts on a record: not one whose resource asked for no remediation, and not one
// whose Delete is under way (repairing it would undo the Delete).
func guarded(rec registry.Record) bool {
	return rec.Spec.Remediation != spec.Off && rec.Status != registry.Deleting
}

// invokedAccount is the account of the function's own ARN, when Lambda tells it: the only account whose trails it
// may act on.
func invokedAccount(ctx context.Context) string {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return ""
	}
	a, err := arn.Parse(lc.InvokedFunctionArn)
	if err != nil {
		return ""
	}
	return a.AccountID
}

// refuse alerts on a record that breaks the provider's rules and acts on nothing it says: someone wrote the registry
// behind the provider's back.
func (r *Remediator) refuse(ctx context.Context, trig trigger.Trigger, rec registry.Record, start time.Time, err error) {
	d := decision(trig, rec)
	d.Action, d.Duration = notify.ActionInvalid, r.now().Sub(start)
	d.Result = "registry record refused, nothing done: " + err.Error()
	r.report(ctx, d)
}

// checkRegistrations alerts on every trail that carries trailguard's registration tag but has no record among recs
// (the whole registry): a registration deleted from the registry without a Delete, which would silently end its
// protection.
func (r *Remediator) checkRegistrations(ctx context.Context, trig trigger.Trigger, recs []registry.Record, sh *delivery.Shared,
	start time.Time) error {
	all, err := r.engine.SweepTags(ctx, sh)
	if err != nil {
		return fmt.Errorf("list registered trails: %w", err)
	}
	r.askToRetag(ctx, trig, recs, all, start)
	for trailARN, tags := range all {
		stack, marked := tags[delivery.TagRegisteredBy]
		if !marked || slices.ContainsFunc(recs, func(rec registry.Record) bool { return rec.TrailARN == trailARN }) {
			continue
		}
		d := decision(trig, registry.Record{TrailARN: trailARN})
		d.TrailARN, d.Trail = trailARN, trailName(trailARN)
		d.Action, d.Duration = notify.ActionUnregistered, r.now().Sub(start)
		d.Drift = []string{"the trail is tagged " + delivery.TagRegisteredBy + "=" + stack + " but has no registry record"}
		d.Result = "registration missing without a Delete: the trail is no longer guarded; restore the record or update stack " + stack
		r.report(ctx, d)
	}
	return nil
}

func trailName(trailARN string) string {
	if a, err := spec.ParseTrailARN(trailARN); err == nil {
		return a.Name
	}
	return trailARN
}

// affected finds the registered trails an event can have changed, and reads at the same time what every decision
// will need, so that the lookup costs no round trip of its own: the sweep reads the whole registry afresh (and
// renews the snapshot) while one DescribeTrails reads every trail; a trail event looks the trail up in the snapshot
// (or the registry) while the trail itself is read. read says the records come from a consistent read of the table,
// not from the snapshot.
func (r *Remediator) affected(ctx context.Context, trig trigger.Trigger) (recs []registry.Record, read bool, sh *delivery.Shared, err error) {
	var lookupErr, shareErr error
	var both sync.WaitGroup
	switch trig.Kind {
	case trigger.KindSweep:
		both.Go(func() { recs, lookupErr = r.cache.Refresh(ctx) })
		both.Go(func() { sh, shareErr = r.engine.ShareRegion(ctx) })
		both.Wait()
		return recs, true, sh, errors.Join(lookupErr, shareErr)
	case trigger.KindTrail:
		keep := registry.ByTrailName(trig.Trail)
		if strings.HasPrefix(trig.Trail, "arn:") {
			a, err := spec.ParseTrailARN(trig.Trail)
			if err != nil {
				return nil, false, nil, nil
			}
			if a.Region != r.engine.Region() {
				r.log.InfoContext(ctx, "event ignored", "reason", "trail's home region is "+a.Region+", a shadow copy here", "trail", trig.Trail, "event_id", trig.EventID)
				return nil, false, nil, nil
			}
			keep = registry.ByTrailARN(trig.Trail)
		}
		both.Go(func() { recs, read, lookupErr = r.cache.LookupOrRefresh(ctx, keep) })
		// A prefetch that fails only costs its read: the check reads the trail again.
		both.Go(func() { sh, _ = r.engine.ShareTrail(ctx, trig.Trail) })
		both.Wait()
		return recs, read, sh, lookupErr
	case trigger.KindPack:
		// A pack an Update has just turned on is not in a snapshot taken before: read the registry again rather
		// than miss the event.
		recs, read, err = r.cache.LookupOrRefresh(ctx, byPack(trig))
		return recs, read, nil, err
	case trigger.KindLogGroup:
		if trig.Aspects == delivery.AspectPack {
			recs, read, err = r.cache.LookupOrRefresh(ctx, func(rec registry.Record) bool {
				return rec.Target.LogGroupName == trig.LogGroup && rec.Target.Pack.On()
			})
			return recs, read, nil, err
		}
		recs, read, err = r.cache.Lookup(ctx, registry.ByLogGroup(trig.LogGroup))
		return recs, read, nil, err
	case trigger.KindRole:
		recs, read, err = r.cache.Lookup(ctx, registry.ByRole(trig.Role))
		if trig.Policy != "" {
			// A shared role: only the trail whose inline policy was touched is affected.
			recs = slices.DeleteFunc(recs, func(rec registry.Record) bool { return rec.Target.PolicyName != trig.Policy })
		}
		return recs, read, nil, err
	}
	return nil, false, nil, nil
}

// sweepConcurrency bounds how many trails one invocation checks and repairs at once. A region holds at most 5
// trails by default, so a sweep usually does them all at once.
const sweepConcurrency = 8

// aspects are the parts of the delivery an event can have changed (the catalogue's, or everything for a sweep):
// only those are read, so a no-op event costs one read. A trail known to be gone is only looked for, until a call
// creates it again.
func aspects(trig trigger.Trigger, rec registry.Record) delivery.Aspect {
	if rec.Status == registry.Gone && !trig.Creates {
		return delivery.AspectTrail
	}
	return trig.Aspects
}

// decide reads one trail's live state, acts according to its mode and history, and records the outcome.
//
// The record comes from the registry snapshot. That is enough to conclude "compliant, nothing to do", the common
// case, which so costs a single read of the trail. Anything else (drift, or a record not compliant) is decided on a
// consistent re-read of the record, since a stack update or another invocation may have changed it; a record changed
// between that read and the save is read and decided again.
func (r *Remediator) decide(ctx context.Context, trig trigger.Trigger, rec registry.Record, start time.Time, consistent bool,
	sh *delivery.Shared) error {
	reread := false             // set after a save lost to a concurrent write
	var earlier notify.Decision // the writes of attempts whose save lost: they happened, so they are this decision's too
	for attempt := 1; ; attempt++ {
		aspect := aspects(trig, rec)
		found, err := r.engine.Check(ctx, rec.Target, aspect, sh)
		if err != nil {
			return r.fail(ctx, trig, rec, start, fmt.Errorf("check trail %s: %w", rec.TrailARN, err))
		}
		found = append(found, destroyed(trig, rec)...)
		if reread || (!consistent && (len(found) > 0 || rec.Status != registry.Compliant)) {
			fresh, registered, err := r.reg.Get(ctx, rec.TrailARN)
			if err != nil {
				return r.fail(ctx, trig, rec, start, err)
			}
			if !registered || !guarded(fresh) {
				// Deregistered, or its Delete began after the snapshot was taken: repairing now would undo the Delete.
				r.log.InfoContext(ctx, "event ignored", "reason", "trail no longer guarded", "trail", rec.TrailARN, "event_id", trig.EventID)
				return nil
			}
			consistent, reread = true, false
			if !reflect.DeepEqual(fresh.Target, rec.Target) || aspects(trig, fresh) != aspect {
				rec, sh = fresh, nil
				continue // the desired state changed: compare with what is desired now, read afresh
			}
			rec = fresh
		}
		why, err := r.recreatedRefusal(ctx, rec, found)
		if err != nil {
			return r.fail(ctx, trig, rec, start, err)
		}
		var d notify.Decision
		var next registry.Record
		if why != "" {
			d, next = r.holdRecreated(trig, rec, why)
		} else {
			d, next, err = r.act(ctx, trig, rec, found, aspect)
		}
		d.Duration = r.now().Sub(start)
		toldBefore := len(earlier.Repairs) > 0 && d.Action == notify.ActionNone // nothing new since the person was told
		if len(earlier.Repairs) > 0 {
			carryWrites(&d, &next, earlier, r.now().UTC())
		}
		// What was done is done: the person hears of it while the registry is written, not after. A save that loses
		// to a concurrent write is decided again; the writes it made are carried into the next decision (its log
		// line and the repair history count them), and the person, told already, is not told again.
		var told <-chan struct{}
		if err == nil && !toldBefore {
			told = r.notifyAsync(ctx, d)
		}
		if err == nil && !sameOutcome(rec, next) {
			err = r.reg.Save(ctx, next)
			var conflict *registry.ConflictError
			if errors.As(err, &conflict) && attempt < saveAttempts {
				if told != nil {
					<-told
				}
				if len(d.Repairs) > 0 {
					earlier = d
				}
				reread, sh = true, nil
				continue
			}
			if err == nil {
				next.Version++
				r.cache.Put(next)
			}
		}
		if err != nil && d.Action != notify.ActionFailed {
			d.Action, d.Result = notify.ActionFailed, err.Error()
		}
		r.record(ctx, d)
		switch {
		case told != nil:
			<-told
		case !toldBefore:
			r.notify(ctx, d)
		}
		return err
	}
}

// fail reports a decision that could not be made, and returns its error so that Lambda retries the event.
func (r *Remediator) fail(ctx context.Context, trig trigger.Trigger, rec registry.Record, start time.Time, err error) error {
	d := decision(trig, rec)
	d.Action, d.Result, d.Duration = notify.ActionFailed, err.Error(), r.now().Sub(start)
	r.report(ctx, d)
	return err
}

// decision starts the account of one decision.
func decision(trig trigger.Trigger, rec registry.Record) notify.Decision {
	t := rec.Target
	d := notify.Decision{
		Trail: t.TrailName, TrailARN: t.TrailARN, Mode: string(rec.Spec.Remediation), Actor: trig.Actor, SourceIP: trig.SourceIP,
		EventID: trig.EventID, EventName: trig.EventName, Action: notify.ActionNone, Result: "ok",
	}
	if trig.Kind == trigger.KindSweep {
		d.EventName = notify.EventSweep
	}
	return d
}

// act is one decision on the drift found, without the bookkeeping: it returns what to tell people and the record
// to save.
func (r *Remediator) act(ctx context.Context, trig trigger.Trigger, rec registry.Record, found []delivery.Drift, aspect delivery.Aspect) (notify.Decision, registry.Record, error) {
	t := rec.Target
	d := decision(trig, rec)
	next := rec
	now := r.now().UTC()
	next.Repairs = r.policy.Recent(rec.Repairs, now)
	d.Drift = delivery.Describe(found)
	last := rec.LastRemediation
	v := r.policy.Decide(repair.Situation{
		Enforce:   rec.Spec.Remediation == spec.Enforce,
		Sweep:     trig.Kind == trigger.KindSweep,
		Drift:     len(found) > 0,
		Contested: rec.Status == registry.Contested, RecentRepairs: len(next.Repairs),
		TrailMissing: slices.ContainsFunc(found, func(x delivery.Drift) bool { return x.Kind == delivery.TrailMissing }),
		Repairable:   slices.ContainsFunc(found, func(x delivery.Drift) bool { return t.Repairs(x.Kind) }),
		SameAsLastReport: rec.Status == registry.Drifted && last != nil && last.Action == notify.ActionReported &&
			slices.Equal(last.Drift, d.Drift),
	})
	// The verdict says what to store and what to tell; only a repair that fails departs from it (v.Failed).
	next.Status, d.Action = registry.Status(v.Status), v.Tell
	if v.Action == repair.Nothing {
		return d, next, nil
	}
	next.LastRemediation = &registry.Remediation{At: now, EventID: trig.EventID, EventName: d.EventName, Actor: trig.Actor, Drift: d.Drift}
	switch v.Action {
	case repair.Report:
		if v.Repeated {
			// Told already: the sweep finds the same drift every interval until someone acts.
			d.Repeated, d.Result = true, "reported before, at "+last.At.Format(time.RFC3339)+"; not notifying again"
			next.LastRemediation = last
			return d, next, nil
		}
	case repair.Hold:
		d.Result = fmt.Sprintf("repaired %d times within %s: events no longer repair it, the next sweep will; find who keeps changing it",
			len(next.Repairs), r.policy.Window)
	case repair.Repair:
		res, err := r.engine.Repair(ctx, t, found, aspect)
		d.Repairs = res.Actions
		if err != nil {
			f := v.Failed()
			next.Status, d.Action, d.Result = registry.Status(f.Status), f.Tell, err.Error()
			next.LastRemediation.Action, next.LastRemediation.Result = d.Action, d.Result
			return d, next, fmt.Errorf("repair trail %s: %w", t.TrailARN, err)
		}
		next.Repairs = append(next.Repairs, now)
		if v.Status == repair.StatusContested {
			d.Result = fmt.Sprintf("repaired by the sweep, %d repairs within %s: someone keeps changing it", len(next.Repairs), r.policy.Window)
		}
		if !res.Converged(t) {
			f := v.Failed()
			next.Status, d.Action = registry.Status(f.Status), f.Tell
			d.Result = "still drifting after the repair: " + strings.Join(delivery.Describe(res.Remaining), "; ")
		} else if len(res.Remaining) > 0 {
			d.Result = "repaired; still reported: " + strings.Join(delivery.Describe(res.Remaining), "; ")
		}
	}
	next.LastRemediation.Action, next.LastRemediation.Result = d.Action, d.Result
	if d.Action == notify.ActionFailed {
		return d, next, fmt.Errorf("repair trail %s: %s", t.TrailARN, d.Result)
	}
	return d, next, nil
}

// report writes the decision's log line and metrics, and notifies a person of every repair or alert.
func (r *Remediator) report(ctx context.Context, d notify.Decision) {
	r.record(ctx, d)
	r.notify(ctx, d)
}

// place names the account and region of a decision: the function's own, which every trail it acts on shares.
func (r *Remediator) place(ctx context.Context, d *notify.Decision) {
	if d.Account == "" {
		d.Account = invokedAccount(ctx)
	}
	if d.Region == "" {
		d.Region = r.engine.Region()
	}
}

// record writes the decision's log line and metrics.
func (r *Remediator) record(ctx context.Context, d notify.Decision) {
	r.place(ctx, &d)
	notify.Log(r.log, d)
	if err := notify.WriteMetrics(r.metrics, r.now(), d); err != nil {
		r.log.WarnContext(ctx, "cannot write metrics", "error", err.Error())
	}
}

// notifyAsync notifies in the background; the channel closes when it is done.
func (r *Remediator) notifyAsync(ctx context.Context, d notify.Decision) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.notify(ctx, d)
	}()
	return done
}

// notify tells a person of every repair or alert, and sends its metrics as an event when events are on.
func (r *Remediator) notify(ctx context.Context, d notify.Decision) {
	if !notify.ShouldNotify(d) {
		return
	}
	r.place(ctx, &d)
	// The repair itself is done and logged; a lost notification or event must not undo it or cause a retry loop.
	// The event goes out beside the notification, not after it (EventSender.Send bounds its own time).
	var sent sync.WaitGroup
	if r.events != nil {
		sent.Go(func() {
			if err := r.events.Send(ctx, r.now(), d); err != nil {
				r.log.ErrorContext(ctx, "decision event failed", "trail", d.TrailARN, "error", err.Error())
			}
		})
	}
	if r.notifier != nil {
		if err := r.notifier.Notify(ctx, d); err != nil {
			r.log.ErrorContext(ctx, "notification failed", "trail", d.TrailARN, "error", err.Error())
		}
	}
	sent.Wait()
}

// sameOutcome says whether saving next would change nothing, so a no-op event writes nothing.
func sameOutcome(rec, next registry.Record) bool {
	return rec.Status == next.Status && next.LastRemediation == rec.LastRemediation && len(rec.Repairs) == len(next.Repairs)
}

// carryWrites makes a decision own the writes an earlier attempt of it made before its save lost to a concurrent
// invocation (issue 19, case 7: an event and a sweep repairing the same drift at once). Both wrote, so both decision
// log lines name their writes, and the repair history, which decides when a trail is contested, counts each.
func carryWrites(d *notify.Decision, next *registry.Record, earlier notify.Decision, now time.Time) {
	d.Repairs = append(slices.Clone(earlier.Repairs), d.Repairs...)
	next.Repairs = append(next.Repairs, now)
	if d.Action != notify.ActionNone {
		return
	}
	d.Action, d.Drift = earlier.Action, earlier.Drift
	d.Result = earlier.Result + " (a concurrent invocation saved its decision first)"
	next.LastRemediation = &registry.Remediation{At: now, EventID: d.EventID, EventName: d.EventName, Actor: d.Actor,
		Drift: d.Drift, Action: d.Action, Result: d.Result}
}

// byPack keeps the trails whose CIS monitoring pack an event names: an alarm under the trail's own prefix, or the
// topic its alarms notify. Alarms of other names are nobody trailguard guards.
func byPack(trig trigger.Trigger) func(registry.Record) bool {
	return func(rec registry.Record) bool {
		if !rec.Target.Pack.On() {
			return false
		}
		if trig.Topic != "" && trig.Topic == rec.Target.Pack.TopicARN {
			return true
		}
		prefix := rec.Target.PackNames().Prefix
		return slices.ContainsFunc(trig.Alarms, func(a string) bool { return strings.HasPrefix(a, prefix) })
	}
}
