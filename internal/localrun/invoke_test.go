package localrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/localrun"
	"github.com/trailguard/trailguard/internal/testbed"
)

func TestInvokeLocalSweep(t *testing.T) {
	testbed.NeedMoto(t)
	var out bytes.Buffer
	res, err := localrun.Invoke(context.Background(), &out, localrun.InvokeOptions{
		Function: "remediator", EventPath: "events/remediator/sweep.json", LogDir: t.TempDir(),
		Getenv: func(string) string { return "" },
	})
	t.Log("\n" + out.String())
	require.NoError(t, err)
	require.Nil(t, res.Response.Error)
	assert.False(t, res.Failed("remediator"))
	assert.Equal(t, "null", string(res.Response.Payload))
	assert.Nil(t, res.CFN, "a remediator event has no ResponseURL")
	assert.Empty(t, res.Notifications, "the trail the provider wired has not drifted: nothing to tell")

	var decision map[string]any
	for _, l := range res.LogTail {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "log line %s", l)
		if m["msg"] == "decision" {
			decision = m
		}
	}
	require.NotNil(t, decision, "the sweep logged its decision about the registered trail")
	assert.Equal(t, "Sweep", decision["event_name"])
	assert.Equal(t, "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail", decision["trail_arn"])
	assert.Equal(t, "none", decision["action"])
	assert.Contains(t, out.String(), "set up: trail wired and registered by the provider")
	assert.Contains(t, out.String(), "answer: null")
	assert.Contains(t, out.String(), res.LogPath)
}

func TestInvokeAgainstAWSOnlyWhenMeant(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	base := localrun.InvokeOptions{Function: "provider", EventPath: "events/provider/create.json", Target: "aws", LogDir: t.TempDir()}

	o := base
	o.Getenv = env(map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"})
	_, err := localrun.Invoke(context.Background(), &bytes.Buffer{}, o)
	assert.ErrorIs(t, err, localrun.ErrNotMeant, "-target aws alone is not enough")

	o.Getenv = env(map[string]string{"TRAILGUARD_I_MEAN_IT": "yes"})
	_, err = localrun.Invoke(context.Background(), &bytes.Buffer{}, o)
	assert.ErrorContains(t, err, "AWS_REGION is not set")
	assert.ErrorContains(t, err, "aws configure export-credentials")

	o.Getenv = env(map[string]string{"TRAILGUARD_I_MEAN_IT": "yes", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIA",
		"AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"})
	_, err = localrun.Invoke(context.Background(), &bytes.Buffer{}, o)
	assert.ErrorContains(t, err, "AWS_ENDPOINT_URL is set")

	o = base
	o.Function, o.EventPath = "remediator", "events/remediator/sweep.json"
	o.Getenv = env(map[string]string{"TRAILGUARD_I_MEAN_IT": "yes", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIA",
		"AWS_SECRET_ACCESS_KEY": "s"})
	_, err = localrun.Invoke(context.Background(), &bytes.Buffer{}, o)
	assert.ErrorContains(t, err, "TRAILGUARD_REGISTRY_TABLE")
}

func TestInvokeRejectsBadArguments(t *testing.T) {
	for name, o := range map[string]localrun.InvokeOptions{
		"unknown function": {Function: "deployer", EventPath: "events/remediator/sweep.json"},
		"unknown target":   {Function: "remediator", EventPath: "events/remediator/sweep.json", Target: "prod"},
		"no event":         {Function: "remediator"},
		"missing event":    {Function: "remediator", EventPath: "events/remediator/nope.json"},
		"not JSON":         {Function: "remediator", EventPath: "events/remediator/bad/truncated.json"},
	} {
		_, err := localrun.Invoke(context.Background(), &bytes.Buffer{}, o)
		assert.Error(t, err, name)
	}
}
