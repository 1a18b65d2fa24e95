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
