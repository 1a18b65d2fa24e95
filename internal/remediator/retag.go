package remediator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/trigger"
)

// askToRetag is the migration from consent by stack name to consent by stack id (issue 19, case 2): a guarded
// trail whose trailguard:managed-by tag names a stack by name is reported, once per tag value, with the stack id
// to put there instead. A name still admits what the allow-list does (wiring an unwired trail), so nothing breaks
// before the owner retags; it only stops admitting more. Trails with no record are not reported: trailguard has
// nowhere to remember that it told, and no stack id to offer.
func (r *Remediator) askToRetag(ctx context.Context, trig trigger.Trigger, recs []registry.Record, tags map[string]map[string]string, start time.Time) {
	for _, rec := range recs {
		name := tags[rec.TrailARN][delivery.TagManagedBy]
		if name == "" || strings.HasPrefix(name, "arn:") || rec.Owner == registry.AccountPolicy || rec.ConsentNotice == name {
			continue
		}
		use := "the id of stack " + name + " (arn:<partition>:cloudformation:<region>:<account>:stack/" + name + "/<uuid>)"
		if stackNameOf(rec.Owner.StackID) == name {
			use = rec.Owner.StackID
		}
		next := rec
		next.ConsentNotice = name
		var conflict *registry.ConflictError
		if err := r.reg.Save(ctx, next); errors.As(err, &conflict) {
			continue // another invocation wrote the record: the next sweep tells
		} else if err != nil {
			r.log.ErrorContext(ctx, "cannot record the consent notice", "trail", rec.TrailARN, "error", err.Error())
			continue
		}
		next.Version++
		r.cache.Put(next)
		d := decision(trig, rec)
		d.Action, d.Duration = notify.ActionConsentByName, r.now().Sub(start)
		d.Drift = []string{fmt.Sprintf("the trail's %s tag names stack %q by name, not by id", delivery.TagManagedBy, name)}
		d.Result = fmt.Sprintf("tag the trail %s=%s", delivery.TagManagedBy, use)
		r.report(ctx, d)
	}
}

// stackNameOf is the name inside a stack ARN (arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID).
func stackNameOf(stackID string) string {
	a, err := arn.Parse(stackID)
	if err != nil {
		return ""
	}
	if parts := strings.Split(a.Resource, "/"); len(parts) >= 2 {
		return parts[1]
	}
	return ""
}
