package provider

import (
	"context"
	"slices"
	"strings"

	"github.com/trailguard/trailguard/internal/customresource"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
)

// tellFindings tells a person, once, that a trail as registered falls short of the CIS benchmark's trail audit:
// at its Create, and at an Update only when the findings changed. It is a finding, not drift: the registration
// stands and nothing is changed.
func (p *Provider) tellFindings(ctx context.Context, req customresource.Request, rec registry.Record, prior *registry.Record) {
	findings := delivery.CISFindings(rec.Target)
	if len(findings) == 0 || prior != nil && slices.Equal(findings, delivery.CISFindings(prior.Target)) {
		return
	}
	t := rec.Target
	p.log.WarnContext(ctx, "trail falls short of the CIS benchmark's trail audit", "trail", t.TrailARN, "findings", findings)
	if p.notifier == nil {
		return
	}
	d := notify.Decision{Trail: t.TrailName, TrailARN: t.TrailARN, Mode: string(rec.Spec.Remediation), Actor: req.StackID,
		ActorConfirmed: true, EventName: req.RequestType, Action: notify.ActionFinding, Drift: findings,
		Result: "registered as it is: " + strings.Join(findings, "; ")}
	if err := p.notifier.Notify(ctx, d); err != nil {
		p.log.ErrorContext(ctx, "notification failed", "trail", t.TrailARN, "error", err.Error())
	}
}

// keepPosture decides what an Update records as the trail's posture. Resolve read the live one; if it has lost
// something against the registered one (someone moved the archive since), only a stack with the trail's consent
// may accept that by its Update, and a person is told what was accepted. Any other stack's Update keeps the
// registered posture, so the loss stays drift. It returns the loss accepted.
func keepPosture(t *delivery.Target, prior *registry.Record, consented bool) []delivery.Drift {
	if prior == nil || prior.Target.Posture == nil || t.Posture == nil {
		return nil
	}
	loss := delivery.PostureLoss(*prior.Target.Posture, *t.Posture)
	if len(loss) == 0 {
		return nil
	}
	if !consented {
		t.Posture = prior.Target.Posture
		return nil
	}
	return loss
}

// tellAcceptedPosture tells a person that an Update recorded a posture that lost something against the one it
// replaces: never accepted in silence.
func (p *Provider) tellAcceptedPosture(ctx context.Context, req customresource.Request, rec registry.Record, loss []delivery.Drift) {
	if len(loss) == 0 {
		return
	}
	t := rec.Target
	p.log.WarnContext(ctx, "an Update accepted the trail's current posture", "trail", t.TrailARN, "accepted", delivery.Describe(loss))
	if p.notifier == nil {
		return
	}
	d := notify.Decision{Trail: t.TrailName, TrailARN: t.TrailARN, Mode: string(rec.Spec.Remediation), Actor: req.StackID,
		ActorConfirmed: true, EventName: req.RequestType, Action: notify.ActionPostureAccepted, Drift: delivery.Describe(loss),
		Result: "the stack's Update recorded the trail's current posture as its desired state"}
	if err := p.notifier.Notify(ctx, d); err != nil {
		p.log.ErrorContext(ctx, "notification failed", "trail", t.TrailARN, "error", err.Error())
	}
}
