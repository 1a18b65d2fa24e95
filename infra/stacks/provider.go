// Package stacks holds trailguard's CloudFormation stacks: the provider stack (both functions, the registry, the
// rules, the alarms) and an example consumer stack that wires a trail with the trailguard construct.
package stacks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailguard/trailguard/infra/trailguard"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/spec"
)

// Function settings. 128 MB: both functions are I/O-bound SDK callers whose binaries are a few MB.
const (
	memoryMB = 128
	// ProviderTimeout stays below the construct's ServiceTimeout (trailguard.DefaultServiceTimeout), so the
	// provider's own FAILED-before-deadline response reaches CloudFormation before CloudFormation gives up.
	ProviderTimeout = 5 * time.Minute
	// RemediatorTimeout bounds one event or one sweep of every registered trail.
	RemediatorTimeout = 5 * time.Minute
	// RemediatorRetryAttempts and RemediatorMaxEventAge are the asynchronous invoke settings: an event older than
	// an hour is superseded by the sweep, which re-reads every trail anyway.
	RemediatorRetryAttempts = 2
	RemediatorMaxEventAge   = time.Hour
	// RuleRetryAttempts and RuleMaxEventAge are EventBridge's own retry policy for delivering to the remediator.
	RuleRetryAttempts = 4
	RuleMaxEventAge   = time.Hour
	// DefaultSweepInterval is the schedule of the backstop sweep.
	DefaultSweepInterval = 15 * time.Minute
	functionLogRetention = awslogs.RetentionDays_ONE_YEAR
)

// The API-call events the remediator reacts to, by event source (the spec's table).
var (
	CloudTrailEvents = []string{"UpdateTrail", "StopLogging", "DeleteTrail", "CreateTrail"}
	LogsEvents       = []string{"DeleteLogGroup", "PutRetentionPolicy", "DeleteRetentionPolicy"}
	IAMEvents        = []string{"PutRolePolicy", "DeleteRolePolicy", "DeleteRole", "UpdateAssumeRolePolicy"}
)

// ProviderStackProps configures the provider stack; zero values take the documented defaults.
type ProviderStackProps struct {
	awscdk.StackProps
	// AssetDir holds provider.zip and remediator.zip (each with a `bootstrap`); default "dist" (`make build`).
	AssetDir string
	// SweepInterval is the remediator's schedule, whole minutes; default 15 minutes.
	SweepInterval time.Duration
	// NotificationEmail, when set, subscribes this address to the notification topic.
	NotificationEmail string
	// ServiceTokenExport names the ServiceToken export; default trailguard.DefaultServiceTokenExport.
	ServiceTokenExport string
	// LogLevel is the functions' TRAILGUARD_LOG_LEVEL; default info.
	LogLevel string
}

// ProviderStack is the deployed trailguard service.
type ProviderStack struct {
	Stack        awscdk.Stack
	Provider     awslambda.Function
	Remediator   awslambda.Function
	Table        awsdynamodb.Table
	Topic        awssns.Topic
	FailureQueue awssqs.Queue
	Key          awskms.Key
}

