package stacks_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/notify"
)

// Only the members' forwarding roles may put events on the central bus, and only the events they forward: not
// any principal of the organization (which could inflate the counters or write free text to the log). Its one
// statement is conditioned on aws:PrincipalOrgID, on a role under the forwarding role's path, and on the two
// sources and detail-types.
func TestCentralBusTakesEventsFromTheMembersForwardingRolesOnly(t *testing.T) {
	_, ts := orgTemplates(t)
	m := ts["org"]
	busID, bus := m.one(t, "AWS::Events::EventBus", "CentralEvents")
	assert.Equal(t, "trailguard-org", props(bus)["Name"])
	policies := m.resources("AWS::Events::EventBusPolicy")
	require.Len(t, policies, 1, "one bus policy")
	for _, p := range policies {
		pp := props(p)
		assert.Equal(t, ref(busID), pp["EventBusName"])
		assert.Equal(t, map[string]any{
			"Sid": "cdk-MembersForwardEvents", "Effect": "Allow", "Action": "events:PutEvents", // CDK prefixes the Sid
			"Principal": map[string]any{"AWS": "*"},
			"Condition": map[string]any{
				"StringEquals": map[string]any{"aws:PrincipalOrgID": orgID,
					"events:source":      []any{notify.EventSource, "aws.cloudwatch"},
					"events:detail-type": []any{notify.EventDetailType, "CloudWatch Alarm State Change"}},
				"ArnLike": map[string]any{"aws:PrincipalArn": join("arn:", partition, ":iam::*:role/trailguard/*")},
			},
			"Resource": getAtt(busID, "Arn"),
		}, pp["Statement"])
	}
	_, role := ts["member"].one(t, "AWS::IAM::Role", "CentralEventsRole")
	assert.Equal(t, "/trailguard/", props(role)["Path"], "the members' forwarding role is under the path the bus admits")
	assert.Equal(t, getAtt(busID, "Arn"), parameterValues(t, stackSetProps(t, m))[stacks.ParamCentralEventBusARN],
		"the StackSet passes the bus to every member")
}

