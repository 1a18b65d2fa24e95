// Package stacks holds trailguard's CloudFormation stacks: the provider stack (both functions, the registry, the
// rules, the alarms) and an example consumer stack that wires a trail with the trailguard construct.
package stacks

import (
	"errors"
	"fmt"
	"maps"
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

	"github.com/trailguard/trailguard/infra/guardrail"
	"github.com/trailguard/trailguard/infra/trailguard"
	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/spec"
	"github.com/trailguard/trailguard/internal/trigger"
)

// Function settings. The memory size, which sets the CPU share, is lambdaenv.MemoryMB: chosen by measurement under
// that share (BENCHMARKS.md, "Under Lambda's CPU share").
const (
	memoryMB = lambdaenv.MemoryMB
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

// ruleIDs name the EventBridge rule of each event source in trigger.Catalogue, the one list of the API calls the
// remediator reacts to; the rules' event names come from it.
var ruleIDs = map[string]struct{ id, desc string }{
	"cloudtrail.amazonaws.com": {"CloudTrailChanges", "successful CloudTrail trail and event-selector changes"},
	"logs.amazonaws.com":       {"LogsChanges", "successful CloudWatch Logs log-group and metric-filter changes"},
	"iam.amazonaws.com":        {"IamChanges", "successful IAM role changes"},
	"monitoring.amazonaws.com": {"AlarmChanges", "successful changes to CloudWatch alarms (the CIS monitoring pack's)"},
	"sns.amazonaws.com":        {"TopicChanges", "successful deletions of SNS topics and subscriptions (the CIS pack's topic)"},
}

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
	// AllowedStacks are the stack names (a trailing * matches a prefix) that may manage a trail whose tags do not
	// name them; empty by default. See spec.ParseAllowedStacks.
	AllowedStacks []string
	// AccountWide turns the remediator's account-wide mode on (TRAILGUARD_ACCOUNT_WIDE): it guards every trail of
	// its account and region, adopting those no stack declares, and is granted what adoption calls.
	AccountWide bool
	// OrganizationID (o-...), when set, lets the delivery boundary admit an organization trail's log streams,
	// o-ORGID_*; see Config.OrganizationID. A member stack takes it from ParamOrganizationID instead.
	OrganizationID string
	// ManagementAccountID (12 digits), with OrganizationID, deploys the stack in CloudTrail's delegated
	// administrator account: see CtxOrgManagementAccountID. Standalone stack only.
	ManagementAccountID string
	// Settings are further function settings by environment variable (rows of lambdaenv.Table with a CDK context
	// key: the repair limit and window, the delivery age, the account policy's defaults), each checked by its
	// row's rule; empty values are left out. Standalone stack only: a member takes its settings from parameters.
	Settings map[string]string
	// CustomerManagedKey, when true, encrypts the topic and the failure queue with a customer managed KMS key
	// (Key); otherwise the queue uses SQS-managed keys and the topic has no server-side encryption: CloudWatch
	// alarms can publish only to a topic whose key policy lets them, which an AWS-managed key cannot, and the key
	// was $1.00 of a $1.31 monthly bill (issue 24; docs/security.md, "Cost cuts").
	CustomerManagedKey bool
	// Member, when true, builds the member template of the organization StackSet (org.go; newMemberStack) instead
	// of a stack deployed with `cdk deploy` (newStandaloneStack): the function code, the notification topic, the
	// sweep interval and the settings with a member parameter (lambdaenv.Table's Param) come from the template's
	// parameters (MemberParameters), not from AssetDir and the fields above; and the template references no CDK
	// bootstrap resource (it is synthesized without assets). Both shapes retain the delivery role and its boundary
	// when the stack is deleted.
	Member bool
}

// ProviderStack is the deployed trailguard service.
type ProviderStack struct {
	Stack        awscdk.Stack
	Provider     awslambda.Function
	Remediator   awslambda.Function
	Table        awsdynamodb.Table
	Topic        awssns.Topic
	FailureQueue awssqs.Queue
	// Key is the customer managed key, nil unless ProviderStackProps.CustomerManagedKey.
	Key awskms.Key
	// DeliveryBoundary is the permissions boundary every role trailguard writes must carry; DeliveryRole is the
	// CloudTrail delivery role created at deploy time (see newDeliveryRole).
	DeliveryBoundary awsiam.ManagedPolicy
	DeliveryRole     awsiam.Role
	// Params holds the member template's parameters by name (MemberParameters); nil for the standalone stack.
	Params map[string]awscdk.CfnParameter

	// notifyTopicARN and notifyKeyARN are where the functions publish: the stack's own topic and key, or in a
	// member stack the organization's central topic and its key, from the parameters.
	notifyTopicARN, notifyKeyARN *string
	// managementAccount is ProviderStackProps.ManagementAccountID.
	managementAccount string
}

