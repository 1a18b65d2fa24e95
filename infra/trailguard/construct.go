// Package trailguard is the CDK construct that consumer stacks use to declare a Custom::CloudTrailCloudWatchLogs
// resource: it wires one CloudTrail trail to CloudWatch Logs through the trailguard provider deployed by the
// provider stack, and exposes what the provider returns as typed attributes.
//
// A consumer app needs only this package, not the provider stack:
//
//	d := trailguard.NewTrailCloudWatchLogs(stack, jsii.String("Delivery"), &trailguard.TrailCloudWatchLogsProps{
//		TrailName: "management-trail",
//	})
//	awscdk.NewCfnOutput(stack, jsii.String("LogGroup"), &awscdk.CfnOutputProps{Value: d.LogGroupName()})
package trailguard

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailguard/trailguard/internal/spec"
)

// ResourceType is the CloudFormation type of the custom resource the provider implements.
const ResourceType = "Custom::CloudTrailCloudWatchLogs"

// DefaultServiceTokenExport is the export name under which the provider stack publishes its ServiceToken, and
// which the construct imports when no ServiceToken is given.
const DefaultServiceTokenExport = "trailguard-ServiceToken"

// DefaultServiceTimeout bounds how long CloudFormation waits for the provider's answer. It must exceed the
// provider function's timeout (5 minutes), so that the function's own FAILED-before-deadline answer arrives first.
const DefaultServiceTimeout = 600 * time.Second

// Remediation says what the remediator does when the wiring drifts.
type Remediation string

// The Remediation modes of the spec.
const (
	RemediationEnforce Remediation = "enforce" // repair drift (the provider's default)
	RemediationReport  Remediation = "report"  // notify only
	RemediationOff     Remediation = "off"     // not registered with the remediator
)

// TrailCloudWatchLogsProps mirrors the properties of Custom::CloudTrailCloudWatchLogs. Zero values are left out of
// the template, so the provider applies its documented defaults. String fields may hold CDK tokens (a Ref, a GetAtt).
type TrailCloudWatchLogsProps struct {
	// TrailName is the trail's name or ARN. Required.
	TrailName string
	// LogGroupName is the log group to create or reuse; exclusive with LogGroupArn.
	LogGroupName string
	// LogGroupArn is an existing log group in the trail's account and home region; exclusive with LogGroupName.
	LogGroupArn string
	// RetentionInDays is a CloudWatch Logs retention value; 0 leaves the provider's default (365 for a group it creates).
	RetentionInDays int
	// KmsKeyId is the KMS key ARN for a log group the provider creates. It must be a key of the trail's own account
	// and home region unless AllowCrossAccountKey is set.
	//lint:ignore ST1003 the property's CloudFormation spelling, as LogGroupArn beside it: renaming the construct's API would break its users.
	KmsKeyId string
	// AllowCrossAccountKey lets KmsKeyId name a key of another account (still in the trail's home region, where the
	// log group lives). Off by default: a foreign key hands the ability to make the logs unreadable to its owner.
	AllowCrossAccountKey bool
	// RepairPosture makes the remediator also put back the trail's archive as registered (its S3 bucket and prefix,
	// its KMS key, log file validation) when it changes. Off by default: such a change is reported for a person.
	RepairPosture bool
	// RoleName is an existing delivery role to use instead of the provider stack's DeliveryRole; exclusive with
	// RoleArn. trailguard creates no role: the role must trust only cloudtrail.amazonaws.com and carry the
	// provider stack's DeliveryBoundary (output DeliveryBoundaryArn) as its permissions boundary.
	RoleName string
	// RoleArn is the same as RoleName, by ARN; exclusive with RoleName.
	RoleArn string
	// ReplaceExistingDelivery lets the provider rewire a trail that already delivers to another log group. Off by
	// default, so that a stack cannot silently redirect someone else's delivery; when set, the trail's previous
	// log group and role are recorded and restored on Delete.
	ReplaceExistingDelivery bool
	// Remediation is enforce, report or off; empty leaves the provider's default (enforce).
	Remediation Remediation
	// EnforceLogging, with enforce, also restarts a trail whose logging was stopped; nil leaves the default (true).
	EnforceLogging *bool
	// DeleteLogGroupOnDelete deletes the log group on Delete, only if this very resource created it and no other
	// registration uses it; otherwise the provider keeps it and says so.
	DeleteLogGroupOnDelete bool
	// DeletionProtection keeps CloudWatch Logs deletion protection on the log group; nil leaves the default (true).
	DeletionProtection *bool
	// MonitoringPack keeps the CIS monitoring pack on the log group: "cis" (Security Hub's CloudWatch.1-14 and
	// CIS 4.15) or "cis-v5" (also the CIS v5 variants); empty or "none" keeps none (docs/cis.md).
	MonitoringPack string
	// AlarmTopicArn is the SNS topic (of the trail's account and home region, with a subscriber) the pack's alarms
	// notify; empty uses the provider stack's notification topic.
	AlarmTopicArn string
	// ServiceToken is the provider function's ARN; empty imports DefaultServiceTokenExport (or ServiceTokenExport).
	ServiceToken string
	// ServiceTokenExport names the export to import when ServiceToken is empty; empty means DefaultServiceTokenExport.
	ServiceTokenExport string
	// ServiceTimeout is how long CloudFormation waits for the provider, 1 s to 1 h; zero means DefaultServiceTimeout.
	ServiceTimeout time.Duration
}

