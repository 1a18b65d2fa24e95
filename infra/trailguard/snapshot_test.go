package trailguard_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/trailguard"
)

var update = flag.Bool("update", false, "rewrite testdata/*.template.json from the synthesized templates")

// TestConsumerTemplateMatchesSnapshot pins what a consumer stack gets from the construct with every prop set.
func TestConsumerTemplateMatchesSnapshot(t *testing.T) {
	_, stack := newStack()
	trailguard.NewTrailCloudWatchLogs(stack, jsii.String("Delivery"), &trailguard.TrailCloudWatchLogsProps{
		TrailName: "management-trail", LogGroupName: "audit/trail", RetentionInDays: 400, RoleName: "delivery",
		Remediation: trailguard.RemediationEnforce, EnforceLogging: jsii.Bool(true), DeleteLogGroupOnDelete: true,
	})
	b, err := json.MarshalIndent(assertions.Template_FromStack(stack, nil).ToJSON(), "", "  ")
	require.NoError(t, err)
	got := append(b, '\n')
	path := filepath.Join("testdata", "consumer.template.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no snapshot: run `go test ./infra/... -update` and review the diff")
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the synthesized template; if intended, run `go test ./infra/... -update`", path)
	}
}
