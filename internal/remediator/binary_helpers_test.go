package remediator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// binary is the built remediator bootstrap polling a Lambda Runtime API, with the fixture's moto, registry table
// and topic: the remediator as Lambda runs it. Its stdout lines are in logs.
type binary struct {
	f    *fixture
	rt   *testbed.Runtime
	logs *testbed.Logs
}

// startBinary builds and starts the remediator bootstrap against f's world; it stops when the test ends.
func (f *fixture) startBinary(t *testing.T) *binary {
	t.Helper()
	bootstrap, err := testbed.BuildFunction("remediator")
	require.NoError(t, err)
	rt, err := testbed.StartRuntime()
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	logs := &testbed.Logs{}
	env := append(f.moto.Env(testbed.Region), lambdaenv.RegistryTable+"="+testbed.RegistryTable, lambdaenv.TopicARN+"="+f.topicARN)
	fn, err := testbed.StartFunction(bootstrap, rt, env, logs)
	require.NoError(t, err)
	t.Cleanup(fn.Stop) // runs before rt.Close: cleanups run last-registered first
	return &binary{f: f, rt: rt, logs: logs}
}

// sample is the real-shape event events/remediator/NAME.json.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "remediator", name+".json"))
	require.NoError(t, err)
	return raw
}

// invokeRaw hands the function one event and returns its answer; a minute is generous on a loaded machine.
func (b *binary) invokeRaw(t *testing.T, event []byte) testbed.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.f.ctx, time.Minute)
	defer cancel()
	res, err := b.rt.Invoke(ctx, event, 30*time.Second)
	require.NoError(t, err)
	return res
}

// invoke hands the function the sample NAME and returns its answer.
func (b *binary) invoke(t *testing.T, name string) testbed.Response {
	t.Helper()
	return b.invokeRaw(t, sample(t, name))
}

// decision waits for the decision line the function logged for an event and returns it. Its stdout can still be in
// the pipe when its answer has arrived, so it waits, generously.
func (b *binary) decision(t *testing.T, eventName string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	d := decisionIn(b.logs.Lines(), eventName)
	for ; d == nil && time.Now().Before(deadline); d = decisionIn(b.logs.Lines(), eventName) {
		time.Sleep(50 * time.Millisecond)
	}
	require.NotNil(t, d, "no decision for %s in:\n%s", eventName, strings.Join(b.logs.Lines(), "\n"))
	return d
}

// mustInvoke hands the function the sample NAME and requires that it answered without an error.
func (b *binary) mustInvoke(t *testing.T, name string) {
	t.Helper()
	require.Nil(t, b.invoke(t, name).Error, name)
}
