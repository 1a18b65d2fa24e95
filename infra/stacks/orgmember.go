package stacks

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// The member template's parameters: everything a member stack takes from outside itself. The organization stack
// (org.go) passes every one of them from the StackSet; none has a default, so nothing is silently assumed in a
// member account.
const (
	// ParamCentralTopicARN is the organization's central SNS topic (in the deploying account and home region):
	// both functions publish every notification there.
	ParamCentralTopicARN = "CentralTopicArn"
	// ParamCentralTopicKeyARN is the KMS key that encrypts the central topic: a publisher to an encrypted topic
	// needs kms:GenerateDataKey and kms:Decrypt on it.
	ParamCentralTopicKeyARN = "CentralTopicKeyArn"
	// ParamCentralEventBusARN is the organization's central event bus (in the deploying account and home region):
	// the member's rules forward the remediator's decision events and the alarms' state changes there.
	ParamCentralEventBusARN = "CentralEventBusArn"
	// ParamAssetBucketPrefix names the per-region code buckets: the functions' code is read from the bucket
	// PREFIX-REGION of the member's own region (Lambda reads code only from a bucket of the function's region).
	ParamAssetBucketPrefix = "AssetBucketPrefix"
	// ParamProviderCodeKey and ParamRemediatorCodeKey are the object keys of the two function zips in that bucket.
	ParamProviderCodeKey   = "ProviderCodeKey"
	ParamRemediatorCodeKey = "RemediatorCodeKey"
	// ParamAllowedStacks is the allow-list (TRAILGUARD_ALLOWED_STACKS), comma-separated; may be empty.
	ParamAllowedStacks = "AllowedStacks"
	// ParamSweepMinutes is the minutes between sweeps.
	ParamSweepMinutes = "SweepMinutes"
	// ParamLogLevel is the functions' TRAILGUARD_LOG_LEVEL.
	ParamLogLevel = "LogLevel"
	// ParamAccountWide, "true" or "false", is account-wide mode (TRAILGUARD_ACCOUNT_WIDE): the remediator guards
	// every trail of the member's account and region, with the provider's defaults.
	ParamAccountWide = "AccountWide"
	// ParamOrganizationID is the organization (o-...): the delivery boundary admits an organization trail's log
	// streams o-ORGID_* of this organization only.
	ParamOrganizationID = "OrganizationId"
)

// MemberParameters lists the member template's parameter names in the order the StackSet passes them.
var MemberParameters = []string{ParamCentralTopicARN, ParamCentralTopicKeyARN, ParamCentralEventBusARN, ParamAssetBucketPrefix,
	ParamProviderCodeKey, ParamRemediatorCodeKey, ParamAllowedStacks, ParamSweepMinutes, ParamLogLevel, ParamAccountWide, ParamOrganizationID}

// AllowedStacksPattern is the parameter-level guard of the allow-list: comma-separated stack names (a letter, then
// letters, digits or hyphens, at most 128 characters) each with an optional trailing *, or nothing. It restates
// spec.ParseAllowedStacks' rule (orgmember_test.go checks that both agree) so that a StackSet parameter
// override with a bad list fails in CloudFormation, before any function starts with it.
const AllowedStacksPattern = `^([A-Za-z][A-Za-z0-9-]{0,127}\*?(,[A-Za-z][A-Za-z0-9-]{0,127}\*?)*)?$`

// MaxSweepMinutes bounds the sweep interval: a day, the longest a tampering may stay unnoticed when events are lost.
const MaxSweepMinutes = 24 * 60

// settings are what the member template's parameters give the rules and grants: the sweep's schedule and the
// condition that grants what adoption calls.
type settings struct {
	schedule      awsevents.Schedule
	accountWideOn awscdk.CfnCondition
}

// memberStackProps makes the member stack self-contained: a synthesizer that refuses assets (so no Lambda code or
// template can come from a CDK bootstrap bucket, which member accounts do not have) and adds no bootstrap-version
// parameter or rule, and no CDKMetadata resource.
func memberStackProps(sp *awscdk.StackProps) {
	if sp.Synthesizer == nil {
		sp.Synthesizer = awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{})
	}
	sp.AnalyticsReporting = jsii.Bool(false)
}