// Validate reports every property the provider would reject, so that a mistake fails `cdk synth` instead of a
// deployment an hour later. Values that are CDK tokens are resolved only at deploy time and are not checked.
func (p *TrailCloudWatchLogsProps) Validate() error {
	return p.validate(nil)
}

// validate checks the properties with the provider's own parser, spec.Parse, so that the construct and the
// provider cannot disagree. placeholders replace the properties whose value is a token, unknown until deploy.
func (p *TrailCloudWatchLogsProps) validate(placeholders map[string]string) error {
	props := *p.properties()
	for k, v := range placeholders {
		if _, ok := props[k]; ok {
			props[k] = v
		}
	}
	_, err := spec.Parse(props)
	if p.ServiceTimeout != 0 && (p.ServiceTimeout < time.Second || p.ServiceTimeout > time.Hour || p.ServiceTimeout%time.Second != 0) {
		err = errors.Join(err, fmt.Errorf("ServiceTimeout %s: want whole seconds from 1s to 1h", p.ServiceTimeout))
	}
	return err
}

// TrailCloudWatchLogs is one Custom::CloudTrailCloudWatchLogs resource.
type TrailCloudWatchLogs struct {
	construct constructs.Construct
	resource  awscdk.CustomResource
}

// Construct is the scope holding the resource, for Node().AddDependency and the like. (It is a field, not
// embedded, because jsii cannot pass a Go struct that embeds a construct back to the CDK.)
func (t *TrailCloudWatchLogs) Construct() constructs.Construct { return t.construct }

// NewTrailCloudWatchLogs declares the custom resource. Invalid props do not panic here: they are reported by
// `cdk synth` (a node validation), with this construct's path, like every other CDK validation error.
func NewTrailCloudWatchLogs(scope constructs.Construct, id *string, props *TrailCloudWatchLogsProps) *TrailCloudWatchLogs {
	if props == nil {
		props = &TrailCloudWatchLogsProps{}
	}
	t := &TrailCloudWatchLogs{construct: constructs.NewConstruct(scope, id)}
	p := *props
	t.construct.Node().AddValidation(&validation{&p})

	token := p.ServiceToken
	if token == "" {
		export := p.ServiceTokenExport
		if export == "" {
			export = DefaultServiceTokenExport
		}
		token = *awscdk.Fn_ImportValue(jsii.String(export))
	}
	timeout := p.ServiceTimeout
	if timeout < time.Second || timeout > time.Hour {
		timeout = DefaultServiceTimeout // zero; or invalid, which the validation reports at synth
	}
	t.resource = awscdk.NewCustomResource(t.construct, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken:   jsii.String(token),
		ResourceType:   jsii.String(ResourceType),
		ServiceTimeout: awscdk.Duration_Seconds(jsii.Number(float64(timeout / time.Second))),
		Properties:     p.properties(),
	})
	return t
}

