package customresource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

const trailARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail"

func TestWrapSuccessBody(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	var got Request
	h := func(_ context.Context, req Request) (Result, error) {
		got = req
		return Result{PhysicalResourceID: trailARN, Data: map[string]any{"TrailArn": trailARN, "RoleName": "r"}}, nil
	}
	raw := event(t, f, nil)
	err := Wrap(h, fastOptions(&logs)...)(lambdaContext(), raw)
	require.NoError(t, err, "Wrap returned %v after a successful response", err)
	assert.False(t, got.RequestType != "Create" || got.LogicalResourceID != "TrailDelivery" ||
		got.ResourceProperties["TrailName"] != "management-trail" || got.ServiceToken == "",
		"handler got %+v", got)
	p := f.Responses()
	require.Len(t, p, 1, "got %d PUTs, want 1", len(p))
	assert.Equal(t, http.MethodPut, p[0].Method, "method %s, want PUT", p[0].Method)
	assert.False(t, !p[0].HasContentType || p[0].ContentType != "",
		"Content-Type %q (sent: %v), want present and empty: the URL was signed without one", p[0].ContentType, p[0].HasContentType)
	assert.Equal(t, int64(p[0].Size), p[0].ContentLength,
		"Content-Length %d, body %d bytes", p[0].ContentLength, p[0].Size)
	r := decodeBody(t, p[0].Raw)
	want := response{Status: StatusSuccess, PhysicalResourceID: trailARN, StackID: got.StackID,
		RequestID: got.RequestID, LogicalResourceID: "TrailDelivery"}
	assert.False(t, r.Status != want.Status || r.PhysicalResourceID != want.PhysicalResourceID ||
		r.StackID != want.StackID || r.RequestID != want.RequestID || r.LogicalResourceID != want.LogicalResourceID ||
		r.Reason != "" || r.NoEcho,
		"response %+v, want %+v", r, want)
	assert.False(t, r.Data["TrailArn"] != trailARN || r.Data["RoleName"] != "r", "Data %v", r.Data)
	out := logs.String()
	for _, want := range []string{`"status":"SUCCESS"`, `"request_type":"Create"`, `"logical_resource_id":"TrailDelivery"`,
		`"request_id":"0f4e8d2a-5b6c-4d7e-8f90-a1b2c3d4e5f6"`, `"stack_id":"arn:aws:cloudformation`, `"duration_ms"`} {
		assert.Contains(t, out, want, "log lacks %s:\n%s", want, out)
	}
	assertNoSecrets(t, out)
	assert.False(t, strings.Contains(out, "RoleName"), "log contains Data:\n%s", out)
}

func assertNoSecrets(t *testing.T, s string) {
	t.Helper()
	assert.False(t, strings.Contains(s, testbed.ResponseURLSignature) || strings.Contains(s, "X-Amz-Algorithm"),
		"the ResponseURL query string leaked:\n%s", s)
}

func TestWrapFailures(t *testing.T) {
	tests := []struct {
		name       string
		h          Handler
		wantReason string
	}{
		{"error", func(context.Context, Request) (Result, error) {
			return Result{}, fmt.Errorf("resolving trail: %w", errors.New("TrailNotFoundException"))
		}, "resolving trail: TrailNotFoundException"},
		{"panic", func(context.Context, Request) (Result, error) { panic("boom in handler") }, "the handler panicked: boom in handler"},
		{"runtime error", func(_ context.Context, req Request) (Result, error) {
			var ids []string
			return Result{PhysicalResourceID: ids[len(req.RequestType)]}, nil
		}, "index out of range"},
		{"empty error", func(context.Context, Request) (Result, error) { return Result{}, errors.New("") }, "without saying why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newS3(t)
			var logs logBuffer
			err := Wrap(tt.h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil))
			require.NoError(t, err, "Wrap returned %v after a FAILED was sent", err)
			r := only(t, f)
			assert.False(t, r.Status != StatusFailed || !strings.Contains(r.Reason, tt.wantReason),
				"got %s %q, want FAILED containing %q", r.Status, r.Reason, tt.wantReason)
			assert.True(t, strings.HasSuffix(r.Reason, " See CloudWatch log stream: 2026/11/24/[$LATEST]abcdef"),
				"reason %q does not point at the log stream", r.Reason)
			assert.True(t, IsFallbackID(r.PhysicalResourceID),
				"failed Create answered PhysicalResourceId %q, want a fallback id", r.PhysicalResourceID)
			assertNoSecrets(t, logs.String())
		})
	}
}

