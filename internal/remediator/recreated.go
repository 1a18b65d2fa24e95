package remediator

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/trigger"
)

// A trail deleted and created again under the same name has the same ARN but is a new trail: whoever re-created it
// chose its bucket, key, validation and tags. The registration was made for the old trail, so before anything is
// written to the new one its consent is checked again (issue 19, case 6): its own tags must name the registered
// owner by id (the account policy: it must not opt out). Its posture is compared with the recorded one by the
// usual check, so a different bucket, key or validation setting is reported, never accepted in silence.

// tagStackID is the tag CloudFormation puts on a trail a stack declares.
const tagStackID = "aws:cloudformation:stack-id"

// recreatedRefusal says why a registered trail that was gone and exists again may not be wired, or "" when it may
// (or when it was never gone).
func (r *Remediator) recreatedRefusal(ctx context.Context, rec registry.Record, found []delivery.Drift) (string, error) {
	if rec.Status != registry.Gone || slices.ContainsFunc(found, func(d delivery.Drift) bool { return d.Kind == delivery.TrailMissing }) {
		return "", nil
	}
	tags, err := r.engine.TrailTags(ctx, rec.TrailARN)
	if err != nil {
		return "", err
	}
	if rec.Owner == registry.AccountPolicy {
		if strings.EqualFold(strings.TrimSpace(tags[TagOptOut]), "true") {
			return "the re-created trail is tagged " + TagOptOut + "=true", nil
		}
		return "", nil
	}
	if tags[tagStackID] == rec.Owner.StackID || tags[delivery.TagManagedBy] == rec.Owner.StackID {
		return "", nil
	}
	return fmt.Sprintf("the trail was deleted and created again, and the new trail does not name the registered stack %s by "+
		"id (tag %s=%s, or declare it in that stack): nothing written until it does, or the stack is updated",
		rec.Owner.StackID, delivery.TagManagedBy, rec.Owner.StackID), nil
}

// holdRecreated reports, once, a re-created trail that may not be wired, and keeps its record gone.
func (r *Remediator) holdRecreated(trig trigger.Trigger, rec registry.Record, why string) (notify.Decision, registry.Record) {
	d := decision(trig, rec)
	d.Action, d.Drift, d.Result = notify.ActionReported, []string{why}, "not wired: the re-created trail has not consented"
	next := rec
	if last := rec.LastRemediation; last != nil && last.Action == notify.ActionReported && slices.Equal(last.Drift, d.Drift) {
		d.Repeated = true
		return d, next
	}
	next.LastRemediation = &registry.Remediation{At: r.now().UTC(), EventID: trig.EventID, EventName: d.EventName,
		Actor: trig.Actor, Drift: d.Drift, Action: d.Action, Result: d.Result}
	return d, next
}
