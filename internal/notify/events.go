package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// A decision event on the account's default event bus: what the member stack's rule forwards to the organization's
// central bus (infra/stacks/orgmember.go), and what the central account's metric filters count.
const (
	EventSource     = "trailguard"
	EventDetailType = "trailguard decision"
)

// EventPutter is the part of the EventBridge client the EventSender uses.
type EventPutter interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventSender puts a decision's metrics on the account's default event bus, in the function's own account and
// region. EventBridge stamps every event with the account and region it was put in, and keeps them when a rule
// forwards it to another account's bus: so the central account reads who sent a decision from fields no member
// can set for another account.
type EventSender struct{ eb EventPutter }

// NewEventSender returns an EventSender putting events with p, a client of the function's own region. A nil
// *EventSender sends nothing (the standalone stack has no central bus).
func NewEventSender(p EventPutter) *EventSender { return &EventSender{eb: p} }

// EventTimeout bounds a decision event, which gets one attempt and no retries. The event only feeds the central
// account's counters; the decision is already logged with its metrics and notified, so a throttled PutEvents (the
// account's quota is shared with every other principal of the account) fails at once instead of holding a sweep's
// repairs through backoffs, and a hung one is given up after this long: far above a PutEvents' tens of
// milliseconds, far below the remediator's 5-minute timeout.
const EventTimeout = 10 * time.Second

// Send puts d's metrics record (the embedded-metric-format line's fields, without its metadata) on the default bus.
func (s *EventSender) Send(ctx context.Context, at time.Time, d Decision) error {
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, EventTimeout)
	defer cancel()
	rec := newMetricsRecord(d)
	detail, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode the decision event of trail %s: %w", rec.Trail, err)
	}
	entry := types.PutEventsRequestEntry{
		Source: aws.String(EventSource), DetailType: aws.String(EventDetailType), Detail: aws.String(string(detail)),
		Time: aws.Time(at),
	}
	if d.TrailARN != "" {
		entry.Resources = []string{d.TrailARN}
	}
	out, err := s.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}},
		func(o *eventbridge.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return fmt.Errorf("put the decision event of trail %s: %w", rec.Trail, err)
	}
	// PutEvents answers 200 with the entries it refused.
	if out.FailedEntryCount > 0 {
		code, msg := "", ""
		if len(out.Entries) > 0 {
			code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("put the decision event of trail %s: refused: %s %s", rec.Trail, code, msg)
	}
	return nil
}
