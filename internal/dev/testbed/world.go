package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// The sample world the files in events/ describe: tests, the demo and the benchmarks all set it up.
const (
	Region        = "us-east-1"
	RegistryTable = "trailguard-registry"
	TopicName     = "trailguard-notifications"
	TrailName     = "management-trail"
	TrailARN      = "arn:aws:cloudtrail:" + Region + ":" + Account + ":trail/" + TrailName
	// SampleStackName is the stack the sample CloudFormation requests in events/provider come from.
	SampleStackName = "trailguard-example"
	// SampleStackID is that stack's id: what a trail's trailguard:managed-by tag must say for the stack to have the
	// trail's full consent (a name alone admits less: docs/contract.md, "Who may manage a trail").
	SampleStackID = "arn:aws:cloudformation:" + Region + ":" + Account + ":stack/" + SampleStackName + "/5b8e6a20-c0a1-11ef-9a8c-0e2d3f4a5b6c"
	// DeliveryRoleName and DeliveryRolePath place the role the provider stack creates at deploy time.
	DeliveryRoleName = "CloudTrail_CloudWatchLogs_Role"
	DeliveryRolePath = "/trailguard/"
	DeliveryRoleARN  = "arn:aws:iam::" + Account + ":role" + DeliveryRolePath + DeliveryRoleName
	// DeliveryBoundaryName is the managed policy the provider stack makes every delivery role's boundary.
	DeliveryBoundaryName = "trailguard-delivery-boundary"
	DeliveryBoundaryARN  = "arn:aws:iam::" + Account + ":policy/" + DeliveryBoundaryName
)

// DeliveryEnv are the settings the provider stack gives both functions for the delivery role it creates: what the
// built bootstraps need in tests, the demo and make invoke.
func DeliveryEnv() []string {
	return []string{lambdaenv.DeliveryRoleARN + "=" + DeliveryRoleARN, lambdaenv.DeliveryBoundaryARN + "=" + DeliveryBoundaryARN}
}

// DeliveryTrustPolicy is the delivery role's trust policy as the provider stack declares it: CloudTrail only,
// hardened with aws:SourceAccount.
const DeliveryTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
	`"Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"sts:AssumeRole",` +
	`"Condition":{"StringEquals":{"aws:SourceAccount":"` + Account + `"}}}]}`

// deliveryBoundaryPolicy caps a delivery role at writing CloudTrail's log streams, as the provider stack's does:
// the account's own, and with an organization id (trailguard:org:organizationId) that organization trail's
// o-ORGID_*, never o-*_*.
func deliveryBoundaryPolicy(orgID string) string {
	streams := func(name string) string {
		return `"arn:aws:logs:*:` + Account + `:log-group:*:log-stream:` + name + `"`
	}
	resources := streams(Account + "_CloudTrail_*")
	if orgID != "" {
		resources += "," + streams(orgID+"_*")
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":[` + resources + `]}]}`
}

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
	CloudWatch    *cloudwatch.Client
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
		CloudWatch:    cloudwatch.NewFromConfig(cfg),
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
	if a.Config.Region != "us-east-1" {
		// S3 refuses a bucket outside us-east-1 without its region as the location constraint.
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(a.Config.Region)}
	}
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

// CreateDeliveryRole creates what the provider stack creates at deploy time for trails: the permissions boundary
// and the delivery role that carries it.
func (a *AWS) CreateDeliveryRole(ctx context.Context) error {
	return a.CreateOrganizationDeliveryRole(ctx, "")
}

// CreateOrganizationDeliveryRole is CreateDeliveryRole in an account of organization orgID (o-...) whose
// organization trails deliver to it: the boundary also admits o-ORGID_*.
func (a *AWS) CreateOrganizationDeliveryRole(ctx context.Context, orgID string) error {
	if _, err := a.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String(DeliveryBoundaryName), PolicyDocument: aws.String(deliveryBoundaryPolicy(orgID)),
	}); err != nil {
		return fmt.Errorf("create policy %s: %w", DeliveryBoundaryName, err)
	}
	if _, err := a.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(DeliveryRoleName), Path: aws.String(DeliveryRolePath),
		AssumeRolePolicyDocument: aws.String(DeliveryTrustPolicy), PermissionsBoundary: aws.String(DeliveryBoundaryARN),
	}); err != nil {
		return fmt.Errorf("create role %s: %w", DeliveryRoleName, err)
	}
	return nil
}

// TagTrail puts one tag on a trail, as its owner would (e.g. trailguard:managed-by to let a stack manage it).
func (a *AWS) TagTrail(ctx context.Context, trailARN, key, value string) error {
	_, err := a.CloudTrail.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(trailARN),
		TagsList: []cttypes.Tag{{Key: aws.String(key), Value: aws.String(value)}}})
	if err != nil {
		return fmt.Errorf("tag trail %s: %w", trailARN, err)
	}
	return nil
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

// DeliveryBoundaryStreams are the log streams the delivery boundary admits (its resources' log-stream parts).
func (a *AWS) DeliveryBoundaryStreams(ctx context.Context) ([]string, error) {
	p, err := a.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(DeliveryBoundaryARN)})
	if err != nil {
		return nil, fmt.Errorf("read the delivery boundary: %w", err)
	}
	v, err := a.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(DeliveryBoundaryARN),
		VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		return nil, fmt.Errorf("read the delivery boundary's document: %w", err)
	}
	doc, err := url.PathUnescape(aws.ToString(v.PolicyVersion.Document))
	if err != nil {
		return nil, err
	}
	var d struct{ Statement []struct{ Resource []string } }
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("the delivery boundary is not JSON: %w", err)
	}
	var streams []string
	for _, st := range d.Statement {
		for _, r := range st.Resource {
			if _, stream, ok := strings.Cut(r, ":log-stream:"); ok {
				streams = append(streams, stream)
			}
		}
	}
	return streams, nil
}

// DeleteLogStream deletes a log stream as an attacker who holds logs:PutLogGroupDeletionProtection and
// logs:DeleteLogStream would: deletion protection blocks a protected group's streams too (awsgaps.py), so it is
// turned off first, and turned back on after, so that only the stream's deletion is left to notice.
func (a *AWS) DeleteLogStream(ctx context.Context, group, stream string) error {
	protect := func(on bool) error {
		_, err := a.Logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
			LogGroupIdentifier: aws.String(group), DeletionProtectionEnabled: aws.Bool(on)})
		if err != nil {
			return fmt.Errorf("turn deletion protection of log group %s to %t: %w", group, on, err)
		}
		return nil
	}
	if err := protect(false); err != nil {
		return err
	}
	if _, err := a.Logs.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String(group),
		LogStreamName: aws.String(stream)}); err != nil {
		return fmt.Errorf("delete log stream %s of %s: %w", stream, group, err)
	}
	return protect(true)
}

// DeleteLogGroup deletes a log group as an attacker who holds both logs:PutLogGroupDeletionProtection and
// logs:DeleteLogGroup would: deletion protection off first, then the delete.
func (a *AWS) DeleteLogGroup(ctx context.Context, name string) error {
	if _, err := a.Logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
		LogGroupIdentifier: aws.String(name), DeletionProtectionEnabled: aws.Bool(false)}); err != nil {
		return fmt.Errorf("turn deletion protection of log group %s off: %w", name, err)
	}
	if _, err := a.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		return fmt.Errorf("delete log group %s: %w", name, err)
	}
	return nil
}
