package customresource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Wrap turns a Handler into a Lambda handler (for lambda.Start) that answers CloudFormation exactly once.
//
// It returns nil once a response, SUCCESS or FAILED, has been accepted at the ResponseURL: a Lambda retry would
// only answer twice. It returns an error when the event cannot be answered or the response PUT finally failed;
// a Lambda retry of the asynchronous invocation is then the only hope, which is why handlers must be safe to run
// twice.
func Wrap(h Handler, opts ...Option) LambdaFunc {
	c := newConfig(opts)
	return func(ctx context.Context, raw json.RawMessage) error { return c.serve(ctx, h, raw) }
}

// LambdaFunc is the function Wrap returns. It is also a lambda.Handler (its Invoke method), which lambda.Start
// prefers to a plain function: it then hands over the payload's bytes as they came, instead of decoding them into
// a json.RawMessage first. That decoding refuses JSON nested more than 10,000 levels, and such an event would
// fail before this package saw it, with no answer to CloudFormation and no log line.
type LambdaFunc func(ctx context.Context, raw json.RawMessage) error

// Invoke serves one invocation with the payload as Lambda delivered it. It returns JSON null: CloudFormation
// reads the answer at the ResponseURL, never from Lambda.
func (f LambdaFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if err := f(ctx, payload); err != nil {
		return nil, err
	}
	return []byte("null"), nil
}

func (c *config) serve(ctx context.Context, h Handler, raw json.RawMessage) error {
	start := time.Now()
	fn, fnErr := functionOrigin(ctx, c.region)
	req, malformed, err := decode(raw, c.allowLoopback, fn, fnErr)
	if err != nil {
		attrs := []any{"error", err.Error(), "event_bytes", len(raw)}
		var de *decodeError
		if errors.As(err, &de) && de.Field != "" {
			attrs = append(attrs, "field", de.Field)
		}
		if de != nil && de.Host != "" {
			attrs = append(attrs, "response_host", de.Host)
		}
		c.log.ErrorContext(ctx, "custom resource event refused: not answered, handler not run", attrs...)
		return err
	}
	log := c.log.With("request_type", req.RequestType, "logical_resource_id", req.LogicalResourceID,
		"stack_id", req.StackID, "request_id", req.RequestID, "response_host", hostOf(req.ResponseURL))

	r, suffix := c.run(ctx, log, h, req, malformed, start)
	r, body := encode(r, suffix)
	attempts, err := c.put(ctx, log, req.ResponseURL, body)
	attrs := []any{"status", r.Status, "physical_resource_id", r.PhysicalResourceID, "attempts", attempts,
		"response_bytes", len(body), "duration_ms", time.Since(start).Milliseconds()}
	if r.Status == StatusFailed {
		attrs = append(attrs, "reason", r.Reason)
	}
	if err != nil {
		log.ErrorContext(ctx, "custom resource response could not be sent; returning the error so Lambda retries",
			append(attrs, "error", err.Error())...)
		return err
	}
	level := slog.LevelInfo
	if r.Status == StatusFailed {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "custom resource request answered", attrs...)
	return nil
}

type outcome struct {
	res Result
	err error
}

// run produces the one response: from the handler, or FAILED when the request is malformed, the handler fails
// or panics, or its time is up. The second value is appended to a FAILED Reason and survives truncation.
func (c *config) run(ctx context.Context, log *slog.Logger, h Handler, req Request, malformed error, start time.Time) (response, string) {
	r := response{StackID: req.StackID, RequestID: req.RequestID, LogicalResourceID: req.LogicalResourceID}
	suffix := ""
	if c.logStream != "" {
		suffix = " See CloudWatch log stream: " + c.logStream
	}
	fail := func(reason string) (response, string) {
		r.Status, r.Reason = StatusFailed, reason
		r.PhysicalResourceID = req.PhysicalResourceID
		if req.RequestType == RequestCreate || r.PhysicalResourceID == "" {
			r.PhysicalResourceID = fallbackID(req)
		}
		return r, suffix
	}
	if malformed != nil {
		return fail(malformed.Error())
	}
	switch req.RequestType {
	case RequestCreate, RequestUpdate, RequestDelete:
	default:
		return fail(fmt.Sprintf("unknown RequestType %q: want Create, Update or Delete", req.RequestType))
	}

	work, cancel := c.workContext(ctx)
	defer cancel()
	var abandoned atomic.Bool
	done := make(chan outcome, 1) // buffered: a handler that returns late must not block forever
	go func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- outcome{err: fmt.Errorf("the handler panicked: %v", p)}
			}
		}()
		res, err := h(work, req)
		if abandoned.Load() {
			log.Warn("handler returned after the FAILED response was sent; its result is discarded",
				"error", errText(err))
		}
		done <- outcome{res: res, err: err}
	}()

	var o outcome
	select {
	case o = <-done:
	case <-work.Done():
		select {
		case o = <-done: // it finished just in time: use it
		default:
			abandoned.Store(true)
			return fail(timeoutReason(work, start))
		}
	}
	if o.err != nil {
		msg := o.err.Error()
		if msg == "" {
			msg = "the handler failed without saying why"
		}
		if errors.Is(o.err, context.DeadlineExceeded) && work.Err() != nil {
			msg = timeoutReason(work, start) + " (" + msg + ")"
		}
		return fail(msg)
	}

	r.Status, r.Data, r.NoEcho = StatusSuccess, o.res.Data, o.res.NoEcho
	r.PhysicalResourceID = o.res.PhysicalResourceID
	if r.PhysicalResourceID == "" && req.RequestType != RequestCreate {
		r.PhysicalResourceID = req.PhysicalResourceID
	}
	if r.PhysicalResourceID == "" {
		r.PhysicalResourceID = fallbackID(req)
	}
	return r, suffix
}

func timeoutReason(work context.Context, start time.Time) string {
	took := time.Since(start).Round(time.Millisecond)
	if errors.Is(work.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s: the work did not finish before the Lambda deadline; it is safe to retry", took)
	}
	return fmt.Sprintf("cancelled after %s: the invocation ended before the work finished; it is safe to retry", took)
}

// workContext is the handler's context: it ends a margin before the Lambda deadline, leaving time to PUT the
// FAILED. The margin is at most half the remaining time, so a short invocation still gets to do some work.
func (c *config) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.workTimeout > 0 {
		return context.WithTimeout(ctx, c.workTimeout)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(c.margin, time.Until(dl)/2)
	if margin < 0 {
		margin = 0
	}
	return context.WithDeadline(ctx, dl.Add(-margin))
}