// NewProviderStack builds the provider stack. It fails when a function zip is missing or a setting is invalid.
func NewProviderStack(scope constructs.Construct, id string, props *ProviderStackProps) (*ProviderStack, error) {
	if props == nil {
		props = &ProviderStackProps{}
	}
	p := *props
	if p.AssetDir == "" {
		p.AssetDir = "dist"
	}
	if p.SweepInterval == 0 {
		p.SweepInterval = DefaultSweepInterval
	}
	if p.SweepInterval < time.Minute || p.SweepInterval%time.Minute != 0 {
		return nil, fmt.Errorf("sweep interval %s: want whole minutes, at least 1m", p.SweepInterval)
	}
	if p.ServiceTokenExport == "" {
		p.ServiceTokenExport = trailguard.DefaultServiceTokenExport
	}
	if p.LogLevel == "" {
		p.LogLevel = "info"
	}
	if err := checkEmail(p.NotificationEmail); err != nil {
		return nil, err
	}
	zips := map[string]string{}
	for _, fn := range []string{"provider", "remediator"} {
		path := filepath.Join(p.AssetDir, fn+".zip")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("function package %s: %w (run `make build` first)", path, err)
		}
		zips[fn] = path
	}

	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	s := &ProviderStack{Stack: stack}

	// One customer-managed key for the topic and the failure queue: CloudWatch alarms can only publish to a topic
	// whose key policy lets cloudwatch.amazonaws.com use the key, which an AWS-managed key cannot grant.
	s.Key = awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("trailguard: encrypts the notification topic and the failure queue"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	s.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AlarmsPublishToEncryptedTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" means this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}},
	}), nil)

	s.Table = awsdynamodb.NewTable(stack, jsii.String("Registry"), &awsdynamodb.TableProps{
		PartitionKey:       &awsdynamodb.Attribute{Name: jsii.String("TrailArn"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:        awsdynamodb.BillingMode_PAY_PER_REQUEST,
		DeletionProtection: jsii.Bool(true),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	s.Topic = awssns.NewTopic(stack, jsii.String("Notifications"), &awssns.TopicProps{
		DisplayName: jsii.String("trailguard"),
		MasterKey:   s.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	if p.NotificationEmail != "" {
		s.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(p.NotificationEmail), nil))
	}

	s.FailureQueue = awssqs.NewQueue(stack, jsii.String("RemediatorFailures"), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: s.Key,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.FailureQueue, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the remediator's on-failure destination (a dead-letter queue for " +
			"asynchronous invocations); its depth alarm notifies a person, and messages are kept 14 days."),
	}}, nil)

	s.Provider = s.function("Provider", zips["provider"], ProviderTimeout, map[string]string{
		lambdaenv.RegistryTable: *s.Table.TableName(),
		lambdaenv.LogLevel:      p.LogLevel,
	}, "trailguard provider: the Custom::CloudTrailCloudWatchLogs resource", nil)
	s.Remediator = s.function("Remediator", zips["remediator"], RemediatorTimeout, map[string]string{
		lambdaenv.RegistryTable:  *s.Table.TableName(),
		lambdaenv.TopicARN:       *s.Topic.TopicArn(),
		lambdaenv.DeliveryMaxAge: "24h",
		lambdaenv.RepairLimit:    "5",
		lambdaenv.LogLevel:       p.LogLevel,
	}, "trailguard remediator: repairs drifted trail delivery, sweeps on a schedule", &awslambda.FunctionProps{
		RetryAttempts: jsii.Number(RemediatorRetryAttempts),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(RemediatorMaxEventAge.Seconds())),
		OnFailure:     &queueDestination{queue: s.FailureQueue, key: s.Key},
	})
	s.grant(s.Provider.Role(), true)
	s.grant(s.Remediator.Role(), false)
	// Topic.GrantPublish would add kms:GenerateDataKey*; publishing to an encrypted topic needs these two actions.
	s.Remediator.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("Notify"),
		Actions:   jsii.Strings("sns:Publish"),
		Resources: &[]*string{s.Topic.TopicArn()},
	}))
	s.Remediator.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("NotifyKey"),
		Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources: &[]*string{s.Key.KeyArn()},
	}))

	s.rules(p.SweepInterval)
	s.alarms()

	awscdk.NewCfnOutput(stack, jsii.String("ServiceToken"), &awscdk.CfnOutputProps{
		Description: jsii.String("ServiceToken of Custom::CloudTrailCloudWatchLogs (the provider function's ARN)"),
		Value:       s.Provider.FunctionArn(),
		ExportName:  jsii.String(p.ServiceTokenExport),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TopicArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("SNS topic of repairs, alerts and alarms"),
		Value:       s.Topic.TopicArn(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("RegistryTableName"), &awscdk.CfnOutputProps{
		Description: jsii.String("DynamoDB registry of desired states"),
		Value:       s.Table.TableName(),
	})
	return s, nil
}

// function creates one Go function with its own role and log group, so that neither gets the AWS-managed
// AWSLambdaBasicExecutionRole policy and its log-group wildcard.
func (s *ProviderStack) function(id, zip string, timeout time.Duration, env map[string]string, desc string,
	extra *awslambda.FunctionProps) awslambda.Function {
	logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     functionLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := awsiam.NewRole(s.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("trailguard " + strings.ToLower(id) + " function"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OwnLogs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	vars := map[string]*string{}
	for k, v := range env {
		vars[k] = jsii.String(v)
	}
	props := awslambda.FunctionProps{}
	if extra != nil {
		props = *extra
	}
	props.Description = jsii.String(desc)
	props.Runtime = awslambda.Runtime_PROVIDED_AL2023()
	props.Architecture = awslambda.Architecture_ARM_64()
	props.Handler = jsii.String("bootstrap")
	props.Code = awslambda.Code_FromAsset(jsii.String(zip), nil)
	props.MemorySize = jsii.Number(memoryMB)
	props.Timeout = awscdk.Duration_Seconds(jsii.Number(timeout.Seconds()))
	props.LoggingFormat = awslambda.LoggingFormat_JSON
	props.LogGroup = logs
	props.Role = role
	props.Environment = &vars
	return awslambda.NewFunction(s.Stack, jsii.String(id), &props)
}

// grant gives a function's role exactly the calls internal/delivery and internal/registry make. The provider
// also deletes (a custom resource's Delete); the remediator only repairs.
func (s *ProviderStack) grant(role awsiam.IRole, provider bool) {
	partition, region, account := awscdk.Aws_PARTITION(), awscdk.Aws_REGION(), awscdk.Aws_ACCOUNT_ID()
	arn := func(format string, a ...any) *string { return jsii.String(fmt.Sprintf(format, a...)) }
	add := func(sid string, actions []string, resources []*string, conditions map[string]any) {
		st := &awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &resources}
		if conditions != nil {
			st.Conditions = &conditions
		}
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(st))
	}
	trails := arn("arn:%s:cloudtrail:%s:%s:trail/*", *partition, *region, *account)
	logGroups := arn("arn:%s:logs:%s:%s:log-group:*", *partition, *region, *account)
	anyRole := arn("arn:%s:iam::%s:role/*", *partition, *account)
	ownRoles := arn("arn:%s:iam::%s:role%s*", *partition, *account, delivery.RolePath)
	defaultRole := arn("arn:%s:iam::%s:role/%s", *partition, *account, spec.DefaultRoleName)
	createdByTrailguard := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + delivery.TagCreatedBy: "trailguard"}}

	add("Trails", []string{"cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:UpdateTrail",
		"cloudtrail:StartLogging"}, []*string{trails}, nil)
	// DescribeTrails, DescribeLogGroups and DescribeOrganization support no resource-level permissions. Only the
	// provider resolves trails (DescribeTrails finds a shadow copy's home region; DescribeOrganization the org id).
	describe := []string{"logs:DescribeLogGroups"}
	if provider {
		describe = []string{"cloudtrail:DescribeTrails", "logs:DescribeLogGroups", "organizations:DescribeOrganization"}
	}
	add("Describe", describe, []*string{jsii.String("*")}, nil)
	// A trail's log group may have any name the stack author chose, so log-group writes cover this account and
	// region; deletion is further limited to groups trailguard tagged as its own.
	add("LogGroups", []string{"logs:CreateLogGroup", "logs:TagResource", "logs:TagLogGroup", "logs:PutRetentionPolicy",
		"logs:ListTagsForResource"}, []*string{logGroups}, nil)
	// Reads cover any role, because a stack may name an existing role at any path.
	add("RoleRead", []string{"iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"},
		[]*string{anyRole}, nil)
	// trailguard creates roles only under its own path.
	add("RoleCreate", []string{"iam:CreateRole", "iam:TagRole"}, []*string{ownRoles}, nil)
	// Writes to a role: trailguard's own, and the documented default role that may already exist at path /.
	writes := []string{"iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"}
	if provider {
		writes = append(writes, "iam:DeleteRolePolicy")
	}
	add("RolePolicyWrite", writes, []*string{ownRoles, defaultRole}, nil)
	add("PassRoleToCloudTrail", []string{"iam:PassRole"}, []*string{ownRoles, defaultRole},
		map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cloudtrail.amazonaws.com"}})
	registry := []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}
	if provider {
		registry = append(registry, "dynamodb:DeleteItem")
		add("LogGroupDelete", []string{"logs:DeleteLogGroup"}, []*string{logGroups}, createdByTrailguard)
		add("RoleDelete", []string{"iam:DeleteRole"}, []*string{ownRoles}, createdByTrailguard)
	}
	add("Registry", registry, []*string{s.Table.TableArn()}, nil)

	reason := "Resource-level scoping is applied as far as the service allows: trails are trail/* of this stack's " +
		"account and region (trailguard wires any trail a stack names); log groups are log-group:* of this account " +
		"and region because a stack may name any log group, with DeleteLogGroup only on groups tagged " +
		delivery.TagCreatedBy + "=trailguard; role reads are role/* because a stack may name an existing role at any " +
		"path, while role creation and writes are limited to the trailguard path (" + delivery.RolePath + "*) and " +
		"the documented default role " + spec.DefaultRoleName + "; DescribeTrails, DescribeLogGroups and " +
		"DescribeOrganization support no resource-level permissions."
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String(reason),
		AppliesTo: &[]any{
			"Resource::*",
			"Resource::arn:<AWS::Partition>:cloudtrail:<AWS::Region>:<AWS::AccountId>:trail/*",
			"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*",
			"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*",
			"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role" + delivery.RolePath + "*",
		},
	}}, jsii.Bool(true))
}

