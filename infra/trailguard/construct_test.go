package trailguard_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/trailguard"
)

func newStack() (awscdk.App, awscdk.Stack) {
	app := awscdk.NewApp(&awscdk.AppProps{AnalyticsReporting: jsii.Bool(false)})
	return app, awscdk.NewStack(app, jsii.String("consumer"), nil)
}

// resources renders the stack's template and returns its resources of the custom type.
func resources(t *testing.T, stack awscdk.Stack) (map[string]any, map[string]any) {
	t.Helper()
	raw, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	out := map[string]any{}
	for id, r := range m["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == trailguard.ResourceType {
			out[id] = r
		}
	}
	outputs, _ := m["Outputs"].(map[string]any)
	return out, outputs
}

func only(t *testing.T, rs map[string]any) (string, map[string]any) {
	t.Helper()
	require.Len(t, rs, 1)
	for id, r := range rs {
		return id, r.(map[string]any)
	}
	return "", nil
}

func TestDefaultsImportTheServiceTokenAndWaitTenMinutes(t *testing.T) {
	_, stack := newStack()
	trailguard.NewTrailCloudWatchLogs(stack, jsii.String("Delivery"), &trailguard.TrailCloudWatchLogsProps{TrailName: "management"})
	_, r := only(t, must(resources(t, stack)))
	assert.Equal(t, map[string]any{
		"ServiceToken":   map[string]any{"Fn::ImportValue": trailguard.DefaultServiceTokenExport},
		"ServiceTimeout": "600",
		"TrailName":      "management",
	}, r["Properties"], "unset props stay out of the template, so the provider applies its defaults")
	assert.Equal(t, "Delete", r["DeletionPolicy"])
}

func must(a, _ map[string]any) map[string]any { return a }

func TestEveryPropertyRendersAsAString(t *testing.T) {
	_, stack := newStack()
	trailguard.NewTrailCloudWatchLogs(stack, jsii.String("Delivery"), &trailguard.TrailCloudWatchLogsProps{
		TrailName:               "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org",
		LogGroupName:            "audit", // a key applies only to a group trailguard creates, never with LogGroupArn
		RetentionInDays:         731,
		KmsKeyId:                "arn:aws:kms:eu-west-1:111122223333:key/1234",
		RoleArn:                 "arn:aws:iam::111122223333:role/delivery",
		Remediation:             trailguard.RemediationReport,
		EnforceLogging:          jsii.Bool(false),
		DeleteLogGroupOnDelete:  true,
		DeletionProtection:      jsii.Bool(false),
		ReplaceExistingDelivery: true,
		AllowCrossAccountKey:    true,
		RepairPosture:           true,
		ServiceToken:            "arn:aws:lambda:eu-west-1:111122223333:function:provider",
		ServiceTimeout:          15 * time.Minute,
	})
	_, r := only(t, must(resources(t, stack)))
	assert.Equal(t, map[string]any{
		"ServiceToken":            "arn:aws:lambda:eu-west-1:111122223333:function:provider",
		"ServiceTimeout":          "900",
		"TrailName":               "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org",
		"LogGroupName":            "audit",
		"RetentionInDays":         "731",
		"KmsKeyId":                "arn:aws:kms:eu-west-1:111122223333:key/1234",
		"RoleArn":                 "arn:aws:iam::111122223333:role/delivery",
		"Remediation":             "report",
		"EnforceLogging":          "false",
		"DeleteLogGroupOnDelete":  "true",
		"DeletionProtection":      "false",
		"ReplaceExistingDelivery": "true",
		"AllowCrossAccountKey":    "true",
		"RepairPosture":           "true",
	}, r["Properties"])
}