// The central bus's one rule writes every member event to one log group, which admits that rule only, and each
// metric filter counts by the event's own account and region.
func TestCentralEventsLandInOneLogGroupCountedByAccountAndRegion(t *testing.T) {
	_, ts := orgTemplates(t)
	m := ts["org"]
	busID := mustID(t, m, "AWS::Events::EventBus", "CentralEvents")
	logID, logGroup := m.one(t, "AWS::Logs::LogGroup", "CentralEventsLog")
	assert.Equal(t, "Retain", logGroup["DeletionPolicy"])
	assert.EqualValues(t, 365, props(logGroup)["RetentionInDays"])

	ruleID, rule := m.one(t, "AWS::Events::Rule", "CentralEventsToLog")
	rp := props(rule)
	assert.Equal(t, ref(busID), rp["EventBusName"])
	pattern := rp["EventPattern"].(map[string]any)
	decision := map[string]any{"source": notify.EventSource, "detail-type": notify.EventDetailType,
		"detail": map[string]any{"Repaired": 1.0}}
	alarm := func(name string) map[string]any {
		return map[string]any{"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
			"detail": map[string]any{"alarmName": name, "state": map[string]any{"value": "ALARM"}}}
	}
	assert.True(t, patternMatches(t, pattern, decision), "a decision event is logged")
	assert.True(t, patternMatches(t, pattern, alarm("StackSet-trailguard-0b5c2a8e-FailureQueueAlarm")),
		"a member stack's alarm is logged")
	assert.False(t, patternMatches(t, pattern, alarm("billing-alarm")), "another alarm is not")
	assert.False(t, patternMatches(t, pattern, map[string]any{"source": notify.EventSource, "detail-type": "free text"}))
	assert.False(t, patternMatches(t, pattern, map[string]any{"source": "aws.cloudwatch",
		"detail-type": notify.EventDetailType, "detail": map[string]any{"Repaired": 1.0}}), "no crossed source and type")
	targets := rp["Targets"].([]any)
	require.Len(t, targets, 1)
	target := targets[0].(map[string]any)
	assert.Equal(t, join("arn:", partition, ":logs:", region, ":", account, ":log-group:", ref(logID)), target["Arn"])
	assert.Equal(t, map[string]any{"MaximumEventAgeInSeconds": 86400.0, "MaximumRetryAttempts": 185.0}, target["RetryPolicy"])

	// What the log group refuses lands in an encrypted queue that only this rule may send to.
	dlqID, dlq := m.one(t, "AWS::SQS::Queue", "CentralEventsDeadLetters")
	assert.Equal(t, true, props(dlq)["SqsManagedSseEnabled"])
	assert.Equal(t, map[string]any{"Arn": getAtt(dlqID, "Arn")}, target["DeadLetterConfig"])
	_, qp := m.one(t, "AWS::SQS::QueuePolicy", "CentralEventsDeadLetters")
	var allows []any
	for _, st := range props(qp)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		if st.(map[string]any)["Effect"] == "Allow" {
			allows = append(allows, st)
		}
	}
	assert.Equal(t, []any{map[string]any{"Sid": "CentralRuleDeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage",
		"Principal": map[string]any{"Service": "events.amazonaws.com"}, "Resource": getAtt(dlqID, "Arn"),
		"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": getAtt(ruleID, "Arn")}},
	}}, allows, "only the central rule may send to the dead-letter queue")

	_, pol := m.one(t, "AWS::Logs::ResourcePolicy", "CentralEventsLogPolicy")
	// The document is a JSON string with the rule's and group's ARNs spliced in by Fn::Join.
	raw := props(pol)["PolicyDocument"]
	assert.Contains(t, jsonOf(t, raw), `"aws:SourceArn`)
	assert.Contains(t, jsonOf(t, raw), jsonOf(t, getAtt(ruleID, "Arn")), "the policy admits the central rule only")
	assert.Contains(t, jsonOf(t, raw), `events.amazonaws.com`)
	assert.NotContains(t, jsonOf(t, raw), `"Principal":{"AWS"`, "no account principal may write the group")

	filters := m.resources("AWS::Logs::MetricFilter")
	var names []string
	for _, f := range filters {
		fp := props(f)
		assert.Equal(t, ref(logID), fp["LogGroupName"])
		tr := fp["MetricTransformations"].([]any)
		require.Len(t, tr, 1)
		x := tr[0].(map[string]any)
		names = append(names, x["MetricName"].(string))
		assert.Equal(t, stacks.OrgMetricNamespace, x["MetricNamespace"])
		assert.Equal(t, "1", x["MetricValue"])
		assert.Equal(t, stacks.OrgMetrics[x["MetricName"].(string)], fp["FilterPattern"])
		assert.ElementsMatch(t, []any{
			map[string]any{"Key": "Account", "Value": "$.account"}, map[string]any{"Key": "Region", "Value": "$.region"},
		}, x["Dimensions"], "the event's account and region, which EventBridge sets, not the detail's")
	}
	var want []string
	for name := range stacks.OrgMetrics {
		want = append(want, name)
	}
	sort.Strings(want)
	sort.Strings(names)
	assert.Equal(t, want, names)
}

// Each decision metric the central filters count is a field of the record the remediator writes: a renamed field
// would leave its metric at zero forever.
func TestCentralMetricsReadFieldsTheRemediatorWrites(t *testing.T) {
	var line bytes.Buffer
	require.NoError(t, notify.WriteMetrics(&line, time.Unix(0, 0), notify.Decision{Trail: "t", Action: notify.ActionRepaired}))
	var rec map[string]any
	require.NoError(t, json.Unmarshal(line.Bytes(), &rec))
	field := regexp.MustCompile(`\$\.detail\.([A-Za-z]+) = 1`)
	var n int
	for name, pattern := range stacks.OrgMetrics {
		m := field.FindStringSubmatch(pattern)
		if m == nil {
			continue
		}
		n++
		assert.Equal(t, name, m[1], "the metric is named after its field")
		assert.Contains(t, rec, m[1], "%s reads a field the remediator writes", name)
		assert.Contains(t, pattern, `$.source = "`+notify.EventSource+`"`)
	}
	assert.Equal(t, 4, n, "DriftDetected, Repaired, RepairFailed, Contested")
}

