package lambdaenv

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/repair"
	"github.com/trailguard/trailguard/internal/spec"
)

// Function says which function a setting is deployed to.
type Function uint8

const (
	Provider Function = 1 << iota
	Remediator
	Both = Provider | Remediator
)

// Setting is one function setting: every place that names, defaults, validates or documents it reads this row.
type Setting struct {
	// Env is the environment variable the function reads.
	Env string
	// Context is the CDK context key that sets it; empty when the stack derives the value (a resource it creates).
	Context string
	// Param is the organization member template's parameter that carries it; empty when a member stack does not
	// take it from the StackSet.
	Param string
	// Default is the value when unset ("" is unset). The stack writes it when Always.
	Default string
	// Always makes the stack write the variable even when no value is given (then Default).
	Always bool
	// For is the functions the stack sets it on.
	For Function
	// Check parses and validates a value that is set; nil accepts any.
	Check func(string) error
	// Doc is the one line of documentation (infra/README.md's function settings table).
	Doc string
}

// Table is every setting a deployed function reads, one row each. Adding a setting is a row here and its consumer.
var Table = []Setting{
	{Env: RegistryTable, For: Both, Always: true, Doc: "the registry table (the stack's)"},
	{Env: TopicARN, For: Both, Always: true,
		Doc: "the notification topic (the stack's; a member's the organization's central topic)"},
	{Env: DeliveryRoleARN, For: Both, Always: true,
		Doc: "the CloudTrail delivery role the stack creates, used when a trail's resource names none"},
	{Env: DeliveryBoundaryARN, For: Both, Always: true,
		Doc: "the permissions boundary every role trailguard writes must carry"},
	{Env: AllowedStacks, Context: "trailguard:allowedStacks", Param: "AllowedStacks", For: Both, Always: true,
		Check: func(v string) error { _, err := spec.ParseAllowedStacks(v); return err },
		Doc:   "stacks (comma-separated, a trailing * matches a prefix) that may manage a trail whose tags do not name them: see [Who may manage a trail](#who-may-manage-a-trail)"},
	{Env: LogLevel, Context: "trailguard:logLevel", Param: "LogLevel", Default: "info", For: Both, Always: true,
		Check: oneOf("debug", "info", "warn", "error"), Doc: "the functions' log level: debug, info, warn or error"},
	{Env: BoundaryOrganizationID, Context: "trailguard:org:organizationId", Param: "OrganizationId", For: Both,
		Check: spec.CheckOrganizationID,
		Doc:   "the organization (o-...) whose organization trails' streams the delivery boundary admits"},
	{Env: ManagementAccountID, Context: "trailguard:org:managementAccountId", For: Both, Check: spec.CheckAccountID,
		Doc: "the organization's management account, when deployed in CloudTrail's delegated administrator account"},
	{Env: DeliveryMaxAge, Context: "trailguard:deliveryMaxAge", Default: delivery.DefaultMaxDeliveryAge.String(),
		For: Remediator, Always: true, Check: positiveDuration,
		Doc: "how long a logging trail may go without delivering before the sweep alerts"},
	{Env: RepairLimit, Context: "trailguard:repairLimit", Default: strconv.Itoa(repair.DefaultLimit), For: Remediator,
		Always: true, Check: positiveInt,
		Doc: "repairs of one trail within the repair window before it is contested (events then no longer repair it)"},
	{Env: RepairWindow, Context: "trailguard:repairWindow", Default: repair.DefaultWindow.String(), For: Remediator,
		Always: true, Check: positiveDuration, Doc: "how far back repairs count towards the repair limit"},
	{Env: AccountWide, Context: "trailguard:accountWide", Param: "AccountWide", Default: "false", For: Remediator,
		Always: true, Check: oneOf("true", "false"),
		Doc: "true: the remediator guards every trail of its account and region, adopting those no stack declares: see [Account-wide mode](#account-wide-mode)"},
	{Env: AccountRetentionInDays, Context: "trailguard:accountWide:retentionInDays", For: Remediator,
		Check: property("RetentionInDays"), Doc: "retention of the log group created for an adopted trail (default 365)"},
	{Env: AccountKmsKeyID, Context: "trailguard:accountWide:kmsKeyId", For: Remediator, Check: property("KmsKeyId"),
		Doc: "KMS key ARN for that log group (the trail's account and region)"},
	{Env: AccountRemediation, Context: "trailguard:accountWide:remediation", Default: string(spec.Enforce),
		For: Remediator, Check: accountRemediation, Doc: "enforce or report for adopted trails"},
	{Env: AccountDeletionProtection, Context: "trailguard:accountWide:deletionProtection", Default: "true",
		For: Remediator, Check: property("DeletionProtection"),
		Doc: "false: leave CloudWatch Logs deletion protection off adopted trails' log groups"},
	{Env: AccountMonitoringPack, Context: "trailguard:accountWide:monitoringPack", Default: "none", For: Remediator,
		Check: property("MonitoringPack"), Doc: "cis or cis-v5: the CIS monitoring pack on an adopted trail's log group"},
	{Env: AccountAlarmTopicARN, Context: "trailguard:accountWide:alarmTopicArn", For: Remediator,
		Check: property("AlarmTopicArn"), Doc: "the SNS topic the adopted trails' pack alarms notify (default: the notification topic)"},
	{Env: DecisionEvents, Default: "false", For: Remediator, Check: oneOf("true", "false"),
		Doc: "true (member stacks): every decision also goes to the account's default event bus, forwarded centrally"},
}