func TestWrapPhysicalResourceID(t *testing.T) {
	ok := func(id string) Handler {
		return func(context.Context, Request) (Result, error) { return Result{PhysicalResourceID: id}, nil }
	}
	fail := func(id string) Handler {
		return func(context.Context, Request) (Result, error) {
			return Result{PhysicalResourceID: id}, errors.New("no")
		}
	}
	const old = "arn:aws:cloudtrail:us-east-1:123456789012:trail/old"
	tests := []struct {
		name, requestType, requestID string
		h                            Handler
		want                         string // "fallback" for a fallback id
	}{
		{"create with id", "Create", "", ok(trailARN), trailARN},
		{"create without id", "Create", "", ok(""), "fallback"},
		{"create failed", "Create", "", fail(trailARN), "fallback"},
		{"update keeps request id", "Update", old, ok(""), old},
		{"update replaces", "Update", old, ok(trailARN), trailARN},
		{"update failed keeps request id", "Update", old, fail(trailARN), old},
		{"delete keeps request id", "Delete", old, ok(""), old},
		{"delete failed keeps request id", "Delete", old, fail(""), old},
		{"delete without any id", "Delete", "", fail(""), "fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newS3(t)
			var logs logBuffer
			raw := event(t, f, func(e map[string]any) {
				e["RequestType"] = tt.requestType
				if tt.requestID != "" {
					e["PhysicalResourceId"] = tt.requestID
				}
			})
			require.NoError(t, Wrap(tt.h, fastOptions(&logs)...)(lambdaContext(), raw))
			got := only(t, f).PhysicalResourceID
			if tt.want == "fallback" {
				assert.True(t, IsFallbackID(got), "PhysicalResourceId %q, want a fallback id", got)
			} else {
				assert.Equal(t, tt.want, got, "PhysicalResourceId %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFallbackID(t *testing.T) {
	req := Request{StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", LogicalResourceID: "Trail-Delivery_1", RequestID: "r1"}
	id := fallbackID(req)
	assert.Equal(t, fallbackID(req), id, "fallback id is not deterministic")
	assert.False(t, !IsFallbackID(id) || !strings.Contains(id, "TrailDelivery1"), "fallback id %q", id)
	other := req
	other.RequestID = "r2"
	assert.NotEqual(t, id, fallbackID(other), "two requests share a fallback id")
	long := req
	long.LogicalResourceID = strings.Repeat("é", 300) + strings.Repeat("A", 300)
	assert.False(t, !IsFallbackID(fallbackID(long)) || len(fallbackID(long)) > 128,
		"fallback id for a long logical id: %q", fallbackID(long))
	for _, id := range []string{"", trailARN, "trailguard-fallback-", "trailguard-fallback-X-0123", "x" + id, id + "0", "CFN-generated-id-123"} {
		assert.False(t, IsFallbackID(id), "IsFallbackID(%q) = true", id)
	}
}

func TestWrapDeadline(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	release := make(chan struct{})
	returned := make(chan struct{})
	h := func(ctx context.Context, req Request) (Result, error) {
		defer close(returned)
		<-release // ignores ctx, like work stuck in a call that does not honour it
		return Result{PhysicalResourceID: trailARN}, nil
	}
	// Seconds, not milliseconds: the FAILED is due at half the budget and has the other half to arrive, so a loaded
	// machine cannot make it late.
	const budget = 4 * time.Second
	ctx, cancel := context.WithTimeout(lambdaContext(), budget)
	defer cancel()
	deadline, _ := ctx.Deadline()
	opts := append(fastOptions(&logs), WithDeadlineMargin(budget/2))
	err := Wrap(h, opts...)(ctx, event(t, f, nil))
	require.NoError(t, err, "Wrap returned %v after sending FAILED", err)
	assert.False(t, time.Now().After(deadline), "Wrap returned after the Lambda deadline")
	p := f.Responses()
	require.Len(t, p, 1, "got %d PUTs, want 1", len(p))
	assert.True(t, p[0].At.Before(deadline), "FAILED arrived %s after the deadline", p[0].At.Sub(deadline))
	r := decodeBody(t, p[0].Raw)
	assert.False(t, r.Status != StatusFailed || !strings.Contains(r.Reason, "timed out after") ||
		!strings.Contains(r.Reason, "safe to retry"),
		"got %s %q", r.Status, r.Reason)
	close(release)
	<-returned
	time.Sleep(20 * time.Millisecond) // let a (wrong) second response arrive
	n := len(f.Responses())
	assert.Equal(t, 1, n, "a late handler result produced %d PUTs in total, want 1", n)
}

func TestWrapHandlerHonoursDeadline(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	var handlerDeadline time.Time
	h := func(ctx context.Context, req Request) (Result, error) {
		handlerDeadline, _ = ctx.Deadline()
		<-ctx.Done()
		return Result{}, fmt.Errorf("waiting for IAM: %w", ctx.Err())
	}
	ctx, cancel := context.WithTimeout(lambdaContext(), 4*time.Second)
	defer cancel()
	lambdaDeadline, _ := ctx.Deadline()
	// margin 1m would exceed half the 4s left, so it is capped at about 2s (half of what is left when Wrap starts:
	// less on a loaded machine, never more; a stall of 2s or more before Wrap starts is possible there, so the lower
	// bound is only that some margin is kept)
	require.NoError(t, Wrap(h, append(fastOptions(&logs), WithDeadlineMargin(time.Minute))...)(ctx, event(t, f, nil)))
	left := lambdaDeadline.Sub(handlerDeadline)
	assert.Positive(t, left, "the handler's deadline comes before the Lambda deadline")
	assert.LessOrEqual(t, left, 2*time.Second, "handler deadline %s before the Lambda deadline: capped at half the time left", left)
	r := only(t, f)
	assert.False(t, r.Status != StatusFailed || !strings.Contains(r.Reason, "timed out after"),
		"got %s %q", r.Status, r.Reason)
}

func TestWrapRetries(t *testing.T) {
	f := newS3(t, 500, 500, 200)
	var logs logBuffer
	h := func(context.Context, Request) (Result, error) { return Result{PhysicalResourceID: trailARN}, nil }
	err := Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil))
	require.NoError(t, err, "Wrap returned %v after the third PUT succeeded", err)
	p := f.Responses()
	require.Len(t, p, 3, "got %d PUTs, want 3", len(p))
	for i := range p {
		assert.Equal(t, string(p[0].Raw), string(p[i].Raw), "PUT %d sent a different body", i+1)
	}
	out := logs.String()
	assert.False(t, strings.Count(out, `"msg":"response PUT failed"`) != 2 ||
		!strings.Contains(out, `"http_status":500`) || !strings.Contains(out, `"attempt":3`),
		"log does not show the two failures and the third attempt:\n%s", out)
	assertNoSecrets(t, out)
}

func TestWrapRetryStatuses(t *testing.T) {
	tests := []struct {
		script  []int
		puts    int
		wantErr bool
	}{
		{[]int{403}, 1, true},
		{[]int{404}, 1, true},
		{[]int{429, 200}, 2, false},
		{[]int{503, 502, 500, 500, 500}, 4, true}, // withMaxAttempts(4)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.script), func(t *testing.T) {
			f := newS3(t, tt.script...)
			var logs logBuffer
			h := func(context.Context, Request) (Result, error) { return Result{}, nil }
			err := Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil))
			got := len(f.Responses())
			assert.Equal(t, tt.puts, got, "got %d PUTs, want %d", got, tt.puts)
			require.Equal(t, tt.wantErr, err != nil, "error %v, want error %v", err, tt.wantErr)
			if err != nil {
				var pe *putError
				assert.False(t, !errors.As(err, &pe) || pe.Status != tt.script[tt.puts-1] || pe.Attempts != tt.puts,
					"error %#v", err)
				assertNoSecrets(t, err.Error())
				assert.Contains(t, logs.String(),
					"could not be sent", "the final failure was not logged:\n%s", logs.String())
			}
			assertNoSecrets(t, logs.String())
		})
	}
}

