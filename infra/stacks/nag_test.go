package stacks_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nagFindings are the AwsSolutions errors and warnings cdk-nag left unsuppressed on a stack, as JSON.
func nagFindings(stack awscdk.Stack) []string {
	a := assertions.Annotations_FromStack(stack)
	match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	var out []string
	for _, msg := range append(*a.FindError(jsii.String("*"), match), *a.FindWarning(jsii.String("*"), match)...) {
		b, _ := json.Marshal(msg)
		out = append(out, string(b))
	}
	return out
}

func TestCdkNagAwsSolutionsHasNoUnsuppressedFinding(t *testing.T) {
	s := defaults()
	assert.Empty(t, nagFindings(s.provider.Stack), "provider stack")
	assert.Empty(t, nagFindings(s.example.Stack), "example stack")
}

// The check above could pass vacuously if the aspect were not applied; an unencrypted, DLQ-less queue proves it is.
func TestCdkNagCatchesAViolation(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{AnalyticsReporting: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("bad"), nil)
	awssqs.NewQueue(stack, jsii.String("Plain"), &awssqs.QueueProps{Encryption: awssqs.QueueEncryption_UNENCRYPTED})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	findings := nagFindings(stack)
	require.NotEmpty(t, findings)
	assert.Contains(t, findings[0]+findings[len(findings)-1], "AwsSolutions-SQS")
}

// Every suppression must carry a reason a reviewer can check; an id alone, or a token reason, is not one.
func TestEverySuppressionHasAReason(t *testing.T) {
	s := defaults()
	var n int
	for _, stack := range []awscdk.Stack{s.provider.Stack, s.example.Stack} {
		_, m := toTemplate(t, stack)
		for id, r := range m["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			if nag == nil {
				continue
			}
			for _, rule := range nag["rules_to_suppress"].([]any) {
				r := rule.(map[string]any)
				n++
				assert.GreaterOrEqual(t, len(r["reason"].(string)), 80, "%s %s: reason too short to review", id, r["id"])
			}
		}
	}
	assert.Positive(t, n)
}
