package stacks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailguard/trailguard/infra/trailguard"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/spec"
)

// Context keys (cdk.json "context", or `cdk synth -c key=value`). Each one is documented in infra/README.md.
const (
	CtxProviderStackName  = "trailguard:providerStackName"  // default "trailguard"
	CtxExampleStackName   = "trailguard:exampleStackName"   // default "trailguard-example"; "" leaves the example out
	CtxSweepMinutes       = "trailguard:sweepMinutes"       // default 15
	CtxNotificationEmail  = "trailguard:notificationEmail"  // default none
	CtxExampleTrailName   = "trailguard:exampleTrailName"   // default "trailguard-example"
	CtxServiceTokenExport = "trailguard:serviceTokenExport" // default "trailguard-ServiceToken"
	CtxLogLevel           = "trailguard:logLevel"           // default "info"
	CtxAssetDir           = "trailguard:assetDir"           // default "dist"
	CtxAllowedStacks      = "trailguard:allowedStacks"      // default none; see spec.ParseAllowedStacks
	CtxAccountWide        = "trailguard:accountWide"        // default false: guard every trail of the account and region
	// CtxCustomerManagedKey, true, encrypts the notification topic and the failure queue with a customer managed
	// KMS key ($1 a month per account and region); default false: the queue with SQS-managed keys, the topic
	// without server-side encryption (docs/security.md, "Cost cuts").
	CtxCustomerManagedKey = "trailguard:customerManagedKey"
	// The account policy's defaults for adopted trails (standalone stack only); empty: the provider's defaults.
	CtxAccountRetentionInDays = "trailguard:accountWide:retentionInDays"
	CtxAccountKmsKeyID        = "trailguard:accountWide:kmsKeyId"
	CtxAccountRemediation     = "trailguard:accountWide:remediation"
	// CtxAccountDeletionProtection, "true" (default) or "false": deletion protection on adopted trails' log groups.
	CtxAccountDeletionProtection = "trailguard:accountWide:deletionProtection"
	// The account policy's CIS monitoring pack ("cis" or "cis-v5"; default none) and its alarms' topic (default:
	// the notification topic).
	CtxAccountMonitoringPack = "trailguard:accountWide:monitoringPack"
	CtxAccountAlarmTopicArn  = "trailguard:accountWide:alarmTopicArn"
)

// Config is what the app reads from CDK context.
type Config struct {
	ProviderStackName  string
	ExampleStackName   string
	SweepInterval      time.Duration
	NotificationEmail  string
	ExampleTrailName   string
	ServiceTokenExport string
	LogLevel           string
	AssetDir           string
	AllowedStacks      []string
	// AccountWide and the Account* defaults are account-wide mode (see ProviderStackProps).
	AccountWide bool
	// CustomerManagedKey: see CtxCustomerManagedKey and ProviderStackProps.CustomerManagedKey.
	CustomerManagedKey                                          bool
	AccountRetentionInDays, AccountKmsKeyID, AccountRemediation string
	AccountDeletionProtection                                   string
	AccountMonitoringPack, AccountAlarmTopicArn                 string
	// OrganizationID (o-...), when set, is the organization of the deploying account: the standalone stack's
	// delivery boundary then also admits an organization trail's streams, o-ORGID_*; without it, only the
	// account's own (ACCOUNT_CloudTrail_*). Never a wildcard: a role capped at o-*_* could write the streams
	// named after any organization.
	OrganizationID string
	// ManagementAccountID, when set, deploys the standalone stack in CloudTrail's delegated administrator account
	// (CtxOrgManagementAccountID).
	ManagementAccountID string
	// Org, when the organization context is set, adds the organization deployment (BuildOrg).
	Org *OrgSettings
	// Settings are the function settings given in context (a row of lambdaenv.Table with a Context key), by
	// environment variable, each checked by its row's rule; nil when none is given. The stack writes them.
	Settings map[string]string
}