func TestWrapNetworkErrorNeverLeaksURL(t *testing.T) {
	f := newS3(t)
	raw := event(t, f, nil)
	f.Close() // connection refused from now on
	var logs logBuffer
	h := func(context.Context, Request) (Result, error) { return Result{}, nil }
	err := Wrap(h, fastOptions(&logs)...)(lambdaContext(), raw)
	var pe *putError
	require.False(t, !errors.As(err, &pe) || pe.Attempts != 4 || pe.Status != 0,
		"got %v, want a putError after 4 attempts", err)
	assertNoSecrets(t, err.Error())
	assertNoSecrets(t, logs.String())
}

func TestWrapRetriesStopBeforeDeadline(t *testing.T) {
	f := newS3(t, 500, 500, 500, 500, 500, 500, 500, 500)
	var logs logBuffer
	h := func(context.Context, Request) (Result, error) { return Result{}, nil }
	ctx, cancel := context.WithTimeout(lambdaContext(), 3*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	opts := append(fastOptions(&logs), WithRetryBackoff(time.Second, 2*time.Second), withMaxAttempts(100))
	require.Error(t, Wrap(h, opts...)(ctx, event(t, f, nil)), "Wrap returned nil although every PUT failed")
	assert.False(t, time.Now().After(deadline), "retries went on past the deadline")
	n := len(f.Responses())
	assert.False(t, n < 1 || n > 3, "got %d PUTs in 3s with 1s+ backoff", n)
}

func TestWrapRedirectNotFollowed(t *testing.T) {
	elsewhere := newS3(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL(requestID), http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	var logs logBuffer
	raw, _ := json.Marshal(map[string]any{"RequestType": "Delete", "ResponseURL": redirector.URL + "/x?" + testbed.ResponseURLQuery, "StackId": stackID})
	var c calls
	h := c.wrap(func(context.Context, Request) (Result, error) { return Result{}, nil })
	assert.Error(t, Wrap(h, fastOptions(&logs)...)(lambdaContext(), raw), "a redirect was taken for success")
	require.Equal(t, 1, c.count(), "the handler ran %d times; the request never got to the response PUT", c.count())
	n := len(elsewhere.Responses())
	assert.Equal(t, 0, n, "the redirect was followed: %d PUTs elsewhere", n)
}

func TestWrapLongErrorIsTruncated(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	// 10 KB of text with multi-byte runes and characters JSON must escape, so a byte cut could split a rune.
	long := strings.Repeat("é<\"\n—", 10*1024/9+1)
	h := func(context.Context, Request) (Result, error) { return Result{}, errors.New("start " + long) }
	require.NoError(t, Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil)))
	p := f.Responses()
	require.Len(t, p, 1, "got %d PUTs", len(p))
	assert.False(t, len(p[0].Raw) >= MaxResponseBytes,
		"body is %d bytes, want under %d", len(p[0].Raw), MaxResponseBytes)
	assert.False(t, len(p[0].Raw) < MaxResponseBytes-64,
		"body is %d bytes: the reason was cut more than needed", len(p[0].Raw))
	r := decodeBody(t, p[0].Raw)
	assert.False(t, !utf8.ValidString(r.Reason) || !strings.HasPrefix(r.Reason, "start é<") ||
		!strings.HasSuffix(r.Reason, truncatedMark+" See CloudWatch log stream: 2026/11/24/[$LATEST]abcdef"),
		"reason %q", r.Reason)
}

