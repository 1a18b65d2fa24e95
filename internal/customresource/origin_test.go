package customresource

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// lambdaOptions are the wrapper as Lambda runs it: no loopback, the function's region, and every PUT, wherever it
// is addressed, delivered to s3 instead of the network, so that a request that should never be sent shows up there.
func lambdaOptions(logs *logBuffer, s3 *testbed.ResponseServer) []Option {
	return append(fastOptions(logs), WithLoopbackResponseURL(false), WithHTTPClient(&http.Client{Transport: s3.Transport()}))
}

// hosts lists the hosts the PUTs s3 received were addressed to.
func hosts(s3 *testbed.ResponseServer) []string {
	var h []string
	for _, r := range s3.Responses() {
		h = append(h, r.Host)
	}
	return h
}

func readSample(t *testing.T, name string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "provider", name))
	require.NoError(t, err)
	return raw
}

// TestForgedRequestsAreRefusedBeforeTheHandler: a Delete handed to the function by anyone allowed to invoke it,
// with a StackId copied from another account, region or partition, or a ResponseURL on any bucket but
// CloudFormation's for this region, runs nothing and sends nothing; the log names the field and the rule.
func TestForgedRequestsAreRefusedBeforeTheHandler(t *testing.T) {
	tests := []struct {
		sample, field, rule string
	}{
		{"bad/forged-delete-other-bucket.json", "ResponseURL", "not CloudFormation's response bucket cloudformation-custom-resource-response-useast1"},
		{"bad/forged-delete-other-region-bucket.json", "ResponseURL", "not CloudFormation's response bucket cloudformation-custom-resource-response-useast1"},
		{"bad/forged-delete-other-account.json", "StackId", "StackId is in account 210987654321, not this function's account 123456789012"},
		{"bad/forged-delete-other-region.json", "StackId", "StackId is in region eu-west-1, not this function's region us-east-1"},
		{"bad/forged-delete-other-partition.json", "StackId", "StackId is in partition aws-cn, not this function's partition aws"},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			var logs logBuffer
			var c calls
			s3 := newS3(t)
			h := c.wrap(func(context.Context, Request) (Result, error) { return Result{}, nil })
			err := Wrap(h, lambdaOptions(&logs, s3)...)(lambdaContext(), readSample(t, tt.sample))
			assert.False(t, !errors.Is(err, ErrUnanswerable) || !strings.Contains(err.Error(), tt.rule),
				"error %v, want one saying %q", err, tt.rule)
			assert.Equal(t, 0, c.count(), "the handler ran on a forged request")
			sent := hosts(s3)
			assert.Len(t, sent, 0, "PUT sent to %v", sent)
			out := logs.String()
			assert.False(t, strings.Count(out, "\n") != 1 || !strings.Contains(out, `"level":"ERROR"`) ||
				!strings.Contains(out, `"field":"`+tt.field+`"`) || !strings.Contains(out, tt.rule),
				"want one ERROR line naming %s and the rule, got:\n%s", tt.field, out)
			assertNoSecrets(t, out)
		})
	}

	// The same Delete as CloudFormation sends it is served, and answered at CloudFormation's bucket.
	var logs logBuffer
	var c calls
	s3 := newS3(t)
	h := c.wrap(func(context.Context, Request) (Result, error) { return Result{}, nil })
	err := Wrap(h, lambdaOptions(&logs, s3)...)(lambdaContext(), readSample(t, "delete.json"))
	require.NoError(t, err, "the genuine Delete: %v\n%s", err, logs.String())
	sent := hosts(s3)
	assert.False(t, c.count() != 1 || len(sent) != 1 ||
		sent[0] != "cloudformation-custom-resource-response-useast1.s3.amazonaws.com",
		"the genuine Delete: handler ran %d times, PUTs to %v", c.count(), sent)
}

// TestRequestsNeedTheFunctionsIdentity: outside local mode, an invocation without the invoked function's ARN (or
// with one of another partition than the ResponseURL's) cannot be checked, and is refused.
func TestRequestsNeedTheFunctionsIdentity(t *testing.T) {
	china := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		InvokedFunctionArn: "arn:aws-cn:lambda:cn-north-1:123456789012:function:trailguard-provider"})
	other := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:210987654321:function:trailguard-provider"})
	for name, tt := range map[string]struct {
		ctx    context.Context
		region string
		want   string
	}{
		"no Lambda context":     {context.Background(), "us-east-1", "no invoked function ARN"},
		"not a function ARN":    {lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: stackID}), "us-east-1", "not a Lambda function ARN"},
		"function in China":     {china, "cn-north-1", "not CloudFormation's response bucket cloudformation-custom-resource-response-cnnorth1"},
		"function elsewhere":    {other, "us-east-1", "not this function's account 210987654321"},
		"region from the env":   {lambdaContext(), "eu-west-1", "cloudformation-custom-resource-response-euwest1"},
		"ARN region, no config": {lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: strings.Replace(functionARN, "us-east-1", "eu-west-1", 1)}), "", "euwest1"},
	} {
		t.Run(name, func(t *testing.T) {
			var logs logBuffer
			var c calls
			s3 := newS3(t)
			h := c.wrap(func(context.Context, Request) (Result, error) { return Result{}, nil })
			opts := append(lambdaOptions(&logs, s3), WithRegion(tt.region))
			err := Wrap(h, opts...)(tt.ctx, readSample(t, "delete.json"))
			assert.False(t, !errors.Is(err, ErrUnanswerable) || !strings.Contains(err.Error(), tt.want),
				"error %v, want one saying %q", err, tt.want)
			assert.False(t, c.count() != 0 || len(hosts(s3)) != 0,
				"handler ran %d times, PUTs to %v", c.count(), hosts(s3))
		})
	}
}

// TestLocalMode: the demo and the tests answer a loopback stand-in for the ResponseURL. The built bootstrap still
// gets the invoked function's ARN from the Runtime API (testbed sends moto's account, us-east-1), so the StackId
// is checked as in Lambda; only a direct call from Go code, with no Lambda context, takes the stack's own origin.
func TestLocalMode(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	var c calls
	h := c.wrap(func(context.Context, Request) (Result, error) { return Result{}, nil })
	w := Wrap(h, fastOptions(&logs)...)
	err := w(context.Background(), event(t, f, nil))
	require.False(t, err != nil || c.count() != 1 || len(f.Responses()) != 1,
		"a direct call: %v, handler ran %d times, %d PUTs", err, c.count(), len(f.Responses()))
	forged := event(t, f, func(e map[string]any) { e["StackId"] = strings.Replace(stackID, "123456789012", "210987654321", 1) })
	err = w(lambdaContext(), forged)
	assert.False(t, !errors.Is(err, ErrUnanswerable) || c.count() != 1 || len(f.Responses()) != 1,
		"another account's stack in local mode: %v, handler ran %d times, %d PUTs", err, c.count(), len(f.Responses()))
}