// rules routes the spec's API-call events and the sweep schedule to the remediator.
func (s *ProviderStack) rules(sweep time.Duration) {
	// The remediator's own calls (its UpdateTrail, its PutRolePolicy) come back as events. Its assumed-role ARN
	// has no IAM path, so this wildcard matches every session of its role; the role name is a Ref, which keeps
	// the rule free of any circular reference (the rule depends on the role, never the reverse).
	self := fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/*", *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID(),
		*s.Remediator.Role().RoleName())
	target := awseventstargets.NewLambdaFunction(s.Remediator, &awseventstargets.LambdaFunctionProps{
		RetryAttempts: jsii.Number(RuleRetryAttempts),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(RuleMaxEventAge.Seconds())),
	})
	apiCall := func(id, source, eventSource string, events []string, desc string) awsevents.Rule {
		return awsevents.NewRule(s.Stack, jsii.String(id), &awsevents.RuleProps{
			Description: jsii.String(desc),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings(source),
				DetailType: jsii.Strings("AWS API Call via CloudTrail"),
				Detail: &map[string]any{
					"eventSource":  []any{eventSource},
					"eventName":    toAny(events),
					"errorCode":    []any{map[string]any{"exists": false}},
					"userIdentity": map[string]any{"arn": []any{map[string]any{"anything-but": map[string]any{"wildcard": self}}}},
				},
			},
			Targets: &[]awsevents.IRuleTarget{target},
		})
	}
	apiCall("CloudTrailChanges", "aws.cloudtrail", "cloudtrail.amazonaws.com", CloudTrailEvents,
		"trailguard: successful CloudTrail trail changes, except the remediator's own")
	apiCall("LogsChanges", "aws.logs", "logs.amazonaws.com", LogsEvents,
		"trailguard: successful CloudWatch Logs log-group changes, except the remediator's own")

	// IAM is a global service whose API-call events reach EventBridge only in us-east-1. The rule exists only
	// there, so the template stays region-agnostic (StackSets); in other regions the sweep finds IAM drift.
	inUsEast1 := awscdk.NewCfnCondition(s.Stack, jsii.String("InUsEast1"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String("us-east-1")),
	})
	iamRule := apiCall("IamChanges", "aws.iam", "iam.amazonaws.com", IAMEvents,
		"trailguard: successful IAM role changes, except the remediator's own (us-east-1 only)")
	// The rule and the invoke permission its target created beneath it (which references the rule's ARN) exist
	// only under the condition.
	for _, c := range *iamRule.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if r, ok := c.(awscdk.CfnResource); ok {
			r.CfnOptions().SetCondition(inUsEast1)
		}
	}

	awsevents.NewRule(s.Stack, jsii.String("Sweep"), &awsevents.RuleProps{
		Description: jsii.String("trailguard: periodic sweep of every registered trail"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(sweep.Minutes()))),
		Targets:     &[]awsevents.IRuleTarget{target},
	})
}

// alarms notify the topic when the failure queue holds a message or either function errs.
func (s *ProviderStack) alarms() {
	action := awscloudwatchactions.NewSnsAction(s.Topic)
	alarm := func(id string, metric awscloudwatch.Metric, desc string) {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(desc),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	period := awscdk.Duration_Minutes(jsii.Number(5))
	alarm("FailureQueueAlarm", s.FailureQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period: period, Statistic: jsii.String("Maximum")}),
		"trailguard: remediator events failed after all retries; read them from the failure queue")
	alarm("ProviderErrorsAlarm", s.Provider.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}),
		"trailguard: the provider function failed (see its log group)")
	alarm("RemediatorErrorsAlarm", s.Remediator.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}),
		"trailguard: the remediator function failed (see its log group)")
}

// queueDestination is an on-failure destination to a KMS-encrypted queue. CDK's SqsDestination grants the action
// families kms:ReEncrypt* and kms:GenerateDataKey*; sending to an encrypted queue needs only these four actions.
type queueDestination struct {
	queue awssqs.Queue
	key   awskms.Key
}

// Bind grants the function's role what Lambda uses to deliver a failed event, and names the queue.
func (d *queueDestination) Bind(_ constructs.Construct, fn awslambda.IFunction, _ *awslambda.DestinationOptions) *awslambda.DestinationConfig {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OnFailureQueue"),
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{d.queue.QueueArn()},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OnFailureQueueKey"),
		Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources: &[]*string{d.key.KeyArn()},
	}))
	return &awslambda.DestinationConfig{Destination: d.queue.QueueArn()}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// checkEmail rejects what SNS would reject only after a deploy had started.
func checkEmail(e string) error {
	if e == "" {
		return nil
	}
	at := strings.LastIndex(e, "@")
	if at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n,;") || !strings.Contains(e[at:], ".") {
		return errors.New("notification e-mail " + e + ": not an e-mail address")
	}
	return nil
}
