package stacks_test

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
)

// statements returns a role's policy statements by Sid, from every AWS::IAM::Policy attached to it.
func statements(t *testing.T, m tmpl, roleID string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, p := range m.resources("AWS::IAM::Policy") {
		if jsonOf(t, props(p)["Roles"]) != jsonOf(t, []any{ref(roleID)}) {
			continue
		}
		for _, s := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			sid, _ := st["Sid"].(string)
			require.NotEmpty(t, sid, "every statement carries a Sid saying what it is for: %s", jsonOf(t, st))
			require.NotContains(t, out, sid)
			out[sid] = st
		}
	}
	return out
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = s.(string)
		}
		return out
	}
	return nil
}

// TestIAMGrantsOnlyTheCallsEachFunctionMakes pins every statement of both function roles: the calls
// internal/delivery, internal/registry and the notifier make, and nothing else. infra/README.md tabulates them.
func TestIAMGrantsOnlyTheCallsEachFunctionMakes(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		_, m := providerTemplate(t)
		assertGrants(t, m, false)
	})
	// With trailguard:customerManagedKey, each function may use the stack's key for what it sends, nothing more.
	t.Run("customer managed key", func(t *testing.T) {
		_, m := toTemplate(t, build(t, map[string]any{stacks.CtxCustomerManagedKey: "true"}).provider.Stack)
		assertGrants(t, m, true)
	})
}

