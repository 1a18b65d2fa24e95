// Package customresource speaks CloudFormation's custom-resource protocol for a Lambda-backed resource.
//
// CloudFormation waits up to an hour for an answer that a crashed, timed-out or confused Lambda never sends, so
// the one promise this package keeps is: every request that carries a usable ResponseURL gets exactly one
// response, whether the handler succeeds, fails, panics, runs out of time, or its properties are malformed or
// nested too deep to decode. A request that cannot be answered (not a JSON object, no ResponseURL) is logged and
// returned to Lambda as an error.
//
// Anyone allowed to invoke the function (lambda:Invoke) can hand it an event, so before anything runs a request
// must be CloudFormation's for this function: its StackId in the function's own partition, account and region
// (partition and account from the invoked function's ARN, region from the function's environment), its
// ResponseURL https on CloudFormation's response bucket for that region. Anything else is refused like an event
// that cannot be answered: no handler, no PUT, an error log line naming the field and the rule, an error to Lambda.
//
// aws-lambda-go's cfn.LambdaWrap covers the happy path only; this wrapper adds the origin checks, the deadline,
// the retries, the 4,096-byte body cap, the PhysicalResourceId rules and Reasons free of control characters.
package customresource

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// The request types CloudFormation sends.
const (
	RequestCreate = "Create"
	RequestUpdate = "Update"
	RequestDelete = "Delete"
)

// The response statuses CloudFormation accepts.
const (
	StatusSuccess = "SUCCESS"
	StatusFailed  = "FAILED"
)

// MaxResponseBytes is the largest response body CloudFormation accepts.
const MaxResponseBytes = 4096

// Request is CloudFormation's request. The JSON names are the ones CloudFormation sends.
type Request struct {
	RequestType           string         `json:"RequestType"`
	RequestID             string         `json:"RequestId"`
	ResponseURL           string         `json:"ResponseURL"`
	ResourceType          string         `json:"ResourceType"`
	LogicalResourceID     string         `json:"LogicalResourceId"`
	StackID               string         `json:"StackId"`
	PhysicalResourceID    string         `json:"PhysicalResourceId,omitempty"`
	ServiceToken          string         `json:"ServiceToken,omitempty"`
	ResourceProperties    map[string]any `json:"ResourceProperties,omitempty"`
	OldResourceProperties map[string]any `json:"OldResourceProperties,omitempty"`
}

// Result is what a successful handler reports back to CloudFormation.
type Result struct {
	// PhysicalResourceID identifies the resource. Empty keeps the request's id (Update, Delete) or, on Create,
	// uses a fallback id (see IsFallbackID).
	PhysicalResourceID string
	// Data is exposed to Fn::GetAtt. It is never logged.
	Data map[string]any
	// NoEcho asks CloudFormation to mask Data in its console and API output.
	NoEcho bool
}

// Handler does the work of one request. Its ctx expires some margin before the Lambda deadline (see
// WithDeadlineMargin); a handler still running then has its result discarded.
type Handler func(ctx context.Context, req Request) (Result, error)

// Option configures Wrap.
type Option func(*config)

type config struct {
	log           *slog.Logger
	client        *http.Client
	allowLoopback bool
	// region is the function's own region, where the stacks it serves must be.
	region      string
	margin      time.Duration
	backoffBase time.Duration
	backoffMax  time.Duration
	maxAttempts int
	// attemptTimeout bounds one PUT, so that a hanging connection still leaves time to retry.
	attemptTimeout time.Duration
	// logStream is named in FAILED reasons so that an operator finds the log from the console.
	logStream string
	// workTimeout, when set, ends the handler's context this long after the request arrives instead of a margin
	// before the deadline: tests use it to expire a blocked handler without racing the Lambda deadline.
	workTimeout time.Duration
}

func newConfig(opts []Option) config {
	c := config{
		margin:         10 * time.Second,
		backoffBase:    250 * time.Millisecond,
		backoffMax:     5 * time.Second,
		maxAttempts:    8,
		attemptTimeout: 15 * time.Second,
		logStream:      lambdacontext.LogStreamName,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.client == nil {
		c.client = &http.Client{
			// A pre-signed S3 URL answers directly; following a redirect would send the response (and
			// possibly its Data) to a host nobody validated.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.backoffBase <= 0 {
		c.backoffBase = time.Millisecond
	}
	if c.backoffMax < c.backoffBase {
		c.backoffMax = c.backoffBase
	}
	if c.margin < 0 {
		c.margin = 0
	}
	return c
}

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithLoopbackResponseURL lets a ResponseURL be plain http on 127.0.0.1, localhost or [::1] with a port. Only for
// tests and the local demo: in Lambda it would let a hand-made event make the function call local services.
func WithLoopbackResponseURL(allow bool) Option { return func(c *config) { c.allowLoopback = allow } }

// WithRegion names the region the function runs in (Lambda's AWS_REGION): a request is served only for a stack of
// this region, with its ResponseURL on this region's CloudFormation response bucket. Unset, the region of the
// invoked function's ARN is used, which in Lambda is the same.
func WithRegion(region string) Option { return func(c *config) { c.region = region } }

// WithHTTPClient sets the client used for the response PUT. The default refuses redirects.
func WithHTTPClient(h *http.Client) Option { return func(c *config) { c.client = h } }

// WithDeadlineMargin sets how long before the Lambda deadline the handler's context expires and a FAILED goes
// out. Default 10s; it is never more than half the time the invocation has left, so that short test deadlines
// still leave the handler some time.
func WithDeadlineMargin(d time.Duration) Option { return func(c *config) { c.margin = d } }

// WithRetryBackoff sets the exponential backoff between response PUTs (default 250ms doubling up to 5s).
func WithRetryBackoff(base, max time.Duration) Option {
	return func(c *config) { c.backoffBase, c.backoffMax = base, max }
}

// withMaxAttempts bounds the PUTs when the invocation has no deadline (tests); in Lambda the deadline bounds them.
func withMaxAttempts(n int) Option { return func(c *config) { c.maxAttempts = n } }

// withLogStream replaces lambdacontext.LogStreamName, for tests.
func withLogStream(s string) Option { return func(c *config) { c.logStream = s } }

// withWorkTimeout gives the handler d, for tests: a handler that never returns is then abandoned after d while the
// invocation's deadline stays far away, so the FAILED that follows never races it, however loaded the machine.
func withWorkTimeout(d time.Duration) Option { return func(c *config) { c.workTimeout = d } }