func TestGettersAreGetAttsOfTheData(t *testing.T) {
	_, stack := newStack()
	d := trailguard.NewTrailCloudWatchLogs(stack, jsii.String("Delivery"), &trailguard.TrailCloudWatchLogsProps{
		TrailName: "app-trail", LogGroupName: "lg", RoleName: "r", ServiceTokenExport: "other-export"})
	getters := map[string]*string{"TrailArn": d.TrailArn(), "HomeRegion": d.HomeRegion(), "LogGroupName": d.LogGroupName(),
		"LogGroupArn": d.LogGroupArn(), "RoleName": d.RoleName(), "RoleArn": d.RoleArn(), "PolicyName": d.PolicyName()}
	for name, v := range getters {
		awscdk.NewCfnOutput(stack, jsii.String(name), &awscdk.CfnOutputProps{Value: v})
	}
	rs, outputs := resources(t, stack)
	id, r := only(t, rs)
	assert.Equal(t, map[string]any{"Fn::ImportValue": "other-export"}, r["Properties"].(map[string]any)["ServiceToken"])
	assert.Equal(t, "lg", r["Properties"].(map[string]any)["LogGroupName"])
	assert.Equal(t, "r", r["Properties"].(map[string]any)["RoleName"])
	for name := range getters {
		assert.Equal(t, map[string]any{"Fn::GetAtt": []any{id, name}}, outputs[name].(map[string]any)["Value"], name)
	}
	assert.Equal(t, "Delivery", *d.Construct().Node().Id())
}

func TestTokensAreAcceptedAsProperties(t *testing.T) {
	app, stack := newStack()
	param := awscdk.NewCfnParameter(stack, jsii.String("Trail"), nil)
	trailguard.NewTrailCloudWatchLogs(stack, jsii.String("Delivery"), &trailguard.TrailCloudWatchLogsProps{
		TrailName: *param.ValueAsString(), Remediation: trailguard.Remediation(*param.ValueAsString())})
	assert.NotPanics(t, func() { app.Synth(nil) })
	_, r := only(t, must(resources(t, stack)))
	assert.Equal(t, map[string]any{"Ref": "Trail"}, r["Properties"].(map[string]any)["TrailName"])
}

func TestInvalidPropsFailSynthWithTheReason(t *testing.T) {
	cases := map[string]struct {
		props trailguard.TrailCloudWatchLogsProps
		want  string
	}{
		"no trail":       {trailguard.TrailCloudWatchLogsProps{}, "property TrailName: is required"},
		"two log groups": {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", LogGroupName: "a", LogGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:b"}, "property LogGroupArn: is exclusive with LogGroupName"},
		"two roles":      {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", RoleName: "a", RoleArn: "arn:aws:iam::123456789012:role/b"}, "property RoleArn: is exclusive with RoleName"},
		"retention":      {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", RetentionInDays: 42}, "property RetentionInDays: must be one of"},
		"remediation":    {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", Remediation: "fix"}, `property Remediation: must be one of enforce, report, off, got "fix"`},
		// What the provider refused but the construct's own rules once let through.
		"trail name":           {trailguard.TrailCloudWatchLogsProps{TrailName: "t"}, `property TrailName: trail name "t" must be 3-128`},
		"log group ARN":        {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", LogGroupArn: "b"}, "property LogGroupArn: \"b\" is not a log group ARN"},
		"role name":            {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", RoleName: "a role"}, "property RoleName: must be 1-64 characters"},
		"key with a log group": {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", LogGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:b", KmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/k"}, "property KmsKeyId: only applies to a log group trailguard creates"},
		"timeout too big":      {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", ServiceTimeout: 2 * time.Hour}, "ServiceTimeout 2h0m0s"},
		"timeout ms":           {trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", ServiceTimeout: 1500 * time.Millisecond}, "ServiceTimeout 1.5s"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.props.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)

			app, stack := newStack()
			trailguard.NewTrailCloudWatchLogs(stack, jsii.String("Delivery"), &c.props)
			var synthErr string
			func() {
				defer func() { synthErr = fmt.Sprint(recover()) }()
				app.Synth(nil)
			}()
			assert.Contains(t, synthErr, c.want)
			assert.Contains(t, synthErr, "consumer/Delivery")
		})
	}
	ok := trailguard.TrailCloudWatchLogsProps{TrailName: "app-trail", RetentionInDays: 3653, Remediation: trailguard.RemediationOff,
		ServiceTimeout: time.Hour}
	assert.NoError(t, ok.Validate())
}