// properties renders the props the way CloudFormation passes them to the provider: every value a string.
func (p *TrailCloudWatchLogsProps) properties() *map[string]any {
	m := map[string]any{"TrailName": p.TrailName}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("LogGroupName", p.LogGroupName)
	put("LogGroupArn", p.LogGroupArn)
	if p.RetentionInDays != 0 {
		m["RetentionInDays"] = strconv.Itoa(p.RetentionInDays)
	}
	put("KmsKeyId", p.KmsKeyId)
	put("RoleName", p.RoleName)
	put("RoleArn", p.RoleArn)
	put("Remediation", string(p.Remediation))
	if p.EnforceLogging != nil {
		m["EnforceLogging"] = strconv.FormatBool(*p.EnforceLogging)
	}
	if p.DeleteLogGroupOnDelete {
		m["DeleteLogGroupOnDelete"] = "true"
	}
	if p.DeletionProtection != nil {
		m["DeletionProtection"] = strconv.FormatBool(*p.DeletionProtection)
	}
	if p.ReplaceExistingDelivery {
		m["ReplaceExistingDelivery"] = "true"
	}
	if p.AllowCrossAccountKey {
		m["AllowCrossAccountKey"] = "true"
	}
	if p.RepairPosture {
		m["RepairPosture"] = "true"
	}
	put("MonitoringPack", p.MonitoringPack)
	put("AlarmTopicArn", p.AlarmTopicArn)
	return &m
}

// Resource is the underlying CustomResource, for dependencies and removal policies.
func (t *TrailCloudWatchLogs) Resource() awscdk.CustomResource { return t.resource }

// TrailArn is the wired trail's ARN (also the resource's physical id).
func (t *TrailCloudWatchLogs) TrailArn() *string {
	return t.resource.GetAttString(jsii.String("TrailArn"))
}

// HomeRegion is the trail's home region, where its log group lives.
func (t *TrailCloudWatchLogs) HomeRegion() *string {
	return t.resource.GetAttString(jsii.String("HomeRegion"))
}

// LogGroupName is the name of the log group the trail delivers to.
func (t *TrailCloudWatchLogs) LogGroupName() *string {
	return t.resource.GetAttString(jsii.String("LogGroupName"))
}

// LogGroupArn is the ARN of the log group the trail delivers to.
func (t *TrailCloudWatchLogs) LogGroupArn() *string {
	return t.resource.GetAttString(jsii.String("LogGroupArn"))
}

// RoleName is the name of the role CloudTrail assumes to deliver.
func (t *TrailCloudWatchLogs) RoleName() *string {
	return t.resource.GetAttString(jsii.String("RoleName"))
}

// RoleArn is the ARN of the role CloudTrail assumes to deliver.
func (t *TrailCloudWatchLogs) RoleArn() *string {
	return t.resource.GetAttString(jsii.String("RoleArn"))
}

// PolicyName is the name of the trail's inline policy on that role.
func (t *TrailCloudWatchLogs) PolicyName() *string {
	return t.resource.GetAttString(jsii.String("PolicyName"))
}

// validation adapts Validate to the CDK's IValidation, skipping values that are tokens.
type validation struct{ p *TrailCloudWatchLogsProps }

func (v *validation) Validate() *[]*string {
	placeholders := map[string]string{}
	for k, val := range *v.p.properties() {
		if str, ok := val.(string); ok && *awscdk.Token_IsUnresolved(jsii.String(str)) {
			placeholders[k] = tokenPlaceholders[k]
		}
	}
	err := v.p.validate(placeholders)
	if err == nil {
		return &[]*string{}
	}
	return &[]*string{jsii.String(fmt.Sprintf("%s: %v", ResourceType, err))}
}

// tokenPlaceholders stand for a property whose value is a token: each passes the property's own rule, so that only
// the known properties are judged at synth; the provider checks the resolved values at deploy.
var tokenPlaceholders = map[string]string{
	"TrailName":    "token-trail",
	"LogGroupName": "token",
	"LogGroupArn":  "arn:aws:logs:us-east-1:123456789012:log-group:token",
	"KmsKeyId":     "arn:aws:kms:us-east-1:123456789012:key/token",
	"RoleName":     "token",
	"RoleArn":      "arn:aws:iam::123456789012:role/token",
	"Remediation":  string(RemediationEnforce),
}