func assertGrants(t *testing.T, m tmpl, withKey bool) {
	trails := join("arn:", partition, ":cloudtrail:", region, ":", account, ":trail/*")
	logGroups := join("arn:", partition, ":logs:", region, ":", account, ":log-group:*")
	anyRole := join("arn:", partition, ":iam::", account, ":role/*")
	packAlarms := join("arn:", partition, ":cloudwatch:", region, ":", account, ":alarm:trailguard-cis-*")
	topics := join("arn:", partition, ":sns:", region, ":", account, ":*")
	createdBy := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/trailguard:created-by": "trailguard"}}
	boundary := ref(mustID(t, m, "AWS::IAM::ManagedPolicy", "DeliveryBoundary"))
	bounded := map[string]any{"StringEquals": map[string]any{"iam:PermissionsBoundary": boundary}}
	toCloudTrail := map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cloudtrail.amazonaws.com"}}
	table := getAtt(mustID(t, m, "AWS::DynamoDB::Table", "Registry"), "Arn")
	topic := ref(mustID(t, m, "AWS::SNS::Topic", "Notifications"))

	type grant struct {
		effect    string
		actions   []string
		resources any
		condition any
	}
	allow := func(actions []string, resources, condition any) grant {
		return grant{"Allow", actions, resources, condition}
	}
	deny := func(actions []string, condition any) grant { return grant{"Deny", actions, "*", condition} }
	roleReads := []string{"iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"}
	escalation := []string{"iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy",
		"iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion",
		"iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:UpdateRole", "iam:CreateUser",
		"iam:PutUserPolicy", "iam:AttachUserPolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile"}
	shared := map[string]grant{
		"RoleRead":             allow(roleReads, anyRole, nil),
		"PassRoleToCloudTrail": allow([]string{"iam:PassRole"}, anyRole, toCloudTrail),
		"Notify":               allow([]string{"sns:Publish"}, topic, nil),
		"DenyIAMEscalation":    deny(escalation, nil),
		"DenyUnboundedRolePolicyWrites": deny([]string{"iam:PutRolePolicy", "iam:DeleteRolePolicy"},
			map[string]any{"StringNotEquals": map[string]any{"iam:PermissionsBoundary": boundary}}),
		"DenyPassRoleToOtherServices": deny([]string{"iam:PassRole"},
			map[string]any{"StringNotEquals": map[string]any{"iam:PassedToService": "cloudtrail.amazonaws.com"}}),
	}
	want := map[string]map[string]grant{"Provider": {}, "Remediator": {}}
	for fn := range want {
		for k, v := range shared {
			want[fn][k] = v
		}
		want[fn]["LogGroupGuard"] = allow([]string{"logs:PutLogGroupDeletionProtection", "logs:AssociateKmsKey", "logs:DisassociateKmsKey"}, logGroups, nil)
		want[fn]["OwnLogs"] = allow([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt(mustID(t, m, "AWS::Logs::LogGroup", fn+"Logs"), "Arn"), nil)
	}
	p := want["Provider"]
	p["Trails"] = allow([]string{"cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:UpdateTrail",
		"cloudtrail:StartLogging", "cloudtrail:ListTags", "cloudtrail:AddTags", "cloudtrail:RemoveTags",
		"cloudtrail:GetEventSelectors", "cloudtrail:GetEventConfiguration"}, trails, nil)
	p["Describe"] = allow([]string{"cloudtrail:DescribeTrails", "logs:DescribeLogGroups", "organizations:DescribeOrganization"}, "*", nil)
	p["LogGroups"] = allow([]string{"logs:CreateLogGroup", "logs:TagResource", "logs:TagLogGroup", "logs:PutRetentionPolicy",
		"logs:ListTagsForResource"}, logGroups, nil)
	p["LogGroupDelete"] = allow([]string{"logs:DeleteLogGroup"}, logGroups, createdBy)
	p["StackCheck"] = allow([]string{"cloudformation:DescribeStacks", "cloudformation:DescribeStackResource"},
		join("arn:", partition, ":cloudformation:", region, ":", account, ":stack/*"), nil)
	p["BoundedRolePolicyWrite"] = allow([]string{"iam:PutRolePolicy", "iam:DeleteRolePolicy"}, anyRole, bounded)
	p["Registry"] = allow([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"}, table, nil)
	p["PackFilters"] = allow([]string{"logs:DescribeMetricFilters", "logs:PutMetricFilter", "logs:DeleteMetricFilter"}, logGroups, nil)
	p["PackAlarms"] = allow([]string{"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource",
		"cloudwatch:DeleteAlarms"}, packAlarms, nil)
	p["PackTopic"] = allow([]string{"sns:ListSubscriptionsByTopic"}, topics, nil)

	r := want["Remediator"]
	r["Trails"] = allow([]string{"cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:UpdateTrail",
		"cloudtrail:StartLogging", "cloudtrail:ListTags", "cloudtrail:GetEventSelectors", "cloudtrail:GetEventConfiguration"}, trails, nil)
	r["Describe"] = allow([]string{"cloudtrail:DescribeTrails", "logs:DescribeLogGroups"}, "*", nil)
	r["LogGroups"] = allow([]string{"logs:CreateLogGroup", "logs:TagResource", "logs:TagLogGroup", "logs:PutRetentionPolicy",
		"logs:DeleteRetentionPolicy"}, logGroups, nil)
	r["BoundedRolePolicyWrite"] = allow([]string{"iam:PutRolePolicy"}, anyRole, bounded)
	r["Registry"] = allow([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}, table, nil)
	r["PackFilters"] = allow([]string{"logs:DescribeMetricFilters", "logs:PutMetricFilter"}, logGroups, nil)
	r["PackAlarms"] = allow([]string{"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"}, packAlarms, nil)
	r["PackTopic"] = allow([]string{"sns:ListSubscriptionsByTopic"}, topics, nil)
	r["OnFailureQueue"] = allow([]string{"sqs:SendMessage"}, getAtt(mustID(t, m, "AWS::SQS::Queue", "RemediatorFailures"), "Arn"), nil)
	if withKey {
		key := getAtt(mustID(t, m, "AWS::KMS::Key", "Key"), "Arn")
		r["OnFailureQueueKey"] = allow([]string{"kms:GenerateDataKey", "kms:Decrypt"}, key, nil)
		for _, g := range want {
			g["NotifyKey"] = allow([]string{"kms:GenerateDataKey", "kms:Decrypt"}, key, nil)
		}
	}

	for fn, grants := range want {
		t.Run(fn, func(t *testing.T) {
			roleID, role := m.one(t, "AWS::IAM::Role", fn+"Role")
			assert.NotContains(t, props(role), "ManagedPolicyArns", "no AWS-managed policy (with its log-group wildcard)")
			assert.NotContains(t, props(role), "Policies")
			assert.NotContains(t, props(role), "PermissionsBoundary",
				"a function role must not carry the delivery boundary, or it could write its own inline policy")
			assert.Equal(t, []any{map[string]any{"Action": "sts:AssumeRole", "Effect": "Allow",
				"Principal": map[string]any{"Service": "lambda.amazonaws.com"}}},
				props(role)["AssumeRolePolicyDocument"].(map[string]any)["Statement"])

			got := statements(t, m, roleID)
			var gotSids, wantSids []string
			for sid := range got {
				gotSids = append(gotSids, sid)
			}
			for sid := range grants {
				wantSids = append(wantSids, sid)
			}
			sort.Strings(gotSids)
			sort.Strings(wantSids)
			require.Equal(t, wantSids, gotSids)
			for sid, g := range grants {
				st := got[sid]
				assert.Equal(t, g.effect, st["Effect"], sid)
				assert.Equal(t, g.actions, strs(st["Action"]), sid)
				assert.Equal(t, jsonOf(t, g.resources), jsonOf(t, st["Resource"]), sid)
				if g.condition == nil {
					assert.NotContains(t, st, "Condition", sid)
				} else {
					assert.Equal(t, jsonOf(t, g.condition), jsonOf(t, st["Condition"]), sid)
				}
				for _, a := range strs(st["Action"]) {
					assert.NotContains(t, a, "*", "%s: action %s is a wildcard", sid, a)
				}
			}
		})
	}
}

// The role writes live in a policy of their own, so the cdk-nag suppression of role/* in the default policy (for
// reads) cannot cover them; the function starts only once both policies exist.
func TestRoleWritesAreAPolicyOfTheirOwnThatTheFunctionWaitsFor(t *testing.T) {
	_, m := providerTemplate(t)
	for _, fn := range []string{"Provider", "Remediator"} {
		writesID, writes := m.one(t, "AWS::IAM::Policy", fn+"RoleWrites")
		assert.Equal(t, []any{ref(mustID(t, m, "AWS::IAM::Role", fn+"Role"))}, props(writes)["Roles"])
		var sids []string
		for _, s := range props(writes)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			sids = append(sids, s.(map[string]any)["Sid"].(string))
		}
		assert.Equal(t, []string{"BoundedRolePolicyWrite", "PassRoleToCloudTrail"}, sids, fn)
		_, f := m.one(t, "AWS::Lambda::Function", fn)
		assert.Contains(t, f["DependsOn"], writesID, fn)

		_, def := m.one(t, "AWS::IAM::Policy", fn+"RoleDefaultPolicy")
		for _, s := range props(def)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			for _, a := range strs(st["Action"]) {
				if len(a) > 4 && a[:4] == "iam:" {
					assert.Contains(t, []string{"iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies",
						"iam:ListAttachedRolePolicies"}, a, "%s default policy: only IAM reads, whose role/* cdk-nag suppresses", fn)
				}
			}
		}
	}
}