// NewProviderStack builds the provider stack in the shape props asks for: the standalone stack (newStandaloneStack)
// or the member template of the organization StackSet (newMemberStack). Both build the same core (core). It fails
// when a function zip is missing or a setting is invalid.
func NewProviderStack(scope constructs.Construct, id string, props *ProviderStackProps) (*ProviderStack, error) {
	if props == nil {
		props = &ProviderStackProps{}
	}
	p := *props
	if err := p.defaultsAndCheck(); err != nil {
		return nil, err
	}
	if p.Member {
		return newMemberStack(scope, id, p), nil
	}
	return newStandaloneStack(scope, id, p)
}

// defaultsAndCheck applies the documented defaults and refuses an invalid setting, for either shape.
func (p *ProviderStackProps) defaultsAndCheck() error {
	if p.AssetDir == "" {
		p.AssetDir = "dist"
	}
	if p.SweepInterval == 0 {
		p.SweepInterval = DefaultSweepInterval
	}
	if p.SweepInterval < time.Minute || p.SweepInterval%time.Minute != 0 {
		return fmt.Errorf("sweep interval %s: want whole minutes, at least 1m", p.SweepInterval)
	}
	if p.ServiceTokenExport == "" {
		p.ServiceTokenExport = trailguard.DefaultServiceTokenExport
	}
	if p.LogLevel == "" {
		p.LogLevel = "info"
	}
	if err := checkSettings(p.Settings); err != nil {
		return err
	}
	if err := checkEmail(p.NotificationEmail); err != nil {
		return err
	}
	if _, err := spec.ParseAllowedStacks(strings.Join(p.AllowedStacks, ",")); err != nil {
		return err
	}
	if p.OrganizationID != "" { // the delivery boundary's o-ORGID_* would admit other organizations' streams
		if err := checkOrganizationID(p.OrganizationID); err != nil {
			return err
		}
	}
	if p.ManagementAccountID != "" {
		if p.Member {
			return fmt.Errorf("management account %s: a member stack cannot be CloudTrail's delegated administrator's "+
				"(deploy the standalone stack there)", p.ManagementAccountID)
		}
		if err := checkManagementAccount(p.ManagementAccountID, p.OrganizationID); err != nil {
			return err
		}
	}
	return nil
}

// shape is what the standalone stack and a member stack give the core: where the functions' code, settings and
// notifications come from.
type shape struct {
	// code is the code of the function "provider" or "remediator".
	code func(fn string) awslambda.Code
	// values are the functions' settings by environment variable (rows of lambdaenv.Table), beyond the stack's
	// own resources, which the core adds.
	values map[string]string
	// orgID is the organization (o-...) whose streams the delivery boundary admits; nil: only the account's own.
	orgID *string
	// schedule is the sweep's.
	schedule awsevents.Schedule
	// notifyTopicARN and notifyKeyARN are where the functions publish; nil: the stack's own topic and key.
	notifyTopicARN, notifyKeyARN *string
}

