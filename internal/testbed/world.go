package testbed

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// The sample world the files in events/ describe: tests, the demo and the benchmarks all set it up.
const (
	Region        = "us-east-1"
	RegistryTable = "trailguard-registry"
	TopicName     = "trailguard-notifications"
	TrailName     = "management-trail"
	TrailARN      = "arn:aws:cloudtrail:" + Region + ":" + Account + ":trail/" + TrailName
)

// AWS holds plain SDK clients for arranging and inspecting the emulated account in tests and the demo: what a
// person (or an attacker) would do with the console or CLI.
type AWS struct {
	Config        aws.Config
	CloudTrail    *cloudtrail.Client
	Logs          *cloudwatchlogs.Client
	IAM           *iam.Client
	Organizations *organizations.Client
	S3            *s3.Client
	DynamoDB      *dynamodb.Client
	SNS           *sns.Client
}

// NewAWS builds the clients from one configuration.
func NewAWS(cfg aws.Config) *AWS {
	return &AWS{
		Config:        cfg,
		CloudTrail:    cloudtrail.NewFromConfig(cfg),
		Logs:          cloudwatchlogs.NewFromConfig(cfg),
		IAM:           iam.NewFromConfig(cfg),
		Organizations: organizations.NewFromConfig(cfg),
		S3:            s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		DynamoDB:      dynamodb.NewFromConfig(cfg),
		SNS:           sns.NewFromConfig(cfg),
	}
}

// TrailOptions shape the trail CreateTrail makes.
type TrailOptions struct {
	Organization bool
	// NotLogging leaves the trail stopped; by default it is started, as the console does.
	NotLogging bool
}

// TrailBucket is the S3 bucket CreateTrail makes for a trail.
func TrailBucket(trail string) string { return "trail-bucket-" + trail }

// CreateTrail creates a bucket and a multi-region trail delivering to it, and starts logging. It returns the
// trail ARN.
func (a *AWS) CreateTrail(ctx context.Context, name string, o TrailOptions) (string, error) {
	bucket := TrailBucket(name)
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if _, err := a.S3.CreateBucket(ctx, in); err != nil {
		return "", fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	out, err := a.CloudTrail.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String(name), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true),
		IsOrganizationTrail: aws.Bool(o.Organization),
	})
	if err != nil {
		return "", fmt.Errorf("create trail %s: %w", name, err)
	}
	if !o.NotLogging {
		if _, err := a.CloudTrail.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)}); err != nil {
			return "", fmt.Errorf("start logging of trail %s: %w", name, err)
		}
	}
	return aws.ToString(out.TrailARN), nil
}

// CreateRegistryTable creates the registry table the way the CDK app declares it: partition key TrailArn,
// on-demand.
func (a *AWS) CreateRegistryTable(ctx context.Context, name string) error {
	_, err := a.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("TrailArn"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("TrailArn"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return nil
}

// TrailLink reads a trail's CloudWatch Logs fields. A cleared field is "" whether moto returns "" or AWS omits it.
func (a *AWS) TrailLink(ctx context.Context, trailARN string) (logGroupARN, roleARN string, err error) {
	out, err := a.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(trailARN)})
	if err != nil {
		return "", "", fmt.Errorf("read trail %s: %w", trailARN, err)
	}
	return aws.ToString(out.Trail.CloudWatchLogsLogGroupArn), aws.ToString(out.Trail.CloudWatchLogsRoleArn), nil
}

// IsLogging reads whether a trail is logging.
func (a *AWS) IsLogging(ctx context.Context, trailARN string) (bool, error) {
	out, err := a.CloudTrail.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trailARN)})
	if err != nil {
		return false, fmt.Errorf("read status of trail %s: %w", trailARN, err)
	}
	return aws.ToBool(out.IsLogging), nil
}

// RolePolicy reads an inline role policy, URL-decoded as IAM's console shows it.
func (a *AWS) RolePolicy(ctx context.Context, role, policy string) (string, error) {
	out, err := a.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policy)})
	if err != nil {
		return "", fmt.Errorf("read policy %s of role %s: %w", policy, role, err)
	}
	return url.PathUnescape(aws.ToString(out.PolicyDocument))
}

// LogGroup reads a log group by exact name; found is false when it does not exist.
func (a *AWS) LogGroup(ctx context.Context, name string) (g cwltypes.LogGroup, found bool, err error) {
	out, err := a.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return g, false, fmt.Errorf("read log group %s: %w", name, err)
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			return g, true, nil
		}
	}
	return g, false, nil
}
