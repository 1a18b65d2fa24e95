package localrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func TestInvokeLocalSweep(t *testing.T) {
	testbed.NeedMoto(t)
	var out bytes.Buffer
	// A log folder deeper than any line may be wide: what is printed must not depend on where the run keeps it.
	logDir := filepath.Join(t.TempDir(), strings.Repeat("deep-folder/", 10))
	res, err := localrun.Invoke(context.Background(), &out, localrun.InvokeOptions{
		Function: "remediator", EventPath: "events/remediator/sweep.json", LogDir: logDir,
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
	assert.Contains(t, out.String(), localrun.ShowPath(res.LogPath))
	assert.Contains(t, out.String(), "\nremediator sweep → ok; nothing changed in AWS (", "the one-line summary comes first")
	assert.NotContains(t, out.String(), "null")
	for _, l := range strings.Split(out.String(), "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), localrun.Width, "line %q", l)
	}
}

func TestInvokeHeadlineSaysWhatWasAskedAnsweredAndChanged(t *testing.T) {
	create := []byte(`{"RequestType":"Create","ResourceProperties":{"TrailName":"management-trail"}}`)
	ok := localrun.InvokeResult{CFN: &testbed.CFNResponse{}}
	ok.CFN.Body.Status = "SUCCESS"
	assert.Equal(t, "provider Create of trail management-trail → SUCCESS; changed in AWS: IAM PutRolePolicy (41 ms)",
		localrun.Headline("provider", create, ok, "local", []string{"IAM.PutRolePolicy"}, 41*time.Millisecond))
	many := []string{"DynamoDB.PutItem", "CloudWatch Logs.CreateLogGroup", "CloudWatch Logs.PutRetentionPolicy", "IAM.CreateRole",
		"IAM.PutRolePolicy", "CloudTrail.UpdateTrail"}
	assert.Equal(t, "provider Create of trail management-trail → SUCCESS; changed in AWS: 6 writes, listed below (41 ms)",
		localrun.Headline("provider", create, ok, "local", many, 41*time.Millisecond), "one line, at most 100 columns")

	event := []byte(`{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"UpdateTrail"}}`)
	failed := localrun.InvokeResult{Response: testbed.Response{Error: &testbed.FunctionError{Type: "*fmt.wrapError", Message: "repair trail x: denied\nmore"}}}
	got := localrun.Headline("remediator", event, failed, "local", nil, time.Second)
	assert.Equal(t, "remediator on event UpdateTrail → error: repair trail x: denied; nothing changed in AWS (1000 ms)", got)
	assert.NotContains(t, got, "wrapError", "no internal type names")
}

func TestLogLineIsShortAndReadable(t *testing.T) {
	line := `{"time":"2026-11-25T12:00:00Z","level":"INFO","msg":"decision","trail_arn":"arn:aws:cloudtrail:us-east-1:123456789012:trail/t","action":"none","padding":"` + strings.Repeat("x", 900) + `"}`
	got := localrun.LogLine(line, 98)
	assert.True(t, strings.HasPrefix(got, "INFO decision action=none padding=xxx"), got)
	assert.Equal(t, 98, utf8.RuneCountInString(got))
	assert.NotContains(t, localrun.LogLine(`{"level":"INFO","msg":"m","trail_arn":"arn:aws:cloudtrail:us-east-1:123456789012:trail/t"}`, 98), "123456789012")
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