// core builds what every provider stack has: the delivery role and its boundary (retained), the function roles,
// the registry, the topic, the failure queue, both functions with their settings and grants, the rules, the
// alarms and the outputs. It returns the remediator's role and the alarms' ARNs for the shape to extend.
func (s *ProviderStack) core(p ProviderStackProps, sh shape) (remediatorRole awsiam.Role, alarms []*string) {
	stack := s.Stack
	if p.CustomerManagedKey {
		s.newKey()
	}
	s.newDeliveryRole(sh.orgID)
	// Deleting the stack (make destroy, an account leaving the StackSet's targets, the StackSet deleted) must not
	// stop the delivery of the trails wired with this role: a trail adopted account-wide has no consumer stack
	// whose import would block the delete, and its delivery would stop silently. The role, its per-trail
	// policies and its boundary stay, in both shapes; docs/rollback.md says how the owner removes them after
	// handing the trails back.
	s.DeliveryRole.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	s.DeliveryBoundary.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)

	// The function roles exist before the table, whose resource policy names them.
	providerRole, remediatorRole := functionRole(stack, "Provider"), functionRole(stack, "Remediator")

	s.Table = awsdynamodb.NewTable(stack, jsii.String("Registry"), &awsdynamodb.TableProps{
		PartitionKey:       &awsdynamodb.Attribute{Name: jsii.String("TrailArn"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:        awsdynamodb.BillingMode_PAY_PER_REQUEST,
		DeletionProtection: jsii.Bool(true),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy:  awscdk.RemovalPolicy_RETAIN,
		ResourcePolicy: registryPolicy(providerRole, remediatorRole),
	})

	topicProps := &awssns.TopicProps{DisplayName: jsii.String("trailguard"), EnforceSSL: jsii.Bool(true)}
	queueProps := &awssqs.QueueProps{Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))}
	if s.Key != nil {
		topicProps.MasterKey = s.Key
		queueProps.Encryption, queueProps.EncryptionMasterKey = awssqs.QueueEncryption_KMS, s.Key
	}
	s.Topic = awssns.NewTopic(stack, jsii.String("Notifications"), topicProps)
	if s.Key == nil {
		cdknag.NagSuppressions_AddResourceSuppressions(s.Topic, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-SNS2"),
			Reason: jsii.String("Without trailguard:customerManagedKey the topic has no server-side encryption: CloudWatch " +
				"alarms cannot publish to a topic under an AWS-managed key, and a customer managed key costs more " +
				"than the rest of the stack; messages name trails and accounts, no secret (docs/security.md, Cost cuts)."),
		}}, nil)
	}
	if p.NotificationEmail != "" {
		s.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(p.NotificationEmail), nil))
	}

	s.FailureQueue = awssqs.NewQueue(stack, jsii.String("RemediatorFailures"), queueProps)
	cdknag.NagSuppressions_AddResourceSuppressions(s.FailureQueue, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the remediator's on-failure destination (a dead-letter queue for " +
			"asynchronous invocations); its depth alarm notifies a person, and messages are kept 14 days."),
	}}, nil)

	s.notifyTopicARN, s.notifyKeyARN = sh.notifyTopicARN, sh.notifyKeyARN
	if s.notifyTopicARN == nil {
		s.notifyTopicARN = s.Topic.TopicArn()
		if s.Key != nil {
			s.notifyKeyARN = s.Key.KeyArn()
		}
	}

	// The functions' environment ranges over lambdaenv.Table: the shape's values and the stack's own resources,
	// or a row's default when it is always written (lambdaenv.Environment).
	values := maps.Clone(sh.values)
	values[lambdaenv.RegistryTable] = *s.Table.TableName()
	values[lambdaenv.TopicARN] = *s.notifyTopicARN
	values[lambdaenv.DeliveryRoleARN] = *s.DeliveryRole.RoleArn()
	values[lambdaenv.DeliveryBoundaryARN] = *s.DeliveryBoundary.ManagedPolicyArn()
	if sh.orgID != nil {
		values[lambdaenv.BoundaryOrganizationID] = *sh.orgID
	}
	s.Provider = s.function("Provider", providerRole, sh.code("provider"), ProviderTimeout, lambdaenv.Environment(lambdaenv.Provider, values),
		"trailguard provider: the Custom::CloudTrailCloudWatchLogs resource", nil)
	s.Remediator = s.function("Remediator", remediatorRole, sh.code("remediator"), RemediatorTimeout, lambdaenv.Environment(lambdaenv.Remediator, values), "trailguard remediator: repairs drifted trail delivery, sweeps on a schedule", &awslambda.FunctionProps{
		RetryAttempts: jsii.Number(RemediatorRetryAttempts),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(RemediatorMaxEventAge.Seconds())),
		OnFailure:     &queueDestination{queue: s.FailureQueue, key: s.Key},
	})
	s.grant(s.Provider, providerRole, true)
	s.grant(s.Remediator, remediatorRole, false)

	s.rules(sh.schedule)
	alarms = s.alarms()

	awscdk.NewCfnOutput(s.Stack, jsii.String("ServiceToken"), &awscdk.CfnOutputProps{
		Description: jsii.String("ServiceToken of Custom::CloudTrailCloudWatchLogs (the provider function's ARN)"),
		Value:       s.Provider.FunctionArn(),
		ExportName:  jsii.String(p.ServiceTokenExport),
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String("TopicArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("SNS topic of repairs, alerts and alarms"),
		Value:       s.Topic.TopicArn(),
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String("RegistryTableName"), &awscdk.CfnOutputProps{
		Description: jsii.String("DynamoDB registry of desired states"),
		Value:       s.Table.TableName(),
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String("DeliveryRoleArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("CloudTrail delivery role used when a trail's resource names none"),
		Value:       s.DeliveryRole.RoleArn(),
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String("DeliveryBoundaryArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("Permissions boundary an existing role named by RoleName/RoleArn must carry"),
		Value:       s.DeliveryBoundary.ManagedPolicyArn(),
	})
	return remediatorRole, alarms
}

// checkSettings refuses a setting that is not a CDK setting of lambdaenv.Table, or a value its row's rule
// refuses, naming the variable: at synth, not at the function's first start.
func checkSettings(settings map[string]string) error {
	for k, v := range settings {
		row, ok := lambdaenv.Lookup(k)
		if !ok || row.Context == "" {
			return fmt.Errorf("setting %s: not a function setting the app may set (lambdaenv.Table)", k)
		}
		if err := row.Validate(v); err != nil {
			return fmt.Errorf("setting %s (context %s): %w", k, row.Context, err)
		}
	}
	return nil
}

// functionRole is a function's execution role, under /trailguard/: trusted by Lambda only, with no AWS-managed policy (and so without
// AWSLambdaBasicExecutionRole's log-group wildcard). It carries no permissions boundary on purpose: the boundary
// marks the roles trailguard may write, and a function must not be able to write its own role.
func functionRole(stack awscdk.Stack, id string) awsiam.Role {
	return awsiam.NewRole(stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("trailguard " + strings.ToLower(id) + " function"),
		// The organization guardrail exempts trailguard's roles by this path (aws:PrincipalArn), and denies
		// everyone else creating or changing a role under it.
		Path: jsii.String(delivery.RolePath),
	})
}

// function creates one Go function with the given role and its own log group.
func (s *ProviderStack) function(id string, role awsiam.Role, code awslambda.Code, timeout time.Duration, env map[string]string,
	desc string, extra *awslambda.FunctionProps) awslambda.Function {
	logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     functionLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
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
	props.Code = code
	props.MemorySize = jsii.Number(memoryMB)
	props.Timeout = awscdk.Duration_Seconds(jsii.Number(timeout.Seconds()))
	props.LoggingFormat = awslambda.LoggingFormat_JSON
	props.LogGroup = logs
	props.Role = role
	props.Environment = &vars
	fn := awslambda.NewFunction(s.Stack, jsii.String(id), &props)
	// The organization guardrail denies others changing a function so tagged: its code runs as an exempt role.
	awscdk.Tags_Of(fn).Add(jsii.String(guardrail.FunctionTag), jsii.String(strings.ToLower(id)), nil)
	return fn
}

// newDeliveryRole creates at deploy time what the seed's procedure created at run time: the role CloudTrail assumes
// to deliver, and the permissions boundary that caps it (and any existing role a stack names) at writing CloudTrail
// log streams. Role creation, trust policies and boundaries are CloudFormation's alone: neither function may create
// a role or change a trust policy or a boundary, so a compromised function cannot mint a role it could assume.
// orgID, the organization (o-...) or nil, adds an organization trail's streams o-ORGID_* to the boundary.
func (s *ProviderStack) newDeliveryRole(orgID *string) {
	partition, account := *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID()
	// CloudTrail names a trail's streams ACCOUNT_CloudTrail_REGION, and an organization trail's o-ORGID_...; a
	// trail's log group may have any name and live in its home region, which the stack does not know.
	streams := func(name string) *string {
		return jsii.String(fmt.Sprintf("arn:%s:logs:*:%s:log-group:*:log-stream:%s", partition, account, name))
	}
	// cdk-nag names a resource by its template form: a parameter's token as <Name>, a literal as it is.
	nagStreams := func(name string) any {
		return "Resource::arn:<AWS::Partition>:logs:*:<AWS::AccountId>:log-group:*:log-stream:" + name
	}
	resources := []*string{streams(account + "_CloudTrail_*")}
	appliesTo := []any{nagStreams("<AWS::AccountId>_CloudTrail_*")}
	orgStreams := "no organization trail's streams (no organization id given)"
	if orgID != nil {
		// Never o-*_*: that would admit the streams named after any organization.
		resources = append(resources, streams(*orgID+"_*")) // the id is o-...
		name := *orgID
		if s.Params != nil {
			name = "<" + ParamOrganizationID + ">"
		}
		appliesTo = append(appliesTo, nagStreams(name+"_*"))
		orgStreams = "the organization trail's o-ORGID_* of this organization only"
	}
	trustAccounts := any(account)
	if m := s.managementAccount; m != "" {
		// CloudTrail's delegated administrator: the management account's organization trail names its own events'
		// streams after that account, in this account's log group, and CloudTrail may act for that account.
		resources = append(resources, streams(m+"_CloudTrail_*"))
		appliesTo = append(appliesTo, nagStreams(m+"_CloudTrail_*"))
		orgStreams += ", and the management account " + m + "'s MANAGEMENT_CloudTrail_* of its organization trail"
		trustAccounts = []any{account, m}
	}
	s.DeliveryBoundary = awsiam.NewManagedPolicy(s.Stack, jsii.String("DeliveryBoundary"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("trailguard: permissions boundary of every role trailguard writes (CloudTrail log streams only)"),
		Path:        jsii.String(delivery.RolePath),
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("CloudTrailLogStreamsOnly"),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: &resources,
		})},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.DeliveryBoundary, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("This is a permissions boundary, the ceiling of what a delivery role can ever do: only " +
			"CreateLogStream and PutLogEvents on CloudTrail's own log streams of this account (ACCOUNT_CloudTrail_*, and " +
			orgStreams + "). The log group and region are wildcards because a trail may deliver to any log group in " +
			"its home region; each trail's inline policy names its own group."),
		AppliesTo: &appliesTo,
	}}, nil)

	// CloudFormation names the role, so the stack deploys in several regions of one account without a collision.
	s.DeliveryRole = awsiam.NewRole(s.Stack, jsii.String("DeliveryRole"), &awsiam.RoleProps{
		Description: jsii.String("trailguard: CloudTrail delivers to CloudWatch Logs with this role; the provider " +
			"puts one inline policy per trail on it"),
		Path: jsii.String(delivery.RolePath),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("cloudtrail.amazonaws.com"), nil).WithConditions(
			&map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": trustAccounts}}),
		PermissionsBoundary: s.DeliveryBoundary,
	})
}

