package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

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

// forwardedEvents are the events a member forwards to the central bus, as source and detail-type: the member's
// two rules match them, and the central bus admits and logs only them.
var forwardedEvents = []struct{ source, detailType string }{
	{notify.EventSource, notify.EventDetailType},
	{alarmSource, alarmDetailType},
}

// CentralEventsRolePath is the IAM path of every member's forwarding role: the central bus admits only principals
// under it (arn:PARTITION:iam::ACCOUNT:role/trailguard/NAME), not any principal of the organization.
const CentralEventsRolePath = "/trailguard/"

// forwardRuleName names a member's forwarding rule (kind: decisions or alarms) before it exists, so that the
// forwarding role's trust can name the rule's ARN without a reference to the rule, which targets the role (a
// cycle). It is trailguard-UUID-kind, UUID being the stack id's last part: unique per stack instance, and at most
// 57 characters (a rule name has at most 64; a StackSet instance's stack name alone may have more).
func forwardRuleName(kind string) *string {
	uuid := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil))
	return awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String("trailguard"), uuid, jsii.String(kind)})
}

// forwardToCentralBus is the member side: the remediator may put its decision events (source trailguard only) on
// the account's default bus, and two rules forward those and the stack's alarms' state changes to the central bus,
// with a role that may put events there and nowhere else, and that only these two rules may use.
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
	decisionsRule, alarmsRule := forwardRuleName("decisions"), forwardRuleName("alarms")
	var ruleARNs []*string
	for _, name := range []*string{decisionsRule, alarmsRule} {
		ruleARNs = append(ruleARNs, s.Stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"),
			Resource: jsii.String("rule"), ResourceName: name}))
	}
	// aws:SourceArn names the two rules: a principal of the account allowed iam:PassRole could otherwise give the
	// role to a rule of its own and put anything on the central bus as this role.
	role := awsiam.NewRole(s.Stack, jsii.String("CentralEventsRole"), &awsiam.RoleProps{
		Path: jsii.String(CentralEventsRolePath),
		Description: jsii.String("trailguard: EventBridge forwards the remediator's decision events and the alarms' " +
			"state changes to the organization's central event bus"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil).WithConditions(&map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": account},
			"ArnEquals":    map[string]any{"aws:SourceArn": ruleARNs},
		}),
	})
	target := awseventstargets.NewEventBus(central, &awseventstargets.EventBusProps{Role: role})
	awsevents.NewRule(s.Stack, jsii.String("ForwardDecisions"), &awsevents.RuleProps{
		RuleName:    decisionsRule,
		Description: jsii.String("trailguard: the remediator's decision events, to the organization's central bus"),
		EventPattern: &awsevents.EventPattern{
			Source: jsii.Strings(notify.EventSource), DetailType: jsii.Strings(notify.EventDetailType),
		},
		Targets: &[]awsevents.IRuleTarget{target},
	})
	awsevents.NewRule(s.Stack, jsii.String("ForwardAlarms"), &awsevents.RuleProps{
		RuleName:    alarmsRule,
		Description: jsii.String("trailguard: this stack's alarms' state changes, to the organization's central bus"),
		EventPattern: &awsevents.EventPattern{
			Source: jsii.Strings(alarmSource), DetailType: jsii.Strings(alarmDetailType), Resources: &alarmARNs,
		},
		Targets: &[]awsevents.IRuleTarget{target},
	})
}

// MemberStackNamePrefix is how a StackSet names its stack instances, StackSet-NAME-UUID: a member's alarms are
// named STACK-ID (ProviderStack.alarms), so the central rule knows this product's alarms by this prefix.
func MemberStackNamePrefix(stackSetName string) string { return "StackSet-" + stackSetName + "-" }

// centralBus is the deploying account's side: the bus only the members' forwarding roles may put events on, the
// log group its rule writes every forwarded event to (kept a year, like the functions' logs), and the metric filters.
func (org *Org) centralBus(o *OrgSettings) {
	stack := org.Stack
	org.Bus = awsevents.NewEventBus(stack, jsii.String("CentralEvents"), &awsevents.EventBusProps{
		EventBusName: jsii.String(o.StackName),
		Description:  jsii.String("trailguard organization: every member's decision events and alarm state changes"),
	})
	var sources, detailTypes []string
	for _, e := range forwardedEvents {
		sources, detailTypes = append(sources, e.source), append(detailTypes, e.detailType)
	}
	// Not any principal of the organization: only a role under trailguard's path (a member's CentralEventsRole),
	// and only the events members forward, so no one else can inflate the counters or write free text to the log.
	org.Bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("MembersForwardEvents"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  &[]*string{org.Bus.EventBusArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{
				"aws:PrincipalOrgID": o.OrganizationID, "events:source": sources, "events:detail-type": detailTypes,
			},
			"ArnLike": map[string]any{"aws:PrincipalArn": fmt.Sprintf("arn:%s:iam::*:role%s*",
				*awscdk.Aws_PARTITION(), CentralEventsRolePath)},
		},
	}))
	org.Events = awslogs.NewLogGroup(stack, jsii.String("CentralEventsLog"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/trailguard/organization/" + o.StackName),
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	logGroupARN := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("logs"), Resource: jsii.String("log-group"),
		ResourceName: org.Events.LogGroupName(), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
	// Events the log group refuses (throttling, a policy mistake) are retried for a day, then kept two weeks in an
	// encrypted queue rather than lost.
	dlq := awssqs.NewQueue(stack, jsii.String("CentralEventsDeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the central rule's dead-letter queue: it keeps for 14 days the " +
			"member events the central log group refused after a day of retries."),
	}}, nil)
	pattern := []any{}
	for _, e := range forwardedEvents {
		p := map[string]any{"source": []string{e.source}, "detail-type": []string{e.detailType}}
		if e.source == alarmSource {
			p["detail"] = map[string]any{"alarmName": []any{map[string]any{"prefix": MemberStackNamePrefix(o.StackSetName)}}}
		}
		pattern = append(pattern, p)
	}
	rule := awsevents.NewCfnRule(stack, jsii.String("CentralEventsToLog"), &awsevents.CfnRuleProps{
		Description:  jsii.String("trailguard organization: every member event on the central bus, to the central log group"),
		EventBusName: org.Bus.EventBusName(),
		EventPattern: map[string]any{"$or": pattern},
		Targets: []any{&awsevents.CfnRule_TargetProperty{Id: jsii.String("CentralLog"), Arn: logGroupARN,
			RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
				MaximumEventAgeInSeconds: jsii.Number(24 * 60 * 60), MaximumRetryAttempts: jsii.Number(185)},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: dlq.QueueArn()},
		}},
	})
	dlq.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CentralRuleDeadLetters"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{dlq.QueueArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule.AttrArn()}},
	}))
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
