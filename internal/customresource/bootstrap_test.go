package customresource

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// TestBootstrapRefusesForgedRequestsAndAnswersDeepOnes runs the built provider as the tests and the demo do
// (TRAILGUARD_LOCAL_RUN=true, a loopback stand-in for the ResponseURL, the Runtime API sending moto's account and
// us-east-1 as the invoked function): forged requests reach no AWS endpoint and no ResponseURL, and an event
// nested past encoding/json's limit, which aws-lambda-go used to refuse before the wrapper saw it, is answered, and
// hostile property names reach the Reason escaped.
// No AWS call is needed, so AWS_ENDPOINT_URL is a stand-in that counts whatever reaches it.
func TestBootstrapRefusesForgedRequestsAndAnswersHostileOnes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider")
	}
	bootstrap, err := testbed.BuildFunction("provider")
	require.NoError(t, err)
	var awsCalls atomic.Int64
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		awsCalls.Add(1)
		http.Error(w, "no AWS call is expected", http.StatusInternalServerError)
	}))
	defer endpoint.Close()
	rs := testbed.NewResponseServer()
	defer rs.Close()
	rt, err := testbed.StartRuntime()
	require.NoError(t, err)
	defer rt.Close()
	logs := &testbed.Logs{}
	fn, err := testbed.StartFunction(bootstrap, rt, []string{
		"AWS_REGION=" + testbed.Region, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_ENDPOINT_URL=" + endpoint.URL, lambdaenv.LocalRun + "=true", lambdaenv.RegistryTable + "=" + testbed.RegistryTable,
	}, logs)
	require.NoError(t, err)
	defer fn.Stop()
	invoke := func(t *testing.T, raw []byte) testbed.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := rt.Invoke(ctx, raw, 30*time.Second)
		require.NoError(t, err, "%v\n%s", err, logs.String())
		return res
	}
	// local points a sample's ResponseURL at the stand-in, as the demo does, unless it is the URL under test.
	local := func(t *testing.T, name string) []byte {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(readSample(t, name), &ev))
		ev["ResponseURL"] = rs.URL(ev["RequestId"].(string))
		raw, _ := json.Marshal(ev)
		return raw
	}

	for name, raw := range map[string][]byte{
		"other account":   local(t, "bad/forged-delete-other-account.json"),
		"other region":    local(t, "bad/forged-delete-other-region.json"),
		"other partition": local(t, "bad/forged-delete-other-partition.json"),
		"other bucket":    readSample(t, "bad/forged-delete-other-bucket.json"),
	} {
		res := invoke(t, raw)
		assert.False(t, res.Error == nil || !strings.Contains(res.Error.Message, "StackId") &&
			!strings.Contains(res.Error.Message, "ResponseURL"),
			"%s: Lambda got %+v, want an error naming the field", name, res.Error)
	}
	n := len(rs.Responses())
	require.False(t, n != 0 || awsCalls.Load() != 0,
		"forged requests made %d responses and %d AWS calls, want none\n%s", n, awsCalls.Load(), logs.String())
	// The log reaches us through a pipe, after the answer: wait for it, generously.
	refusals := func() int { return strings.Count(logs.String(), `"msg":"custom resource event refused`) }
	for end := time.Now().Add(10 * time.Second); refusals() < 4 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	logged := refusals()
	assert.Equal(t, 4, logged, "%d refusals logged, want 4:\n%s", logged, logs.String())

	var ev map[string]any
	require.NoError(t, json.Unmarshal(local(t, "delete.json"), &ev))
	delete(ev, "ResourceProperties")
	head, _ := json.Marshal(ev)
	deep := strings.TrimSuffix(string(head), "}") + `,"ResourceProperties":` + nested(10_001) + "}"
	res := invoke(t, []byte(deep))
	require.Nil(t, res.Error, "a deep event: %v\n%s", res.Error, logs.String())
	got := rs.Responses()
	require.False(t, len(got) != 1 || got[0].Body.Status != StatusFailed ||
		!strings.Contains(got[0].Body.Reason, "ResourceProperties is nested 10001 levels deep"),
		"a deep event: responses %+v, want one FAILED naming the nesting", got)
	assert.Equal(t, int64(0), awsCalls.Load(), "a deep event made %d AWS calls", awsCalls.Load())

	// A property named with terminal escapes, NUL, a line break, an RTL override and a C1 CSI: the provider names
	// it in its FAILED Reason, which CloudFormation shows in consoles and terminals.
	res = invoke(t, local(t, "bad/control-characters.json"))
	require.Nil(t, res.Error, "hostile property names: %v\n%s", res.Error, logs.String())
	got = rs.Responses()
	require.False(t, len(got) != 2 || got[1].Body.Status != StatusFailed ||
		!strings.Contains(got[1].Body.Reason, `\u001b]8;;https://evil.example\u0007Click`),
		"hostile property names: responses %+v, want a FAILED naming the property, escaped", got)
	controlFree(t, "the Reason", got[1].Body.Reason)
}
