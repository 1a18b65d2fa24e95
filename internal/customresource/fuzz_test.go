package customresource

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzWrap feeds arbitrary events to Wrap. A JSON object is pointed at the stand-in for S3 (and given the function's own
// StackId when it has none) and must get exactly one response, unless its StackId is refused; anything else must
// get none, and an error. Nothing may panic. CI runs it with -fuzztime.
func FuzzWrap(f *testing.F) {
	seeds, err := filepath.Glob("../../events/provider/*.json")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed events in events/provider: %v", err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, junk := range []string{"", "null", "{}", "[]", `"x"`, "{", `{"RequestType":"Create"}`, `{"RequestType":7,"StackId":{}}`,
		`{"RequestType":"Update","ResourceProperties":"x","OldResourceProperties":[1]}`, "\xff\xfe", `{"RequestType":"Delete","LogicalResourceId":"\u0000\ud800"}`} {
		f.Add([]byte(junk))
	}

	s3 := newS3(f)
	var logs logBuffer
	// A handler that blocks ("block") is abandoned after 50ms of work, and the FAILED then has the rest of a 10s
	// invocation to arrive: no margin to race, however loaded the machine (it once had 5ms, and failed under load).
	opts := append(fastOptions(&logs), WithLogger(discardLogger()), withWorkTimeout(50*time.Millisecond))
	var blocked atomic.Int64 // handlers that started to block: each must be answered with a timeout
	h := func(ctx context.Context, req Request) (Result, error) {
		switch req.ResourceProperties["Behaviour"] {
		case "panic":
			panic("fuzz")
		case "fail":
			return Result{}, errors.New(req.LogicalResourceID)
		case "block":
			blocked.Add(1)
			<-ctx.Done()
			return Result{}, ctx.Err()
		}
		return Result{PhysicalResourceID: req.PhysicalResourceID, Data: map[string]any{"Echo": req.ResourceProperties}}, nil
	}
	f.Add([]byte(`{"RequestType":"Create","ResourceProperties":{"Behaviour":"panic"}}`))
	f.Add([]byte(`{"RequestType":"Update","ResourceProperties":{"Behaviour":"fail"}}`))
	f.Add([]byte(`{"RequestType":"Delete","ResourceProperties":{"Behaviour":"block"}}`))
	wrapped := Wrap(h, opts...)

	f.Fuzz(func(t *testing.T, raw []byte) {
		var obj map[string]json.RawMessage
		object := json.Unmarshal(raw, &obj) == nil && obj != nil
		trusted := false // the StackId is the function's own stack, so the request must be served
		if object {
			obj["ResponseURL"], _ = json.Marshal(s3.URL(requestID))
			if _, ok := obj["StackId"]; !ok {
				obj["StackId"], _ = json.Marshal(stackID)
			}
			var id string
			trusted = json.Unmarshal(obj["StackId"], &id) == nil && id == stackID
			raw, _ = json.Marshal(obj)
		}
		s3.Drain()
		blockedBefore := blocked.Load()
		ctx, cancel := context.WithTimeout(lambdaContext(), 10*time.Second)
		defer cancel()
		err := wrapped(ctx, raw)
		puts := s3.Drain()
		if !object {
			require.False(t, len(puts) != 0 || !errors.Is(err, ErrUnanswerable),
				"not an object: %d PUTs, error %v", len(puts), err)
			return
		}
		var de *decodeError
		if !trusted && errors.As(err, &de) && de.Field == "StackId" && len(puts) == 0 {
			return // a StackId of another stack, or no stack: refused
		}
		require.False(t, err != nil || len(puts) != 1,
			"an object with the function's StackId (%v): %d PUTs, error %v", trusted, len(puts), err)
		require.LessOrEqual(t, len(puts[0].Raw), MaxResponseBytes, "body of %d bytes", len(puts[0].Raw))
		var r response
		err = json.Unmarshal(puts[0].Raw, &r)
		require.False(t, err != nil || (r.Status != StatusSuccess && r.Status != StatusFailed),
			"body %s: %v", puts[0].Raw, err)
		require.False(t, r.Status == StatusFailed && r.Reason == "" && len(puts[0].Raw) < MaxResponseBytes-100,
			"FAILED without a reason: %s", puts[0].Raw)
		require.False(t, blocked.Load() != blockedBefore &&
			(r.Status != StatusFailed || !strings.Contains(r.Reason, "timed out after")),
			"a handler that never returned was answered %s %q, want FAILED saying it timed out", r.Status, r.Reason)
	})
}