// ConfigFromContext reads the app's settings, applying the defaults, and fails on a value it cannot use.
func ConfigFromContext(app awscdk.App) (Config, error) {
	str := func(key, def string) string {
		v := app.Node().TryGetContext(jsii.String(key))
		if v == nil {
			return def
		}
		return fmt.Sprint(v)
	}
	c := Config{}
	for _, row := range lambdaenv.Table {
		if row.Context == "" {
			continue
		}
		v, ok := contextString(app, row.Context)
		if !ok {
			continue
		}
		if err := row.Validate(v); err != nil {
			return Config{}, fmt.Errorf("context %s: %w", row.Context, err)
		}
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		c.Settings[row.Env] = v
	}
	c = Config{Settings: c.Settings,
		ProviderStackName:  str(CtxProviderStackName, "trailguard"),
		ExampleStackName:   str(CtxExampleStackName, "trailguard-example"),
		NotificationEmail:  str(CtxNotificationEmail, ""),
		ExampleTrailName:   str(CtxExampleTrailName, DefaultExampleTrailName),
		ServiceTokenExport: str(CtxServiceTokenExport, trailguard.DefaultServiceTokenExport),
		LogLevel:           str(CtxLogLevel, "info"),
		AssetDir:           str(CtxAssetDir, "dist"),
	}
	minutes, err := strconv.Atoi(str(CtxSweepMinutes, "15"))
	if err != nil || minutes < 1 {
		return Config{}, fmt.Errorf("context %s=%q: want a whole number of minutes, at least 1", CtxSweepMinutes, str(CtxSweepMinutes, ""))
	}
	c.SweepInterval = time.Duration(minutes) * time.Minute
	if c.ProviderStackName == "" {
		return Config{}, fmt.Errorf("context %s is empty: name the provider stack", CtxProviderStackName)
	}
	if allowed, ok := contextString(app, CtxAllowedStacks); ok {
		if c.AllowedStacks, err = spec.ParseAllowedStacks(allowed); err != nil {
			return Config{}, fmt.Errorf("context %s: %w", CtxAllowedStacks, err)
		}
	}
	switch aw := str(CtxAccountWide, "false"); aw {
	case "true", "false":
		c.AccountWide = aw == "true"
	default:
		return Config{}, fmt.Errorf("context %s=%q: want true or false", CtxAccountWide, aw)
	}
	switch k := str(CtxCustomerManagedKey, "false"); k {
	case "true", "false":
		c.CustomerManagedKey = k == "true"
	default:
		return Config{}, fmt.Errorf("context %s=%q: want true or false", CtxCustomerManagedKey, k)
	}
	c.AccountRetentionInDays = str(CtxAccountRetentionInDays, "")
	c.AccountKmsKeyID = str(CtxAccountKmsKeyID, "")
	c.AccountRemediation = str(CtxAccountRemediation, "")
	c.AccountDeletionProtection = str(CtxAccountDeletionProtection, "")
	c.AccountMonitoringPack = str(CtxAccountMonitoringPack, "")
	c.AccountAlarmTopicArn = str(CtxAccountAlarmTopicArn, "")
	// Each is checked alone by its row above; an alarm topic applies only with a pack, the property's rule.
	if c.AccountAlarmTopicArn != "" {
		if _, err := spec.Parse(map[string]any{"TrailName": "account-policy", "MonitoringPack": c.AccountMonitoringPack,
			"AlarmTopicArn": c.AccountAlarmTopicArn}); err != nil {
			return Config{}, fmt.Errorf("context %s, %s: %w", CtxAccountMonitoringPack, CtxAccountAlarmTopicArn, err)
		}
	}
	if c.OrganizationID, err = organizationIDFromContext(app); err != nil {
		return Config{}, err
	}
	if c.ManagementAccountID, err = managementAccountFromContext(app, c.OrganizationID); err != nil {
		return Config{}, err
	}
	if c.Org, err = orgFromContext(app, c.OrganizationID); err != nil {
		return Config{}, err
	}
	return c, nil
}

// FunctionSetting is the value the app deploys for the function setting env (a row of lambdaenv.Table): the
// field it is read into, else its context value, else the row's default. The StackSet passes a member parameter
// by it.
func (c Config) FunctionSetting(env string) string {
	switch env {
	case lambdaenv.AllowedStacks:
		return strings.Join(c.AllowedStacks, ",")
	case lambdaenv.LogLevel:
		return c.LogLevel
	case lambdaenv.AccountWide:
		return strconv.FormatBool(c.AccountWide)
	case lambdaenv.BoundaryOrganizationID:
		return c.OrganizationID
	case lambdaenv.ManagementAccountID:
		return c.ManagementAccountID
	}
	if v := c.Settings[env]; v != "" {
		return v
	}
	row, _ := lambdaenv.Lookup(env)
	return row.Default
}

// contextString reads a context value as a setting's text: a JSON list in cdk.json is joined with commas.
func contextString(app awscdk.App, key string) (string, bool) {
	v := app.Node().TryGetContext(jsii.String(key))
	if v == nil {
		return "", false
	}
	if list, ok := v.([]any); ok {
		items := make([]string, len(list))
		for i, item := range list {
			items[i] = fmt.Sprint(item)
		}
		return strings.Join(items, ","), true
	}
	return fmt.Sprint(v), true
}

// Build adds the provider stack and, unless its name is empty, the example stack to app, and applies the cdk-nag
// AwsSolutions checks to everything in it. Stacks are environment-agnostic: account, region and partition are
// the deployment's pseudo parameters, so `cdk synth` needs no credentials and one template serves every region.
func Build(app awscdk.App, c Config) (*ProviderStack, *ExampleStack, error) {
	ps, err := NewProviderStack(app, c.ProviderStackName, &ProviderStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("trailguard: keeps CloudTrail trails delivering to CloudWatch Logs"),
		},
		AssetDir:            c.AssetDir,
		SweepInterval:       c.SweepInterval,
		NotificationEmail:   c.NotificationEmail,
		ServiceTokenExport:  c.ServiceTokenExport,
		LogLevel:            c.LogLevel,
		AllowedStacks:       c.AllowedStacks,
		AccountWide:         c.AccountWide,
		OrganizationID:      c.OrganizationID,
		ManagementAccountID: c.ManagementAccountID,
		CustomerManagedKey:  c.CustomerManagedKey,
		Settings:            c.Settings,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("provider stack %s: %w", c.ProviderStackName, err)
	}
	var example *ExampleStack
	if c.ExampleStackName != "" {
		example = NewExampleStack(app, c.ExampleStackName, &ExampleStackProps{
			StackProps: awscdk.StackProps{
				Description: jsii.String("trailguard example: a trail wired to CloudWatch Logs by Custom::CloudTrailCloudWatchLogs"),
			},
			TrailName:          c.ExampleTrailName,
			ServiceTokenExport: c.ServiceTokenExport,
		})
		example.Stack.AddDependency(ps.Stack, jsii.String("imports the provider's ServiceToken export"))
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return ps, example, nil
}
