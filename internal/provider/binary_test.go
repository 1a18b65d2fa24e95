package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// startBinary runs the built provider bootstrap against moto through the Lambda Runtime API, as Lambda would.
func startBinary(t *testing.T, f *fixture) (*testbed.Runtime, *testbed.Logs) {
	t.Helper()
	bootstrap, err := testbed.BuildFunction("provider")
	require.NoError(t, err)
	rt, err := testbed.StartRuntime()
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	logs := &testbed.Logs{}
	env := append(f.moto.Env(testbed.Region), lambdaenv.RegistryTable+"="+testbed.RegistryTable, lambdaenv.LocalRun+"=true")
	env = append(env, testbed.DeliveryEnv()...)
	fn, err := testbed.StartFunction(bootstrap, rt, env, logs)
	require.NoError(t, err)
	t.Cleanup(fn.Stop)
	return rt, logs
}

func invoke(t *testing.T, rt *testbed.Runtime, payload []byte) testbed.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := rt.Invoke(ctx, payload, 30*time.Second)
	require.NoError(t, err)
	return res
}

func TestBinaryCreateAndDeleteThroughTheRuntimeAPI(t *testing.T) {
	f := newFixture(t)
	rt, logs := startBinary(t, f)

	for _, name := range []string{"create", "delete"} {
		raw, err := json.Marshal(f.event(t, name, nil))
		require.NoError(t, err)
		res := invoke(t, rt, raw)
		require.Nil(t, res.Error, "once CloudFormation has its answer, Lambda gets nil: %v", res.Error)
		got, err := f.s3.WaitFor(5 * time.Second)
		require.NoError(t, err)
		assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
		assert.Equal(t, testbed.TrailARN, got.Body.PhysicalResourceID)
		assert.Equal(t, "PUT", got.Method)
		assert.True(t, got.HasContentType && got.ContentType == "")
		if name == "create" {
			group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
			require.NoError(t, err)
			assert.Equal(t, got.Body.Data["LogGroupArn"], group)
		}
	}
	assert.NotContains(t, logs.String(), "X-Amz-Signature", "the pre-signed URL is never logged in full")
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		assert.True(t, json.Valid([]byte(line)), "every log line is JSON: %s", line)
	}
}

func TestBinaryRejectsEventsItCannotAnswer(t *testing.T) {
	f := newFixture(t)
	rt, logs := startBinary(t, f)

	noURL := f.event(t, "create", func(ev map[string]any) { delete(ev, "ResponseURL") })
	forged := f.event(t, "create", func(ev map[string]any) { ev["ResponseURL"] = "https://attacker.example/collect" })
	for name, payload := range map[string]any{"not JSON": "{\"RequestType\": ", "empty": "", "no ResponseURL": noURL, "forged URL": forged} {
		raw, ok := payload.(string)
		if !ok {
			b, err := json.Marshal(payload)
			require.NoError(t, err)
			raw = string(b)
		}
		res := invoke(t, rt, []byte(raw))
		require.NotNil(t, res.Error, "%s: Lambda gets the error, since no one else can", name)
		assert.NotEmpty(t, res.Error.Message, name)
	}
	assert.Empty(t, f.s3.Responses(), "nothing was sent anywhere")
	assert.NotContains(t, logs.String(), "attacker.example/collect")
	assert.NotContains(t, logs.String(), "panic")

	// The process survived all of that and still serves a good request.
	raw, err := json.Marshal(f.event(t, "create", nil))
	require.NoError(t, err)
	require.Nil(t, invoke(t, rt, raw).Error)
	got, err := f.s3.WaitFor(5 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
}

func TestBinaryRetriesTheResponseAndCapsItsSize(t *testing.T) {
	f := newFixture(t)
	f.s3.Close()
	f.s3 = testbed.NewResponseServer(500, 500)
	t.Cleanup(f.s3.Close)
	rt, _ := startBinary(t, f)

	// Hundreds of unknown properties make a reason of well over 10 KB.
	ev := f.event(t, "create", func(ev map[string]any) {
		for i := range 300 {
			props(ev)[fmt.Sprintf("UnknownPropertyWithALongName%03d", i)] = "x"
		}
	})
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.Nil(t, invoke(t, rt, raw).Error)

	got := f.s3.Responses()
	require.Len(t, got, 3, "500, 500, then 200: three PUTs")
	last := got[2]
	assert.Equal(t, "FAILED", last.Body.Status)
	assert.LessOrEqual(t, last.Size, 4096)
	assert.Contains(t, last.Body.Reason, "UnknownPropertyWithALongName000")
	assert.Empty(t, f.rec.Writes())
}
