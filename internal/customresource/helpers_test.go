package customresource

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// newS3 starts the stand-in for the pre-signed response bucket for one test: it records every PUT and answers with
// the scripted statuses in turn (200 once the script is exhausted).
func newS3(t testing.TB, statuses ...int) *testbed.ResponseServer {
	t.Helper()
	s := testbed.NewResponseServer(statuses...)
	t.Cleanup(s.Close)
	return s
}

// requestID is the RequestId of the tests' events.
const requestID = "0f4e8d2a-5b6c-4d7e-8f90-a1b2c3d4e5f6"

// only returns the single response, failing the test unless exactly one arrived.
func only(t *testing.T, s3 *testbed.ResponseServer) response {
	t.Helper()
	puts := s3.Responses()
	require.Len(t, puts, 1, "got %d PUTs, want exactly 1", len(puts))
	return decodeBody(t, puts[0].Raw)
}

func decodeBody(t *testing.T, body []byte) response {
	t.Helper()
	var r response
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&r)
	require.NoError(t, err, "response body is not the expected JSON: %v\n%s", err, body)
	return r
}

// logBuffer captures slog JSON output; handler goroutines may still log after Wrap returns, hence testbed.Logs.
type logBuffer struct {
	testbed.Logs
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fastOptions keep retries and margins short so that tests and fuzz iterations are quick.
func fastOptions(logs *logBuffer) []Option {
	return []Option{
		WithLogger(logs.logger()),
		WithLoopbackResponseURL(true),
		WithRegion("us-east-1"),
		WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
		WithDeadlineMargin(50 * time.Millisecond),
		withMaxAttempts(4),
		withLogStream("2026/11/24/[$LATEST]abcdef"),
	}
}

// event builds a CloudFormation request addressed to the stand-in for S3.
func event(t *testing.T, s3 *testbed.ResponseServer, mutate func(map[string]any)) json.RawMessage {
	t.Helper()
	e := map[string]any{
		"RequestType":       "Create",
		"ServiceToken":      "arn:aws:lambda:us-east-1:123456789012:function:trailguard-provider",
		"ResponseURL":       s3.URL(requestID),
		"StackId":           stackID,
		"RequestId":         requestID,
		"LogicalResourceId": "TrailDelivery",
		"ResourceType":      "Custom::CloudTrailCloudWatchLogs",
		"ResourceProperties": map[string]any{
			"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:trailguard-provider",
			"TrailName":    "management-trail",
		},
	}
	if mutate != nil {
		mutate(e)
	}
	raw, err := json.Marshal(e)
	require.NoError(t, err)
	return raw
}

// calls counts handler invocations.
type calls struct {
	mu sync.Mutex
	n  int
}

func (c *calls) wrap(h Handler) Handler {
	return func(ctx context.Context, req Request) (Result, error) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		return h(ctx, req)
	}
}

func (c *calls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// stackID is a stack of the tests' function's own account and region.
const stackID = "arn:aws:cloudformation:us-east-1:123456789012:stack/test/5b8e6a20-c0a1-11ef-9a8c-0e2d3f4a5b6c"

// functionARN is the function the tests' invocations reach: moto's account, in us-east-1.
const functionARN = "arn:aws:lambda:us-east-1:123456789012:function:trailguard-provider"

// lambdaContext is the context Lambda gives an invocation of functionARN.
func lambdaContext() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID: "00000000-0000-4000-8000-000000000001", InvokedFunctionArn: functionARN,
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
