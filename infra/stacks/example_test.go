package stacks_test

import (
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"

	"github.com/trailguard/trailguard/infra/stacks"
)

func TestExampleStackWiresItsTrailWithTheConstruct(t *testing.T) {
	at, m := toTemplate(t, defaults().example.Stack)
	at.ResourceCountIs(jsii.String("AWS::CloudTrail::Trail"), jsii.Number(1))
	at.ResourceCountIs(jsii.String("Custom::CloudTrailCloudWatchLogs"), jsii.Number(1))

	bucketID, bucket := m.one(t, "AWS::S3::Bucket", "TrailBucket")
	assert.Equal(t, map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true,
		"RestrictPublicBuckets": true}, props(bucket)["PublicAccessBlockConfiguration"])
	assert.Equal(t, "Retain", bucket["DeletionPolicy"])

	trailArn := join("arn:", partition, ":cloudtrail:", region, ":", account, ":trail/"+stacks.DefaultExampleTrailName)
	policyID, policy := m.one(t, "AWS::S3::BucketPolicy", "TrailBucketPolicy")
	stmts := map[string]map[string]any{}
	for _, s := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		if sid, ok := st["Sid"].(string); ok {
			stmts[sid] = st
		}
	}
	cloudtrail := map[string]any{"Service": "cloudtrail.amazonaws.com"}
	assert.Equal(t, cloudtrail, stmts["AWSCloudTrailAclCheck"]["Principal"])
	assert.Equal(t, "s3:GetBucketAcl", stmts["AWSCloudTrailAclCheck"]["Action"])
	assert.Equal(t, getAtt(bucketID, "Arn"), stmts["AWSCloudTrailAclCheck"]["Resource"])
	assert.Equal(t, jsonOf(t, map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn}}),
		jsonOf(t, stmts["AWSCloudTrailAclCheck"]["Condition"]))
	assert.Equal(t, cloudtrail, stmts["AWSCloudTrailWrite"]["Principal"])
	assert.Equal(t, "s3:PutObject", stmts["AWSCloudTrailWrite"]["Action"])
	assert.Equal(t, jsonOf(t, join(getAtt(bucketID, "Arn"), "/AWSLogs/", account, "/*")), jsonOf(t, stmts["AWSCloudTrailWrite"]["Resource"]))
	assert.Equal(t, jsonOf(t, map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn,
		"s3:x-amz-acl": "bucket-owner-full-control"}}), jsonOf(t, stmts["AWSCloudTrailWrite"]["Condition"]))

	trailID, trail := m.one(t, "AWS::CloudTrail::Trail", "Trail")
	assert.Equal(t, stacks.DefaultExampleTrailName, props(trail)["TrailName"])
	assert.Equal(t, ref(bucketID), props(trail)["S3BucketName"])
	assert.Equal(t, []any{policyID}, trail["DependsOn"], "CloudTrail checks the bucket policy at creation")
	assert.NotContains(t, props(trail), "CloudWatchLogsLogGroupArn", "trailguard owns the CloudWatch Logs fields")

	_, cr := m.one(t, "Custom::CloudTrailCloudWatchLogs", "TrailDelivery")
	assert.Equal(t, map[string]any{
		"ServiceToken":    map[string]any{"Fn::ImportValue": "trailguard-ServiceToken"},
		"ServiceTimeout":  "600",
		"TrailName":       ref(trailID),
		"RetentionInDays": "365",
		"Remediation":     "enforce",
	}, props(cr))

	outs := m["Outputs"].(map[string]any)
	crID := mustID(t, m, "Custom::CloudTrailCloudWatchLogs", "TrailDelivery")
	assert.Equal(t, getAtt(crID, "TrailArn"), outs["TrailArn"].(map[string]any)["Value"])
	assert.Equal(t, getAtt(crID, "LogGroupName"), outs["LogGroupName"].(map[string]any)["Value"])
}

func TestExampleTrailNameFromContext(t *testing.T) {
	s := build(t, map[string]any{stacks.CtxExampleTrailName: "audit", stacks.CtxServiceTokenExport: "tg-token"})
	_, m := toTemplate(t, s.example.Stack)
	_, trail := m.one(t, "AWS::CloudTrail::Trail", "Trail")
	assert.Equal(t, "audit", props(trail)["TrailName"])
	_, cr := m.one(t, "Custom::CloudTrailCloudWatchLogs", "TrailDelivery")
	assert.Equal(t, map[string]any{"Fn::ImportValue": "tg-token"}, props(cr)["ServiceToken"])
	_, pm := toTemplate(t, s.provider.Stack)
	assert.Equal(t, map[string]any{"Name": "tg-token"}, pm["Outputs"].(map[string]any)["ServiceToken"].(map[string]any)["Export"])
}
