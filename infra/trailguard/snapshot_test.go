package trailguard_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/snapshot"
	"github.com/trailguard/trailguard/infra/trailguard"
)

// TestConsumerTemplateMatchesSnapshot pins what a consumer stack gets from the construct with every prop set.
func TestConsumerTemplateMatchesSnapshot(t *testing.T) {
	_, stack := newStack()
	trailguard.NewTrailCloudWatchLogs(stack, jsii.String("Delivery"), &trailguard.TrailCloudWatchLogsProps{
		TrailName: "management-trail", LogGroupName: "audit/trail", RetentionInDays: 400, RoleName: "delivery",
		Remediation: trailguard.RemediationEnforce, EnforceLogging: jsii.Bool(true), DeleteLogGroupOnDelete: true,
		KmsKeyId: "arn:aws:kms:eu-west-1:444455556666:key/1234", AllowCrossAccountKey: true, ReplaceExistingDelivery: true,
	})
	b, err := json.MarshalIndent(assertions.Template_FromStack(stack, nil).ToJSON(), "", "  ")
	require.NoError(t, err)
	got := append(b, '\n')
	snapshot.Match(t, filepath.Join("testdata", "consumer.template.json"), got)
}