// registryWrites are every DynamoDB action that changes an item, PartiQL included.
var registryWrites = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
	"dynamodb:BatchWriteItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"}

// registryPolicy is the registry table's resource policy: nobody but the two functions writes an item. The table
// is a trust root (the remediator enforces what its records say), so an explicit Deny overrides every identity
// policy in the account, administrators' included; changing it takes a change of this stack. In a table's
// resource policy Resource "*" means the table itself: naming its ARN would make the table depend on itself.
func registryPolicy(writers ...awsiam.IRole) awsiam.PolicyDocument {
	arns := make([]any, len(writers))
	for i, r := range writers {
		arns[i] = r.RoleArn()
	}
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OnlyTrailguardFunctionsWrite"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings(registryWrites...),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": arns}},
		}),
	}})
}

// escalation is every IAM action that could make a principal more than it is: a new role or user, a policy beyond
// the boundary, another trust policy, a changed or removed boundary, another version of a managed policy (the
// boundary included), credentials. Neither function's code calls any of them; the explicit Deny keeps a future
// careless Allow from granting them.
var escalation = []string{"iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy",
	"iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion",
	"iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:UpdateRole", "iam:CreateUser",
	"iam:PutUserPolicy", "iam:AttachUserPolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile"}

// grant gives a function's role exactly the calls its code makes (infra/README.md lists each statement with its
// reason), and explicit denials of IAM escalation. The remediator writes less than the provider: no trail tags, no
// deletions, no DeleteRolePolicy. Writes to roles are in a policy of their own, so that the cdk-nag suppression of
// the role/* wildcard for reads cannot also cover them.
func (s *ProviderStack) grant(fn awslambda.Function, role awsiam.Role, isProvider bool) {
	partition, region, account := *awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID()
	trails := jsii.String(fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/*", partition, region, account))
	logGroups := jsii.String(fmt.Sprintf("arn:%s:logs:%s:%s:log-group:*", partition, region, account))
	anyRole := jsii.String(fmt.Sprintf("arn:%s:iam::%s:role/*", partition, account))
	anything := jsii.String("*")
	boundary := s.DeliveryBoundary.ManagedPolicyArn()
	statement := func(sid string, effect awsiam.Effect, actions []string, resources []*string, conditions map[string]any) awsiam.PolicyStatement {
		st := &awsiam.PolicyStatementProps{Sid: jsii.String(sid), Effect: effect, Actions: jsii.Strings(actions...),
			Resources: &resources}
		if conditions != nil {
			st.Conditions = &conditions
		}
		return awsiam.NewPolicyStatement(st)
	}
	allow := func(sid string, actions []string, resources []*string, conditions map[string]any) {
		role.AddToPrincipalPolicy(statement(sid, awsiam.Effect_ALLOW, actions, resources, conditions))
	}
	deny := func(sid string, actions []string, conditions map[string]any) {
		role.AddToPrincipalPolicy(statement(sid, awsiam.Effect_DENY, actions, []*string{anything}, conditions))
	}
	pick := func(both []string, providerOnly ...string) []string {
		if isProvider {
			return append(both, providerOnly...)
		}
		return both
	}

	trailResources := []*string{trails}
	if m := s.managementAccount; m != "" {
		// The organization trails of the management account, which this account configures as CloudTrail's
		// delegated administrator (by ARN).
		trailResources = append(trailResources, jsii.String(fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/*", partition, region, m)))
		if isProvider {
			allow("DelegatedAdministrator", []string{"organizations:ListDelegatedAdministrators"}, []*string{anything}, nil)
		}
	}
	allow("Trails", append(pick([]string{"cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:UpdateTrail",
		"cloudtrail:StartLogging", "cloudtrail:ListTags"}, "cloudtrail:AddTags", "cloudtrail:RemoveTags"),
		"cloudtrail:GetEventSelectors", "cloudtrail:GetEventConfiguration"), trailResources, nil)
	// DescribeTrails (a shadow copy's home region), DescribeLogGroups, DescribeOrganization (an organization
	// trail's id) and GetSubscriptionAttributes (whether a CIS pack topic's subscriber filters the alarms out; SNS
	// defines no subscription resource type) support no resource-level permissions.
	allow("Describe", pick([]string{"cloudtrail:DescribeTrails", "logs:DescribeLogGroups", "sns:GetSubscriptionAttributes"},
		"organizations:DescribeOrganization"), []*string{anything}, nil)
	// A trail's log group may have any name the stack author chose.
	logActions := []string{"logs:CreateLogGroup", "logs:TagResource", "logs:TagLogGroup", "logs:PutRetentionPolicy"}
	if isProvider {
		logActions = append(logActions, "logs:ListTagsForResource")
	} else {
		logActions = append(logActions, "logs:DeleteRetentionPolicy")
	}
	allow("LogGroups", logActions, []*string{logGroups}, nil)
	// The group's guards are desired state: deletion protection turned on (and, by the provider only, off right
	// before the DeleteLogGroup its stack asked for), the registered KMS key put back or a foreign one removed.
	allow("LogGroupGuard", []string{"logs:PutLogGroupDeletionProtection", "logs:AssociateKmsKey", "logs:DisassociateKmsKey"},
		[]*string{logGroups}, nil)
	if isProvider {
		// The provider confirms that each request comes from an operation of the stack it names (checkStack).
		allow("StackCheck", []string{"cloudformation:DescribeStacks", "cloudformation:DescribeStackResource"},
			[]*string{jsii.String(fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/*", partition, region, account))}, nil)
		allow("LogGroupDelete", []string{"logs:DeleteLogGroup"}, []*string{logGroups},
			map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + delivery.TagCreatedBy: "trailguard"}})
	}
	// Reads cover any role, because a stack may name an existing role at any path, which is validated first.
	allow("RoleRead", []string{"iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"},
		[]*string{anyRole}, nil)
	allow("Registry", append(pick([]string{"dynamodb:GetItem", "dynamodb:PutItem"}, "dynamodb:DeleteItem"),
		"dynamodb:Scan"), []*string{s.Table.TableArn()}, nil)
	// The CIS monitoring pack (docs/cis.md): filters on a trail's log group (any name, as above), alarms only under
	// the pack's name prefix, and the subscriptions of the alarms' topic (any topic of this account and region a
	// stack names; the engine refuses others). Only the provider deletes: the remediator puts back.
	allow("PackFilters", pick([]string{"logs:DescribeMetricFilters", "logs:PutMetricFilter"}, "logs:DeleteMetricFilter"),
		[]*string{logGroups}, nil)
	allow("PackAlarms", pick([]string{"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"},
		"cloudwatch:DeleteAlarms"), []*string{jsii.String(fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:%s*", partition, region, account, cis.NamePrefix))}, nil)
	allow("PackTopic", []string{"sns:ListSubscriptionsByTopic", "sns:GetTopicAttributes"}, []*string{jsii.String(fmt.Sprintf("arn:%s:sns:%s:%s:*", partition, region, account))}, nil)
	// Topic.GrantPublish would add kms:GenerateDataKey*; publishing to an encrypted topic needs these two actions.
	allow("Notify", []string{"sns:Publish"}, []*string{s.notifyTopicARN}, nil)
	if s.notifyKeyARN != nil { // an encrypted topic: the stack's key, or a member's central topic's
		allow("NotifyKey", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []*string{s.notifyKeyARN}, nil)
	}

	deny("DenyIAMEscalation", escalation, nil)
	deny("DenyUnboundedRolePolicyWrites", []string{"iam:PutRolePolicy", "iam:DeleteRolePolicy"},
		map[string]any{"StringNotEquals": map[string]any{"iam:PermissionsBoundary": boundary}})
	deny("DenyPassRoleToOtherServices", []string{"iam:PassRole"},
		map[string]any{"StringNotEquals": map[string]any{"iam:PassedToService": "cloudtrail.amazonaws.com"}})

	// Role writes: only the per-trail inline policy, only on a role that carries the boundary (the delivery role,
	// or an existing role a stack names that an administrator gave the boundary), and passing a role only to
	// CloudTrail. role/* because such a role may live at any path.
	writes := awsiam.NewPolicy(s.Stack, jsii.String(*fn.Node().Id()+"RoleWrites"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			statement("BoundedRolePolicyWrite", awsiam.Effect_ALLOW,
				pick([]string{"iam:PutRolePolicy"}, "iam:DeleteRolePolicy"), []*string{anyRole},
				map[string]any{"StringEquals": map[string]any{"iam:PermissionsBoundary": boundary}}),
			statement("PassRoleToCloudTrail", awsiam.Effect_ALLOW, []string{"iam:PassRole"}, []*string{anyRole},
				map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cloudtrail.amazonaws.com"}}),
		},
	})
	fn.Node().AddDependency(writes)

	defaultApplies := []any{
		"Resource::*",
		"Resource::arn:<AWS::Partition>:cloudtrail:<AWS::Region>:<AWS::AccountId>:trail/*",
		"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*",
		"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*",
		"Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/*",
		"Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:" + cis.NamePrefix + "*",
		"Resource::arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:*",
	}
	delegated := ""
	if m := s.managementAccount; m != "" {
		defaultApplies = append(defaultApplies, "Resource::arn:<AWS::Partition>:cloudtrail:<AWS::Region>:"+m+":trail/*")
		delegated = " As CloudTrail's delegated administrator: trail/* of the management account " + m + " in this " +
			"region (its organization trails, named by ARN), and organizations:ListDelegatedAdministrators (Resource *, " +
			"no resource-level permissions) for the provider's check that this account is the administrator."
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role.Node().FindChild(jsii.String("DefaultPolicy")), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Wildcards only where the service or the input requires them: Resource * for " +
			"cloudtrail:DescribeTrails, logs:DescribeLogGroups and organizations:DescribeOrganization (no " +
			"resource-level permissions); trail/* of this account and region (a stack may wire any of its trails); " +
			"log-group:* of this account and region (a stack may name any group; DeleteLogGroup only on groups " +
			"tagged " + delivery.TagCreatedBy + "=trailguard); role/* for read-only iam:Get*/List* calls that " +
			"validate a role a stack names; stack/* of this account and region for the provider's read-only " +
			"cloudformation:Describe* confirmation that a request comes from the stack it names (any consumer stack); " +
			"alarm:" + cis.NamePrefix + "* for the CIS monitoring pack's alarms (its names only); sns:*:ACCOUNT:* of this " +
			"region for sns:ListSubscriptionsByTopic and sns:GetTopicAttributes, read-only, of the topic a stack names for " +
			"the pack's alarms; Resource * for sns:GetSubscriptionAttributes (no resource-level permissions). " +
			"This policy holds no IAM write; role writes are in the RoleWrites policy." + delegated),
		AppliesTo: &defaultApplies,
	}}, nil)
	cdknag.NagSuppressions_AddResourceSuppressions(writes, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("role/* because a role a stack names may live at any path, but every statement is " +
			"conditioned: PutRolePolicy/DeleteRolePolicy only on a role whose permissions boundary is the " +
			"DeliveryBoundary (iam:PermissionsBoundary), which caps it at writing CloudTrail log streams, and " +
			"PassRole only to cloudtrail.amazonaws.com (iam:PassedToService). infra/stacks/escalation_test.go fails " +
			"on any statement without these conditions."),
		AppliesTo: &[]any{"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*"},
	}}, nil)
}