// Settings are the variables of Table: the names `make invoke TARGET=aws` passes on from the caller's environment.
var Settings = func() []string {
	names := make([]string, len(Table))
	for i, s := range Table {
		names[i] = s.Env
	}
	return names
}()

// Lookup returns the row of the variable env.
func Lookup(env string) (Setting, bool) {
	for _, s := range Table {
		if s.Env == env {
			return s, true
		}
	}
	return Setting{}, false
}

// Validate checks a value of the setting: empty is unset and always valid; anything else must pass Check. The
// error names the variable, the value and the rule.
func (s Setting) Validate(v string) error {
	if v == "" || s.Check == nil {
		return nil
	}
	if err := s.Check(v); err != nil {
		return fmt.Errorf("%s=%q: %w", s.Env, v, err)
	}
	return nil
}

// Value is the setting's value in the environment, or its default.
func (s Setting) Value() string {
	if v := os.Getenv(s.Env); v != "" {
		return v
	}
	return s.Default
}

// Environment is the environment fn is deployed with, given the settings' values by variable: every row deployed
// to fn that has a value, and the rows always written with their default when they have none. The CDK stack and
// the demo's local runs build the functions' environments with it.
func Environment(fn Function, values map[string]string) map[string]string {
	env := map[string]string{}
	for _, row := range Table {
		v := values[row.Env]
		if v == "" && row.Always {
			v = row.Default
		}
		if row.For&fn != 0 && (v != "" || row.Always) {
			env[row.Env] = v
		}
	}
	return env
}

// CheckEnvironment validates every setting fn is deployed with, so a function refuses to start on a value out of
// range (a repair limit of 0 would make every event hold) instead of serving events with it.
func CheckEnvironment(fn Function) error {
	var errs []error
	for _, s := range Table {
		if s.For&fn != 0 {
			errs = append(errs, s.Validate(os.Getenv(s.Env)))
		}
	}
	return errors.Join(errs...)
}

func mustLookup(env string) Setting {
	s, ok := Lookup(env)
	if !ok {
		panic("lambdaenv: no row for " + env)
	}
	return s
}

// Int reads a whole-number setting, its default when unset; an invalid value is an error naming the variable.
func Int(env string) (int, error) {
	s := mustLookup(env)
	v := s.Value()
	if err := s.Validate(v); err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// Duration reads a duration setting, its default when unset; an invalid value is an error naming the variable.
func Duration(env string) (time.Duration, error) {
	s := mustLookup(env)
	v := s.Value()
	if err := s.Validate(v); err != nil {
		return 0, err
	}
	return time.ParseDuration(v)
}

func positiveInt(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n <= 0 {
		return errors.New("want a positive whole number")
	}
	return nil
}

func positiveDuration(v string) error {
	if d, err := time.ParseDuration(v); err != nil || d <= 0 {
		return errors.New("want a positive Go duration such as 24h")
	}
	return nil
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		for _, ok := range values {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("want one of %q", values)
	}
}

// property checks a value by the rule of the resource property name (spec.Parse), so an account-wide default is
// refused exactly as the property would be.
func property(name string) func(string) error {
	return func(v string) error {
		props := map[string]any{"TrailName": "account-policy", name: v}
		if name == "AlarmTopicArn" { // applies only with a pack; checked alone here, together at start
			props["MonitoringPack"] = "cis"
		}
		_, err := spec.Parse(props)
		return err
	}
}

// accountRemediation is the Remediation rule, without off: account-wide mode that adopts every trail only to
// leave it alone is refused; turn the mode off instead.
func accountRemediation(v string) error {
	if err := property("Remediation")(v); err != nil {
		return err
	}
	if spec.Mode(strings.ToLower(v)) == spec.Off {
		return errors.New("want enforce or report in account-wide mode (off would adopt every trail only to leave it alone; turn account-wide mode off instead)")
	}
	return nil
}
