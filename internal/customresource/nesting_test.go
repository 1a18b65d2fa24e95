package customresource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// nested is a JSON value nested depth levels deep: {"a":{"a":...{"a":"x"}...}}.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth) + `"x"` + strings.Repeat("}", depth)
}

// deepEvent is a CloudFormation request whose ResourceProperties are nested depth levels deep.
func deepEvent(t *testing.T, f *testbed.ResponseServer, depth int) []byte {
	t.Helper()
	head := event(t, f, func(e map[string]any) { e["RequestType"] = "Delete"; delete(e, "ResourceProperties") })
	// Spliced in as text: encoding/json cannot build (or read) a value this deep.
	return []byte(strings.TrimSuffix(string(head), "}") + `,"ResourceProperties":` + nested(depth) + "}")
}

// TestDeeplyNestedPropertiesAreAnsweredOnce: encoding/json refuses values nested more than 10,000 levels, and once
// refused the whole event, ResponseURL included, so CloudFormation got no answer for an hour (the issue's
// properties nested 10,000 deep make an event 10,001 deep). The envelope is now read without descending into the
// properties: properties encoding/json can decode reach the handler; deeper ones get one FAILED naming the field.
func TestDeeplyNestedPropertiesAreAnsweredOnce(t *testing.T) {
	for _, depth := range []int{10_000, 10_001, 100_000} {
		decodable := depth <= 10_000
		for name, via := range map[string]func(h Handler, opts ...Option) func(context.Context, []byte) error{
			"Wrap": func(h Handler, opts ...Option) func(context.Context, []byte) error {
				w := Wrap(h, opts...)
				return func(ctx context.Context, raw []byte) error { return w(ctx, raw) }
			},
			// What lambda.Start does with the value Wrap returns: the payload is decoded (or not) by aws-lambda-go first.
			"lambda.NewHandler": func(h Handler, opts ...Option) func(context.Context, []byte) error {
				lh := lambda.NewHandler(Wrap(h, opts...))
				return func(ctx context.Context, raw []byte) error { _, err := lh.Invoke(ctx, raw); return err }
			},
		} {
			t.Run(fmt.Sprintf("%s/%d", name, depth), func(t *testing.T) {
				f := newS3(t)
				var logs logBuffer
				var c calls
				h := c.wrap(func(context.Context, Request) (Result, error) { return Result{}, errors.New("handled") })
				err := via(h, fastOptions(&logs)...)(lambdaContext(), deepEvent(t, f, depth))
				require.NoError(t, err, "returned %v; want nil once the FAILED is sent\n%s", err, logs.String())
				r := only(t, f)
				if decodable {
					assert.False(t, c.count() != 1 || r.Status != StatusFailed ||
						!strings.HasPrefix(r.Reason, "handled"),
						"handler ran %d times, answer %s %q; want the handler's own FAILED", c.count(), r.Status, r.Reason)
				} else if assert.Equal(t, 0, c.count(), "the handler ran on properties that cannot be decoded") {
					assert.False(t, r.Status != StatusFailed || !strings.Contains(r.Reason,
						fmt.Sprintf("ResourceProperties is nested %d levels deep", depth)),
						"got %s %q, want FAILED naming ResourceProperties and its nesting", r.Status, r.Reason)
				}
			})
		}
	}
}
