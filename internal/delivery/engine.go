// Package delivery wires a CloudTrail trail to a CloudWatch Logs log group the way AWS documents it (log group, IAM
// role trusted by CloudTrail, a role policy that lets CloudTrail write the trail's log streams, UpdateTrail), checks
// the live state against that desired state, repairs drift, and undoes the wiring.
//
// The provider and the remediator share it: the provider resolves a spec into a Target and reconciles it once; the
// remediator keeps the stored Target and reconciles it whenever something changes. Every operation reads before it
// writes and is safe to run twice, because Lambda retries asynchronous invocations.
package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// CloudTrailAPI is the part of the CloudTrail client the engine calls.
type CloudTrailAPI interface {
	GetTrail(context.Context, *cloudtrail.GetTrailInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailOutput, error)
	DescribeTrails(context.Context, *cloudtrail.DescribeTrailsInput, ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(context.Context, *cloudtrail.GetTrailStatusInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	UpdateTrail(context.Context, *cloudtrail.UpdateTrailInput, ...func(*cloudtrail.Options)) (*cloudtrail.UpdateTrailOutput, error)
	StartLogging(context.Context, *cloudtrail.StartLoggingInput, ...func(*cloudtrail.Options)) (*cloudtrail.StartLoggingOutput, error)
	GetEventSelectors(context.Context, *cloudtrail.GetEventSelectorsInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
	GetEventConfiguration(context.Context, *cloudtrail.GetEventConfigurationInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetEventConfigurationOutput, error)
	ListTags(context.Context, *cloudtrail.ListTagsInput, ...func(*cloudtrail.Options)) (*cloudtrail.ListTagsOutput, error)
	AddTags(context.Context, *cloudtrail.AddTagsInput, ...func(*cloudtrail.Options)) (*cloudtrail.AddTagsOutput, error)
	RemoveTags(context.Context, *cloudtrail.RemoveTagsInput, ...func(*cloudtrail.Options)) (*cloudtrail.RemoveTagsOutput, error)
}

// LogsAPI is the part of the CloudWatch Logs client the engine calls.
type LogsAPI interface {
	DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	CreateLogGroup(context.Context, *cloudwatchlogs.CreateLogGroupInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(context.Context, *cloudwatchlogs.PutRetentionPolicyInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	DeleteRetentionPolicy(context.Context, *cloudwatchlogs.DeleteRetentionPolicyInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteRetentionPolicyOutput, error)
	DeleteLogGroup(context.Context, *cloudwatchlogs.DeleteLogGroupInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
	ListTagsForResource(context.Context, *cloudwatchlogs.ListTagsForResourceInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
	PutLogGroupDeletionProtection(context.Context, *cloudwatchlogs.PutLogGroupDeletionProtectionInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogGroupDeletionProtectionOutput, error)
	AssociateKmsKey(context.Context, *cloudwatchlogs.AssociateKmsKeyInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.AssociateKmsKeyOutput, error)
	DisassociateKmsKey(context.Context, *cloudwatchlogs.DisassociateKmsKeyInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DisassociateKmsKeyOutput, error)
}

// IAMAPI is the part of the IAM client the engine calls. It has no call that creates or deletes a role or changes
// a trust policy: roles are created at deploy time, and a function that could do either could escalate.
type IAMAPI interface {
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(context.Context, *iam.DeleteRolePolicyInput, ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	ListRolePolicies(context.Context, *iam.ListRolePoliciesInput, ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
}

// OrganizationsAPI finds the organization id an organization trail's log streams are named after.
type OrganizationsAPI interface {
	DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
}

// Clients are the AWS clients of the trail's home region.
type Clients struct {
	CloudTrail    CloudTrailAPI
	Logs          LogsAPI
	IAM           IAMAPI
	Organizations OrganizationsAPI
	// Administrators is called only by a deployment in CloudTrail's delegated administrator account
	// (WithManagementAccount), the only one granted it.
	Administrators AdministratorsAPI
	// MetricFilters, Alarms and Topics serve the CIS monitoring pack (pack.go).
	MetricFilters MetricFiltersAPI
	Alarms        AlarmsAPI
	Topics        TopicsAPI
}

// NewRepairClients builds the clients repairs need, and no Organizations client: only Resolve (the provider)
// reads the organization, and every client built costs the remediator's cold start.
func NewRepairClients(cfg aws.Config) Clients {
	logs := cloudwatchlogs.NewFromConfig(cfg)
	return Clients{CloudTrail: cloudtrail.NewFromConfig(cfg), Logs: logs, IAM: iam.NewFromConfig(cfg),
		MetricFilters: logs, Alarms: cloudwatch.NewFromConfig(cfg), Topics: sns.NewFromConfig(cfg)}
}

// NewClients builds every client the engine can call, Resolve's included.
func NewClients(cfg aws.Config) Clients {
	c := NewRepairClients(cfg)
	org := organizations.NewFromConfig(cfg)
	c.Organizations, c.Administrators = org, org
	return c
}

// Engine resolves, checks, repairs and removes the CloudWatch Logs delivery of trails whose home region is Region.
type Engine struct {
	c      Clients
	region string
	log    *slog.Logger
	// propagation bounds the retries of UpdateTrail while IAM propagates a new role or policy.
	propagationBase, propagationMax, propagationTotal time.Duration
	// maxDeliveryAge is how old the last delivery may be before a logging trail counts as not delivering.
	maxDeliveryAge time.Duration
	now            func() time.Time
	// deliveryRole is the ARN of the role a trail uses when its resource names none; boundary is the permissions
	// boundary every role trailguard writes must carry.
	deliveryRole, boundary string
	// boundaryOrg is the organization whose o-ORGID_* log streams the boundary admits; empty: none.
	boundaryOrg string
	// managementAccount is the organization's management account whose organization trails this account wires as
	// CloudTrail's delegated administrator (WithManagementAccount); empty: none.
	managementAccount string
	// packTopic is the SNS topic a CIS pack's alarms notify when the resource names none.
	packTopic string
}

// Option configures an Engine.
type Option func(*Engine)

// WithLogger sets the logger the engine reports its writes to.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithPropagationBackoff sets how UpdateTrail is retried while CloudTrail does not yet accept a new role or log
// group: exponential from base, capped at max per wait, for at most total (or until the context's deadline).
func WithPropagationBackoff(base, max, total time.Duration) Option {
	return func(e *Engine) { e.propagationBase, e.propagationMax, e.propagationTotal = base, max, total }
}

// WithMaxDeliveryAge sets how long a logging trail may go without delivering to CloudWatch Logs before
// AspectDelivery reports it (default 24 h).
func WithMaxDeliveryAge(d time.Duration) Option { return func(e *Engine) { e.maxDeliveryAge = d } }

// WithDeliveryRole sets the role (an ARN) a trail uses when its resource names none: the one the provider stack
// creates at deploy time.
func WithDeliveryRole(roleARN string) Option { return func(e *Engine) { e.deliveryRole = roleARN } }

// WithPermissionsBoundary sets the permissions boundary (a managed policy ARN) a role must carry before trailguard
// writes a policy into it. Empty accepts any role that passes the other checks (tests, local runs).
func WithPermissionsBoundary(policyARN string) Option {
	return func(e *Engine) { e.boundary = policyARN }
}

// WithBoundaryOrganization names the organization (o-...) whose log streams, o-ORGID_*, the permissions boundary
// admits. An organization trail's member accounts deliver into those streams, so with a boundary set and another
// (or no) organization named, Resolve refuses the trail: its role policy would be capped and the members' events
// would silently stop reaching the log group.
func WithBoundaryOrganization(orgID string) Option { return func(e *Engine) { e.boundaryOrg = orgID } }

// WithClock replaces time.Now, for tests of delivery age and propagation deadlines.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// DefaultMaxDeliveryAge is how long a logging trail may go without delivering to CloudWatch Logs before the sweep
// reports it: CloudTrail delivers about every 5 minutes, so a day without delivery means it stopped.
const DefaultMaxDeliveryAge = 24 * time.Hour

// New returns an engine for trails whose home region is region, using that region's clients.
func New(c Clients, region string, opts ...Option) *Engine {
	e := &Engine{
		c: c, region: region, log: slog.Default(),
		propagationBase: time.Second, propagationMax: 8 * time.Second, propagationTotal: 2 * time.Minute,
		maxDeliveryAge: DefaultMaxDeliveryAge, now: time.Now,
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Region is the region this engine acts in: the home region of every trail it accepts.
func (e *Engine) Region() string { return e.region }
