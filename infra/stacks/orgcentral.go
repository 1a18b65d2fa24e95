package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailguard/trailguard/internal/notify"
)

// One place to look, for metrics: every member's decision events (the metrics of each decision a person is told
// of, notify.EventSender) and its alarms' state changes reach the deploying account's central event bus, whose
// rule writes them to one log group, whose metric filters count them by account and region.
//
// Why EventBridge and not CloudWatch cross-account observability (OAM): an OAM sink is regional, so every target
// region needs a sink in the deploying account and each member stack instance the ARN of its own region's sink,
// which the StackSet stack (one region) could only learn through cross-region references (custom resources and
// SSM parameters in every region); and moto has no OAM, so none of it could be tried without an account. One bus
// in the home region takes events from every region, its ARN is one parameter, and EventBridge stamps each event
// with the account and region it was put in: no member can speak for another account.

// OrgMetricNamespace is the central account's namespace of the metrics its filters derive from members' events.
const OrgMetricNamespace = "trailguard/organization"

// Event patterns the member's forwarding rules match, and the central metric filters read.
const (
	alarmSource     = "aws.cloudwatch"
	alarmDetailType = "CloudWatch Alarm State Change"
)

// OrgMetrics are the central metric filters: metric name → filter pattern. Each counts 1 per matching event, with
// the dimensions Account and Region from the event's own account and region fields, which EventBridge sets.
var OrgMetrics = map[string]string{
	"DriftDetected": `{ $.source = "` + notify.EventSource + `" && $.detail.DriftDetected = 1 }`,
	"Repaired":      `{ $.source = "` + notify.EventSource + `" && $.detail.Repaired = 1 }`,
	"RepairFailed":  `{ $.source = "` + notify.EventSource + `" && $.detail.RepairFailed = 1 }`,
	"Contested":     `{ $.source = "` + notify.EventSource + `" && $.detail.Contested = 1 }`,
	"AlarmsRaised":  `{ $.source = "` + alarmSource + `" && $.detail.state.value = "ALARM" }`,
}

// orgMetricDimensions name each central metric's account and region: the event's, not the detail's, which the
// member writes.
var orgMetricDimensions = map[string]string{"Account": "$.account", "Region": "$.region"}

// forwardToCentralBus is the member side: the remediator may put its decision events (source trailguard only) on
// the account's default bus, and two rules forward those and the stack's alarms' state changes to the central bus,
// with a role that may put events there and nowhere else.
func (s *ProviderStack) forwardToCentralBus(remediatorRole awsiam.Role, alarmARNs []*string) {
	partition, region, account := *awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID()
	remediatorRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DecisionEvents"),
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(fmt.Sprintf("arn:%s:events:%s:%s:event-bus/default", partition, region, account)),
		Conditions: &map[string]any{"StringEquals": map[string]any{"events:source": notify.EventSource}},
	}))
	central := awsevents.EventBus_FromEventBusArn(s.Stack, jsii.String("CentralBus"),
		s.Params[ParamCentralEventBusARN].ValueAsString())
	role := awsiam.NewRole(s.Stack, jsii.String("CentralEventsRole"), &awsiam.RoleProps{
		Description: jsii.String("trailguard: EventBridge forwards the remediator's decision events and the alarms' " +
			"state changes to the organization's central event bus"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil).WithConditions(
			&map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}}),
	})
	target := awseventstargets.NewEventBus(central, &awseventstargets.EventBusProps{Role: role})
	awsevents.NewRule(s.Stack, jsii.String("ForwardDecisions"), &awsevents.RuleProps{
		Description: jsii.String("trailguard: the remediator's decision events, to the organization's central bus"),
		EventPattern: &awsevents.EventPattern{
			Source: jsii.Strings(notify.EventSource), DetailType: jsii.Strings(notify.EventDetailType),
		},
		Targets: &[]awsevents.IRuleTarget{target},
	})
	awsevents.NewRule(s.Stack, jsii.String("ForwardAlarms"), &awsevents.RuleProps{
		Description: jsii.String("trailguard: this stack's alarms' state changes, to the organization's central bus"),
		EventPattern: &awsevents.EventPattern{
			Source: jsii.Strings(alarmSource), DetailType: jsii.Strings(alarmDetailType), Resources: &alarmARNs,
		},
		Targets: &[]awsevents.IRuleTarget{target},
	})
}

// centralBus is the deploying account's side: the bus only principals of the organization may put events on, the
// log group its rule writes every event to (kept a year, like the functions' logs), and the metric filters.
func (org *Org) centralBus(o *OrgSettings) {
	stack := org.Stack
	org.Bus = awsevents.NewEventBus(stack, jsii.String("CentralEvents"), &awsevents.EventBusProps{
		EventBusName: jsii.String(o.StackName),
		Description:  jsii.String("trailguard organization: every member's decision events and alarm state changes"),
	})
	org.Bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrganizationPutsEvents"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  &[]*string{org.Bus.EventBusArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": o.OrganizationID}},
	}))
	org.Events = awslogs.NewLogGroup(stack, jsii.String("CentralEventsLog"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/trailguard/organization/" + o.StackName),
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	logGroupARN := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("logs"), Resource: jsii.String("log-group"),
		ResourceName: org.Events.LogGroupName(), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
	rule := awsevents.NewCfnRule(stack, jsii.String("CentralEventsToLog"), &awsevents.CfnRuleProps{
		Description:  jsii.String("trailguard organization: every member event on the central bus, to the central log group"),
		EventBusName: org.Bus.EventBusName(),
		EventPattern: map[string]any{"source": []string{notify.EventSource, alarmSource}},
		Targets:      []any{&awsevents.CfnRule_TargetProperty{Id: jsii.String("CentralLog"), Arn: logGroupARN}},
	})
	// EventBridge writes to a log group under the group's resource policy (not a role); this one admits only the
	// rule above.
	policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("CentralRuleWrites"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
				awsiam.NewServicePrincipal(jsii.String("delivery.logs.amazonaws.com"), nil)},
			Actions:    jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources:  &[]*string{org.Events.LogGroupArn()},
			Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule.AttrArn()}},
		}),
	}})
	awslogs.NewCfnResourcePolicy(stack, jsii.String("CentralEventsLogPolicy"), &awslogs.CfnResourcePolicyProps{
		PolicyName:     jsii.String(o.StackName + "-central-events"),
		PolicyDocument: stack.ToJsonString(policy.ToJSON(), nil),
	})
	dims := map[string]*string{}
	for k, v := range orgMetricDimensions {
		dims[k] = jsii.String(v)
	}
	for name, pattern := range OrgMetrics {
		awslogs.NewMetricFilter(stack, jsii.String(name+"Filter"), &awslogs.MetricFilterProps{
			LogGroup:        org.Events,
			FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(pattern)),
			MetricNamespace: jsii.String(OrgMetricNamespace),
			MetricName:      jsii.String(name),
			MetricValue:     jsii.String("1"),
			Dimensions:      &dims,
			Unit:            awscloudwatch.Unit_COUNT,
		})
	}
}
