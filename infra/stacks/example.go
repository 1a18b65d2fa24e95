package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailguard/trailguard/infra/trailguard"
)

// DefaultExampleTrailName is the example consumer stack's trail.
const DefaultExampleTrailName = "trailguard-example"

// ExampleStackProps configures the example consumer stack.
type ExampleStackProps struct {
	awscdk.StackProps
	// TrailName is the trail the example creates and wires; default DefaultExampleTrailName.
	TrailName string
	// ServiceTokenExport is the provider stack's export; default trailguard.DefaultServiceTokenExport.
	ServiceTokenExport string
}

// ExampleStack is what a consumer writes: a bucket, a trail, and the trailguard construct wiring the trail.
type ExampleStack struct {
	Stack    awscdk.Stack
	Bucket   awss3.Bucket
	Trail    awscloudtrail.CfnTrail
	Delivery *trailguard.TrailCloudWatchLogs
}

// NewExampleStack builds the example consumer stack. Deploy it after the provider stack, whose export it imports.
func NewExampleStack(scope constructs.Construct, id string, props *ExampleStackProps) *ExampleStack {
	if props == nil {
		props = &ExampleStackProps{}
	}
	p := *props
	if p.TrailName == "" {
		p.TrailName = DefaultExampleTrailName
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	s := &ExampleStack{Stack: stack}

	s.Bucket = awss3.NewBucket(stack, jsii.String("TrailBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.Bucket, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("Example trail bucket: only CloudTrail writes to it, and the trail it stores is " +
			"itself the access record; a production stack would add server access logging to its log-archive bucket."),
	}}, nil)

	// The bucket policy of "Amazon S3 bucket policy for CloudTrail" in the CloudTrail user guide, scoped with
	// aws:SourceArn to this one trail.
	trailArn := fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/%s", *awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(),
		*awscdk.Aws_ACCOUNT_ID(), p.TrailName)
	cloudtrail := awsiam.NewServicePrincipal(jsii.String("cloudtrail.amazonaws.com"), nil)
	fromTrail := map[string]any{"aws:SourceArn": trailArn}
	s.Bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AWSCloudTrailAclCheck"),
		Principals: &[]awsiam.IPrincipal{cloudtrail},
		Actions:    jsii.Strings("s3:GetBucketAcl"),
		Resources:  &[]*string{s.Bucket.BucketArn()},
		Conditions: &map[string]any{"StringEquals": fromTrail},
	}))
	s.Bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AWSCloudTrailWrite"),
		Principals: &[]awsiam.IPrincipal{cloudtrail},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  &[]*string{s.Bucket.ArnForObjects(jsii.String(fmt.Sprintf("AWSLogs/%s/*", *awscdk.Aws_ACCOUNT_ID())))},
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"aws:SourceArn": trailArn,
			"s3:x-amz-acl":  "bucket-owner-full-control",
		}},
	}))

	s.Trail = awscloudtrail.NewCfnTrail(stack, jsii.String("Trail"), &awscloudtrail.CfnTrailProps{
		TrailName:                  jsii.String(p.TrailName),
		S3BucketName:               s.Bucket.BucketName(),
		IsLogging:                  jsii.Bool(true),
		EnableLogFileValidation:    jsii.Bool(true),
		IncludeGlobalServiceEvents: jsii.Bool(true),
		IsMultiRegionTrail:         jsii.Bool(false),
	})
	// CloudTrail checks the bucket policy when the trail is created.
	if policy := s.Bucket.Policy(); policy != nil {
		s.Trail.Node().AddDependency(policy)
	}

	// CloudTrail's CloudWatch Logs fields are left out of the trail above on purpose: trailguard owns them.
	s.Delivery = trailguard.NewTrailCloudWatchLogs(stack, jsii.String("TrailDelivery"), &trailguard.TrailCloudWatchLogsProps{
		TrailName:          *s.Trail.Ref(),
		RetentionInDays:    365,
		Remediation:        trailguard.RemediationEnforce,
		ServiceTokenExport: p.ServiceTokenExport,
	})
	awscdk.NewCfnOutput(stack, jsii.String("TrailArn"), &awscdk.CfnOutputProps{Value: s.Delivery.TrailArn()})
	awscdk.NewCfnOutput(stack, jsii.String("LogGroupName"), &awscdk.CfnOutputProps{Value: s.Delivery.LogGroupName()})
	awscdk.NewCfnOutput(stack, jsii.String("RoleArn"), &awscdk.CfnOutputProps{Value: s.Delivery.RoleArn()})
	return s
}