func TestWrapDataTooLarge(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	h := func(context.Context, Request) (Result, error) {
		return Result{PhysicalResourceID: trailARN, Data: map[string]any{"Big": strings.Repeat("x", 5000)}}, nil
	}
	require.NoError(t, Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil)))
	r := only(t, f)
	assert.False(t, r.Status != StatusFailed || !strings.Contains(r.Reason, "Data is too large") || r.Data != nil,
		"got %s %q data=%d keys", r.Status, r.Reason, len(r.Data))
	assert.Equal(t, trailARN, r.PhysicalResourceID,
		"PhysicalResourceId %q: the resource exists, the rollback Delete must find it", r.PhysicalResourceID)
	assert.False(t, strings.Contains(logs.String(), "xxxxxxxx"), "Data was logged")
}

func TestWrapDataNotEncodable(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	h := func(context.Context, Request) (Result, error) {
		return Result{PhysicalResourceID: trailARN, Data: map[string]any{"C": make(chan int)}}, nil
	}
	require.NoError(t, Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil)))
	r := only(t, f)
	assert.False(t, r.Status != StatusFailed || !strings.Contains(r.Reason, "cannot be encoded"),
		"got %s %q", r.Status, r.Reason)
}

func TestWrapNoEcho(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	h := func(context.Context, Request) (Result, error) {
		return Result{PhysicalResourceID: trailARN, Data: map[string]any{"Secret": "hunter2"}, NoEcho: true}, nil
	}
	require.NoError(t, Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil)))
	r := only(t, f)
	assert.False(t, !r.NoEcho || r.Data["Secret"] != "hunter2", "NoEcho %v, Data %v", r.NoEcho, r.Data)
	assert.False(t, strings.Contains(logs.String(), "hunter2"), "NoEcho Data was logged")
}