// A member turns the remediator's decision events on, may put only trailguard's events on its own default bus,
// and forwards those and its alarms' state changes to the central bus with a role that can do nothing else.
func TestMemberForwardsDecisionsAndAlarmsToTheCentralBus(t *testing.T) {
	_, ts := orgTemplates(t)
	m := ts["member"]
	assert.Equal(t, "true", remediatorEnv(t, m)[lambdaenv.DecisionEvents])
	assert.NotContains(t, remediatorEnv(t, mustTemplate(t)), lambdaenv.DecisionEvents, "the standalone stack has no central bus")

	st := statements(t, m, mustID(t, m, "AWS::IAM::Role", "RemediatorRole"))["DecisionEvents"]
	require.NotNil(t, st)
	assert.Equal(t, "events:PutEvents", st["Action"])
	assert.Equal(t, join("arn:", partition, ":events:", region, ":", account, ":event-bus/default"), st["Resource"])
	assert.Equal(t, map[string]any{"StringEquals": map[string]any{"events:source": notify.EventSource}}, st["Condition"])

	// EventBridge may assume the role for the two forwarding rules only, named before they exist: not for a rule
	// a principal of the account allowed iam:PassRole makes.
	roleID, role := m.one(t, "AWS::IAM::Role", "CentralEventsRole")
	uuid := map[string]any{"Fn::Select": []any{2.0, map[string]any{"Fn::Split": []any{"/", ref("AWS::StackId")}}}}
	ruleName := func(kind string) map[string]any {
		return map[string]any{"Fn::Join": []any{"-", []any{"trailguard", uuid, kind}}}
	}
	ruleARN := func(kind string) map[string]any {
		return join("arn:", partition, ":events:", region, ":", account, ":rule/", ruleName(kind))
	}
	assert.Equal(t, []any{map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account},
			"ArnEquals": map[string]any{"aws:SourceArn": []any{ruleARN("decisions"), ruleARN("alarms")}}},
	}}, props(role)["AssumeRolePolicyDocument"].(map[string]any)["Statement"])
	_, pol := m.one(t, "AWS::IAM::Policy", "CentralEventsRoleDefaultPolicy")
	assert.Equal(t, []any{map[string]any{"Action": "events:PutEvents", "Effect": "Allow",
		"Resource": ref(stacks.ParamCentralEventBusARN)}}, props(pol)["PolicyDocument"].(map[string]any)["Statement"])

	target := []any{map[string]any{"Arn": ref(stacks.ParamCentralEventBusARN), "Id": "Target0", "RoleArn": getAtt(roleID, "Arn")}}
	_, decisions := m.one(t, "AWS::Events::Rule", "ForwardDecisions")
	assert.Equal(t, target, props(decisions)["Targets"])
	assert.Equal(t, ruleName("decisions"), props(decisions)["Name"])
	event := map[string]any{"source": notify.EventSource, "detail-type": notify.EventDetailType, "account": account,
		"detail": map[string]any{"Repaired": 1.0}}
	assert.True(t, patternMatches(t, props(decisions)["EventPattern"].(map[string]any), event), "a decision event is forwarded")
	event["source"] = "aws.cloudtrail"
	assert.False(t, patternMatches(t, props(decisions)["EventPattern"].(map[string]any), event))

	_, alarms := m.one(t, "AWS::Events::Rule", "ForwardAlarms")
	assert.Equal(t, target, props(alarms)["Targets"])
	assert.Equal(t, ruleName("alarms"), props(alarms)["Name"])
	var arns []any
	for id, a := range m.resources("AWS::CloudWatch::Alarm") {
		name := props(a)["AlarmName"]
		assert.Equal(t, map[string]any{"Fn::Join": []any{"-", []any{ref("AWS::StackName"), id[:len(id)-8]}}}, name,
			"a member names its alarms, so their ARNs need no reference to them")
		arns = append(arns, join("arn:", partition, ":cloudwatch:", region, ":", account, ":alarm:", name))
	}
	require.Len(t, arns, 3)
	ap := props(alarms)["EventPattern"].(map[string]any)
	assert.ElementsMatch(t, arns, ap["resources"], "every alarm of the stack, and only those")
	assert.Equal(t, []any{"aws.cloudwatch"}, ap["source"])
	assert.Equal(t, []any{"CloudWatch Alarm State Change"}, ap["detail-type"])
}
