// Package lambdaenv reads the settings every trailguard Lambda shares from its environment, once, in the init phase.
package lambdaenv

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailguard/trailguard/internal/awsconfig"
)

// MemoryMB is both functions' memory size, which sets their CPU share (a vCPU at 1,769 MB). The CDK app deploys it;
// the benchmark judges the issue-24 goals at it and the cost model bills it. Chosen by measurement: BENCHMARKS.md,
// "Under Lambda's CPU share", and docs/organizations.md, "Memory size".
const MemoryMB = 256

// Environment variable names, set by the CDK app (and by the demo and tests for local runs).
const (
	// RegistryTable is the DynamoDB table holding desired states. Both functions require it: they refuse to start
	// without it (every resource is registered; the remediator repairs registered trails only).
	RegistryTable = "TRAILGUARD_REGISTRY_TABLE"
	// TopicARN is the SNS topic for notifications; empty disables them.
	TopicARN = "TRAILGUARD_TOPIC_ARN"
	// LocalRun, when "true", lets the provider answer a loopback http ResponseURL. Only the demo and tests set it.
	LocalRun = "TRAILGUARD_LOCAL_RUN"
	// DeliveryMaxAge is how long a logging trail may go without delivering before the sweep alerts (Go duration).
	DeliveryMaxAge = "TRAILGUARD_DELIVERY_MAX_AGE"
	// RepairLimit is how many repairs of one trail within RepairWindow are tolerated before it is contested.
	RepairLimit = "TRAILGUARD_REPAIR_LIMIT"
	// RepairWindow is how far back repairs count towards RepairLimit (Go duration).
	RepairWindow = "TRAILGUARD_REPAIR_WINDOW"
	// LogLevel is debug, info (default), warn or error.
	LogLevel = "TRAILGUARD_LOG_LEVEL"
	// DeliveryRoleARN is the CloudTrail delivery role the provider stack creates at deploy time: the role a trail
	// uses when its resource names none. trailguard's functions never create roles or change trust policies.
	DeliveryRoleARN = "TRAILGUARD_DELIVERY_ROLE_ARN"
	// DeliveryBoundaryARN is the managed policy every role trailguard writes must carry as its permissions
	// boundary: it caps any inline policy at logs:CreateLogStream and logs:PutLogEvents on CloudTrail log streams.
	DeliveryBoundaryARN = "TRAILGUARD_DELIVERY_BOUNDARY_ARN"
	// BoundaryOrganizationID is the organization (o-...) whose log streams the delivery boundary admits, set when
	// the provider stack is given one (CDK context trailguard:org:organizationId, a member's OrganizationId
	// parameter); an organization trail of another organization is refused rather than wired to fail.
	BoundaryOrganizationID = "TRAILGUARD_BOUNDARY_ORGANIZATION_ID"
	// AllowedStacks is a comma-separated list of stack names (a trailing * matches a prefix) that may manage a
	// trail whose tags do not name them; empty by default (CDK context trailguard:allowedStacks).
	AllowedStacks = "TRAILGUARD_ALLOWED_STACKS"
	// AccountWide, "true" or "false" (default), turns the remediator's account-wide mode on: it guards every trail
	// of its account and region, adopting those no stack declares (CDK context trailguard:accountWide).
	AccountWide = "TRAILGUARD_ACCOUNT_WIDE"
	// AccountRetentionInDays, AccountKmsKeyID and AccountRemediation are the account policy's defaults for an
	// adopted trail, with the resource properties' rules (RetentionInDays, KmsKeyId, Remediation); empty takes the
	// provider's defaults (365 days for a log group trailguard creates, no key, enforce).
	AccountRetentionInDays = "TRAILGUARD_ACCOUNT_RETENTION_IN_DAYS"
	AccountKmsKeyID        = "TRAILGUARD_ACCOUNT_KMS_KEY_ID"
	AccountRemediation     = "TRAILGUARD_ACCOUNT_REMEDIATION"
	// AccountDeletionProtection, "true" (default) or "false", is the account policy's DeletionProtection: whether
	// an adopted trail's log group keeps CloudWatch Logs deletion protection on.
	AccountDeletionProtection = "TRAILGUARD_ACCOUNT_DELETION_PROTECTION"
	// AccountMonitoringPack and AccountAlarmTopicARN are the account policy's CIS monitoring pack for an adopted
	// trail, with the MonitoringPack and AlarmTopicArn rules; empty: no pack, and the notification topic.
	AccountMonitoringPack = "TRAILGUARD_ACCOUNT_MONITORING_PACK"
	AccountAlarmTopicARN  = "TRAILGUARD_ACCOUNT_ALARM_TOPIC_ARN"
	// DecisionEvents, "true" or "false" (default), makes the remediator put every decision a person is told of on
	// its account's default event bus as well (notify.EventSender): an organization member's stack sets it and
	// forwards those events to the central bus.
	DecisionEvents = "TRAILGUARD_DECISION_EVENTS"
	// ManagementAccountID is the organization's management account (12 digits), set when the provider stack is
	// deployed in CloudTrail's delegated administrator account (CDK context trailguard:org:managementAccountId):
	// both functions then wire and guard, by ARN, the organization trails of that account (delivery.WithManagementAccount).
	ManagementAccountID = "TRAILGUARD_MANAGEMENT_ACCOUNT_ID"
)

// Logger returns the JSON logger on stdout, where Lambda sends it to CloudWatch Logs, and makes it the default.
func Logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv(LogLevel))); err != nil {
		level = slog.LevelInfo
	}
	l := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(l)
	return l
}

// AWSConfig builds the SDK configuration from the variables Lambda sets (and the demo and tests set alike).
func AWSConfig() (aws.Config, error) {
	return awsconfig.FromEnvironment(awsconfig.Environment{
		Region:       os.Getenv("AWS_REGION"),
		AccessKeyID:  os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: os.Getenv("AWS_SESSION_TOKEN"),
		EndpointURL:  os.Getenv("AWS_ENDPOINT_URL"),
	})
}

// Bool reads a boolean variable; unset or unparsable is false.
func Bool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(name))
	return b
}

// StrictBool reads a boolean variable that changes what trailguard guards: unset is false, and anything but
// true or false is an error naming the variable, not a silent false.
func StrictBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

// Init is the init phase every trailguard Lambda shares: the JSON logger and the SDK configuration.
func Init() (*slog.Logger, aws.Config) {
	log := Logger()
	cfg, err := AWSConfig()
	ExitOnError(log, err)
	return log, cfg
}

// ExitOnError ends a function's init phase when err is set: the reason is logged and Lambda reports an init error,
// which is better than serving events with a half-configured function.
func ExitOnError(log *slog.Logger, err error) {
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
}