func TestWrapAnswersWithoutCallingHandler(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(map[string]any)
		wantReason string
	}{
		{"unknown RequestType", func(e map[string]any) { e["RequestType"] = "Upsert" }, `unknown RequestType "Upsert"`},
		{"missing RequestType", func(e map[string]any) { delete(e, "RequestType") }, `unknown RequestType ""`},
		{"properties not an object", func(e map[string]any) { e["ResourceProperties"] = "TrailName=x" }, "ResourceProperties is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newS3(t)
			var logs logBuffer
			var c calls
			h := c.wrap(func(context.Context, Request) (Result, error) { return Result{}, nil })
			require.NoError(t, Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, tt.mutate)))
			assert.Equal(t, 0, c.count(), "the handler was called")
			r := only(t, f)
			assert.False(t, r.Status != StatusFailed || !strings.Contains(r.Reason, tt.wantReason),
				"got %s %q, want FAILED with %q", r.Status, r.Reason, tt.wantReason)
		})
	}
}

func TestWrapUnanswerable(t *testing.T) {
	f := newS3(t)
	withURL := func(u string) json.RawMessage {
		return event(t, f, func(e map[string]any) { e["ResponseURL"] = u })
	}
	loopback, err := url.Parse(f.URL(requestID))
	require.NoError(t, err)
	port := loopback.Port()
	tests := []struct {
		name     string
		raw      json.RawMessage
		loopback bool
		want     string
	}{
		{"nil", nil, true, "empty"},
		{"blank", json.RawMessage(" \n\t"), true, "empty"},
		{"not JSON", json.RawMessage(`{"RequestType": "Create", `), true, "not a JSON object"},
		{"array", json.RawMessage(`[1,2]`), true, "not a JSON object"},
		{"string", json.RawMessage(`"https://x.s3.amazonaws.com/?` + testbed.ResponseURLQuery + `"`), true, "not a JSON object"},
		{"null", json.RawMessage(`null`), true, "null"},
		{"no ResponseURL", event(t, f, func(e map[string]any) { delete(e, "ResponseURL") }), true, "no ResponseURL"},
		{"ResponseURL a number", event(t, f, func(e map[string]any) { e["ResponseURL"] = 7 }), true, "not a non-empty string"},
		{"evil host", withURL("https://evil.example/x?" + testbed.ResponseURLQuery), true, "not CloudFormation's response bucket"},
		{"no StackId", event(t, f, func(e map[string]any) { delete(e, "StackId") }), true, "no StackId"},
		{"StackId not a string", event(t, f, func(e map[string]any) { e["StackId"] = 42 }), true, "StackId is not a string"},
		{"StackId not a stack ARN", event(t, f, func(e map[string]any) { e["StackId"] = trailARN }), true, "not a CloudFormation stack ARN"},
		{"http non-loopback", withURL("http://example.com:" + port + "/x?" + testbed.ResponseURLQuery), true, "scheme"},
		{"loopback not allowed", withURL(f.URL(requestID)), false, "scheme"},
		{"loopback https not allowed", withURL("https://127.0.0.1:" + port + "/x?" + testbed.ResponseURLQuery), false, "port"},
		{"loopback without port", withURL("http://localhost/x?" + testbed.ResponseURLQuery), true, "explicit port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			var c calls
			h := c.wrap(func(context.Context, Request) (Result, error) { return Result{}, nil })
			opts := append(fastOptions(&logs), WithLoopbackResponseURL(tt.loopback))
			err := Wrap(h, opts...)(lambdaContext(), tt.raw)
			assert.False(t, !errors.Is(err, ErrUnanswerable) || !strings.Contains(err.Error(), tt.want),
				"error %v, want ErrUnanswerable saying %q", err, tt.want)
			assert.Equal(t, 0, c.count(), "the handler was called")
			out := logs.String()
			assert.False(t, !strings.Contains(out, `"level":"ERROR"`) || strings.Count(out, "\n") != 1,
				"want one ERROR line, got:\n%s", out)
			assertNoSecrets(t, out)
			assertNoSecrets(t, err.Error())
		})
	}
	n := len(f.Responses())
	assert.Equal(t, 0, n, "%d PUTs for unanswerable events", n)
}

func BenchmarkWrap(b *testing.B) {
	f := newS3(b)
	raw, _ := json.Marshal(map[string]any{"RequestType": "Create", "ResponseURL": f.URL(requestID), "StackId": stackID, "RequestId": "r", "LogicalResourceId": "L"})
	h := Wrap(func(context.Context, Request) (Result, error) { return Result{PhysicalResourceID: trailARN}, nil },
		WithLoopbackResponseURL(true), WithLogger(discardLogger()))
	ctx := lambdaContext()
	for b.Loop() {
		f.Drain()
		require.NoError(b, h(ctx, raw))
	}
}

type countingTransport struct{ n int }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return http.DefaultTransport.RoundTrip(r)
}

func TestWithHTTPClient(t *testing.T) {
	f := newS3(t)
	var logs logBuffer
	ct := &countingTransport{}
	h := func(context.Context, Request) (Result, error) { return Result{}, nil }
	opts := append(fastOptions(&logs), WithHTTPClient(&http.Client{Transport: ct}))
	require.NoError(t, Wrap(h, opts...)(lambdaContext(), event(t, f, nil)))
	assert.False(t, ct.n != 1 || len(f.Responses()) != 1,
		"custom client used %d times, %d PUTs", ct.n, len(f.Responses()))
}