// memberParameters declares the member template's parameters and returns the settings they carry.
func (s *ProviderStack) memberParameters() settings {
	param := func(name, typ, desc string, extra func(*awscdk.CfnParameterProps)) awscdk.CfnParameter {
		p := &awscdk.CfnParameterProps{Type: jsii.String(typ), Description: jsii.String(desc)}
		if extra != nil {
			extra(p)
		}
		return awscdk.NewCfnParameter(s.Stack, jsii.String(name), p)
	}
	pattern := func(re, rule string) func(*awscdk.CfnParameterProps) {
		return func(p *awscdk.CfnParameterProps) {
			p.AllowedPattern = jsii.String(re)
			p.ConstraintDescription = jsii.String(rule)
		}
	}
	s.Params = map[string]awscdk.CfnParameter{
		ParamCentralTopicARN: param(ParamCentralTopicARN, "String",
			"ARN of the organization's central SNS topic, where both functions publish every notification",
			pattern(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`, "must be an SNS topic ARN")),
		ParamCentralTopicKeyARN: param(ParamCentralTopicKeyARN, "String",
			"ARN of the KMS key that encrypts the central topic",
			pattern(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$`, "must be a KMS key ARN")),
		ParamCentralEventBusARN: param(ParamCentralEventBusARN, "String",
			"ARN of the organization's central event bus, where the decision events and alarm state changes are forwarded",
			pattern(`^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]{1,256}$`, "must be an event bus ARN")),
		ParamAssetBucketPrefix: param(ParamAssetBucketPrefix, "String",
			"Code buckets are named PREFIX-REGION, one per region, readable by the organization",
			pattern(`^[a-z0-9][a-z0-9.-]{1,46}$`, "lower-case letters, digits, dots and hyphens, at most 47 characters")),
		ParamProviderCodeKey: param(ParamProviderCodeKey, "String", "Object key of provider.zip in the code bucket",
			pattern(`^[A-Za-z0-9/._-]{1,512}\.zip$`, "must be the object key of a .zip")),
		ParamRemediatorCodeKey: param(ParamRemediatorCodeKey, "String", "Object key of remediator.zip in the code bucket",
			pattern(`^[A-Za-z0-9/._-]{1,512}\.zip$`, "must be the object key of a .zip")),
		ParamAllowedStacks: param(ParamAllowedStacks, "String",
			"Stacks (comma-separated, a trailing * matches a prefix) that may manage a trail whose tags do not name them; may be empty",
			pattern(AllowedStacksPattern, "comma-separated stack names, each with an optional trailing *; a bare * is refused")),
		ParamSweepMinutes: param(ParamSweepMinutes, "Number", "Minutes between sweeps of every registered trail",
			func(p *awscdk.CfnParameterProps) {
				p.MinValue = jsii.Number(1)
				p.MaxValue = jsii.Number(MaxSweepMinutes)
			}),
		ParamLogLevel: param(ParamLogLevel, "String", "The functions' log level",
			func(p *awscdk.CfnParameterProps) { p.AllowedValues = jsii.Strings("debug", "info", "warn", "error") }),
		ParamAccountWide: param(ParamAccountWide, "String",
			"true: the remediator guards every trail of the account and region, adopting those no stack declares",
			func(p *awscdk.CfnParameterProps) { p.AllowedValues = jsii.Strings("true", "false") }),
		ParamOrganizationID: param(ParamOrganizationID, "String",
			"The organization (o-...): the delivery boundary admits an organization trail's log streams o-ORGID_* of this organization only",
			pattern(orgIDRule.String(), "must be an organization id, o- and 10 to 32 lower-case letters or digits")),
	}
	accountWide := s.Params[ParamAccountWide].ValueAsString()
	accountWideOn := awscdk.NewCfnCondition(s.Stack, jsii.String("AccountWideOn"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(accountWide, jsii.String("true")),
	})

	// EventBridge wants "rate(1 minute)" but "rate(N minutes)" for N > 1.
	minutes := s.Params[ParamSweepMinutes].ValueAsString()
	everyMinute := awscdk.NewCfnCondition(s.Stack, jsii.String("SweepEveryMinute"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(minutes, jsii.String("1")),
	})
	schedule := awscdk.Fn_ConditionIf(everyMinute.LogicalId(), jsii.String("rate(1 minute)"),
		awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("rate("), minutes, jsii.String(" minutes)")}))
	return settings{
		schedule:      awsevents.Schedule_Expression(awscdk.Token_AsString(schedule, nil)),
		accountWideOn: accountWideOn,
	}
}

// memberCode is a function's code in a member stack: the object the parameters name, in the code bucket of the
// stack's own region.
func (s *ProviderStack) memberCode(fn string) awslambda.Code {
	key := map[string]string{"provider": ParamProviderCodeKey, "remediator": ParamRemediatorCodeKey}[fn]
	bucket := awss3.Bucket_FromBucketName(s.Stack, jsii.String(fmt.Sprintf("%sCodeBucket", fn)),
		AssetBucketName(s.Params[ParamAssetBucketPrefix].ValueAsString(), awscdk.Aws_REGION()))
	return awslambda.Code_FromBucket(bucket, s.Params[key].ValueAsString(), nil)
}

// AssetBucketName is the one rule naming the organization's code bucket of a region: PREFIX-REGION. The asset
// stacks create the buckets by it and member stacks read from them by it.
func AssetBucketName(prefix, region *string) *string {
	return awscdk.Fn_Join(jsii.String("-"), &[]*string{prefix, region})
}

// sweepMinutes renders a sweep interval as the SweepMinutes parameter value.
func sweepMinutes(d time.Duration) string { return fmt.Sprint(int(d / time.Minute)) }

// newMemberStack is the member template of the organization StackSet (org.go): the function code, the central
// topic, the sweep interval and the settings a member takes from the StackSet are parameters; it references no
// CDK bootstrap resource; the remediator puts its decisions on the account's default bus, forwarded to the
// central bus with the alarms' state changes; adoption is granted under the AccountWideOn condition.
func newMemberStack(scope constructs.Construct, id string, p ProviderStackProps) *ProviderStack {
	memberStackProps(&p.StackProps)
	s := &ProviderStack{Stack: awscdk.NewStack(scope, jsii.String(id), &p.StackProps)}
	settings := s.memberParameters()
	// The remediator's decisions go to the default bus, forwarded to the central bus (orgcentral.go); the other
	// settings a member takes from the StackSet.
	values := map[string]string{lambdaenv.DecisionEvents: "true"}
	for _, row := range lambdaenv.Table {
		if row.Param != "" {
			values[row.Env] = *s.Params[row.Param].ValueAsString()
		}
	}
	remediatorRole, alarms := s.core(p, shape{
		code:           s.memberCode,
		values:         values,
		orgID:          s.Params[ParamOrganizationID].ValueAsString(),
		schedule:       settings.schedule,
		notifyTopicARN: s.Params[ParamCentralTopicARN].ValueAsString(),
		notifyKeyARN:   s.Params[ParamCentralTopicKeyARN].ValueAsString(),
	})
	s.grantAdoption(remediatorRole, settings.accountWideOn)
	s.forwardToCentralBus(remediatorRole, alarms)
	return s
}