// grantAdoption gives the remediator what account-wide mode's adoption calls beyond its repairs, in a policy of
// its own: cloudtrail:AddTags (the registration tag, as the provider's Create puts it) and
// organizations:DescribeOrganization (an organization trail of this account names its streams o-ORGID_*). Its
// other reads (GetTrail, ListTags, DescribeLogGroups, the role reads) the remediator holds already. In a member
// stack the policy exists under the AccountWideOn condition, so the parameter switches grant and mode together.
func (s *ProviderStack) grantAdoption(role awsiam.Role, on awscdk.CfnCondition) {
	partition, region, account := *awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID()
	policy := awsiam.NewPolicy(s.Stack, jsii.String("RemediatorAdoption"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("AdoptTrails"),
				Actions:   jsii.Strings("cloudtrail:AddTags"),
				Resources: jsii.Strings(fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/*", partition, region, account))}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("AdoptOrganizationTrails"),
				Actions: jsii.Strings("organizations:DescribeOrganization"), Resources: jsii.Strings("*")}),
			// Resolve reads the tags of a log group that already has an adopted trail's default name, to refuse one
			// trailguard did not create for that trail (delivery.checkCreatedForTrail). Found by the IAM evaluator
			// test: moto does not enforce IAM, so its absence failed only on AWS.
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("AdoptReadsDefaultGroupTags"),
				Actions:   jsii.Strings("logs:ListTagsForResource"),
				Resources: jsii.Strings(fmt.Sprintf("arn:%s:logs:%s:%s:log-group:*", partition, region, account))}),
		},
	})
	if on != nil {
		// No DependsOn on a conditional resource (CloudFormation refuses it): an adoption that runs before the
		// policy exists fails and is retried by the next sweep.
		policy.Node().DefaultChild().(awsiam.CfnPolicy).CfnOptions().SetCondition(on)
	} else {
		s.Remediator.Node().AddDependency(policy)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(policy, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Account-wide mode adopts any trail of this account and region (trail/*: AddTags puts " +
			"the registration tag, nothing else writes here); organizations:DescribeOrganization supports no " +
			"resource-level permissions (Resource *); log-group:* is a tag read (ListTagsForResource) of whichever " +
			"group has an adopted trail's default name."),
		AppliesTo: &[]any{"Resource::*", "Resource::arn:<AWS::Partition>:cloudtrail:<AWS::Region>:<AWS::AccountId>:trail/*",
			"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*"},
	}}, nil)
}

// rules routes the spec's API-call events and the sweep schedule to the remediator.
func (s *ProviderStack) rules(sweep awsevents.Schedule) {
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
					"eventSource": []any{eventSource},
					"eventName":   toAny(events),
					"errorCode":   []any{map[string]any{"exists": false}},
					// anything-but matches only a present field: an event with no userIdentity.arn (an AWS
					// service, an AWSAccount caller) needs the exists:false branch to be seen at all.
					"$or": []any{
						map[string]any{"userIdentity": map[string]any{"arn": []any{map[string]any{"exists": false}}}},
						map[string]any{"userIdentity": map[string]any{"arn": []any{map[string]any{"anything-but": map[string]any{"wildcard": self}}}}},
					},
				},
			},
			Targets: &[]awsevents.IRuleTarget{target},
		})
	}
	for _, source := range trigger.Sources() {
		r, ok := ruleIDs[source]
		if !ok {
			panic("stacks: no rule id for event source " + source + " of trigger.Catalogue")
		}
		region := trigger.OnlyIn(source)
		desc := "trailguard: " + r.desc + ", except the remediator's own"
		if region != "" {
			desc += " (" + region + " only)"
		}
		rule := apiCall(r.id, trigger.EventBridgeSource(source), source, trigger.EventNames(source), desc)
		if region == "" {
			continue
		}
		// A global service's API-call events reach EventBridge in one region only (IAM: us-east-1). The rule exists
		// only there, so the template stays region-agnostic (StackSets); elsewhere the sweep finds that drift. The
		// rule and the invoke permission its target created beneath it (which references the rule's ARN) exist only
		// under the condition.
		cond := s.regionCondition(region)
		for _, c := range *rule.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			if r, ok := c.(awscdk.CfnResource); ok {
				r.CfnOptions().SetCondition(cond)
			}
		}
	}

	awsevents.NewRule(s.Stack, jsii.String("Sweep"), &awsevents.RuleProps{
		Description: jsii.String("trailguard: periodic sweep of every registered trail"),
		Schedule:    sweep,
		Targets:     &[]awsevents.IRuleTarget{target},
	})
}

// regionCondition is a condition true only in region (InUsEast1 for us-east-1), made once per region.
func (s *ProviderStack) regionCondition(region string) awscdk.CfnCondition {
	id := "In"
	for _, part := range strings.Split(region, "-") {
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	if c, ok := s.Stack.Node().TryFindChild(jsii.String(id)).(awscdk.CfnCondition); ok {
		return c
	}
	return awscdk.NewCfnCondition(s.Stack, jsii.String(id), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(region)),
	})
}

// newKey makes the customer managed key of the topic and the failure queue (ProviderStackProps.CustomerManagedKey):
// CloudWatch alarms can only publish to a topic whose key policy lets cloudwatch.amazonaws.com use the key, which an
// AWS-managed key cannot grant.
func (s *ProviderStack) newKey() {
	s.Key = awskms.NewKey(s.Stack, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("trailguard: encrypts the notification topic and the failure queue"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	s.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AlarmsPublishToEncryptedTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" means this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": s.Stack.Account()}},
	}), nil)
}

// alarms notify the topic when the failure queue holds a message or either function errs. It returns their ARNs:
// a member forwards their state changes to the central bus, and names its alarms STACK-ID so that the ARNs are
// known without a reference to the alarms (moto's CloudFormation, which the organization story runs on, does not
// create alarms and refuses a reference to one).
func (s *ProviderStack) alarms() []*string {
	action := awscloudwatchactions.NewSnsAction(s.Topic)
	var arns []*string
	alarm := func(id string, metric awscloudwatch.Metric, desc string) {
		var name *string
		if s.Params != nil {
			name = awscdk.Fn_Join(jsii.String("-"), &[]*string{awscdk.Aws_STACK_NAME(), jsii.String(id)})
		}
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          name,
			AlarmDescription:   jsii.String(desc),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		arn := a.AlarmArn()
		if name != nil {
			arn = s.Stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
				ResourceName: name, ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
		}
		arns = append(arns, arn)
	}
	period := awscdk.Duration_Minutes(jsii.Number(5))
	alarm("FailureQueueAlarm", s.FailureQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period: period, Statistic: jsii.String("Maximum")}),
		"trailguard: remediator events failed after all retries; read them from the failure queue")
	alarm("ProviderErrorsAlarm", s.Provider.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}),
		"trailguard: the provider function failed (see its log group)")
	alarm("RemediatorErrorsAlarm", s.Remediator.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}),
		"trailguard: the remediator function failed (see its log group)")
	return arns
}

// queueDestination is an on-failure destination to a queue, KMS-encrypted when key is set. CDK's SqsDestination grants the action
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
	if d.key != nil { // SQS-managed encryption needs no permission
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("OnFailureQueueKey"),
			Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
			Resources: &[]*string{d.key.KeyArn()},
		}))
	}
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
