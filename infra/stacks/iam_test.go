package stacks_test

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statements returns a role's policy statements by Sid, from the AWS::IAM::Policy attached to it.
func statements(t *testing.T, m tmpl, roleID string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	var policies int
	for _, p := range m.resources("AWS::IAM::Policy") {
		if jsonOf(t, props(p)["Roles"]) != jsonOf(t, []any{ref(roleID)}) {
			continue
		}
		policies++
		for _, s := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			sid, _ := st["Sid"].(string)
			require.NotEmpty(t, sid, "every statement carries a Sid saying what it is for: %s", jsonOf(t, st))
			require.NotContains(t, out, sid)
			assert.Equal(t, "Allow", st["Effect"])
			out[sid] = st
		}
	}
	require.Equal(t, 1, policies)
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

func TestIAMGrantsOnlyTheCallsEachFunctionMakes(t *testing.T) {
	_, m := providerTemplate(t)
	trails := join("arn:", partition, ":cloudtrail:", region, ":", account, ":trail/*")
	logGroups := join("arn:", partition, ":logs:", region, ":", account, ":log-group:*")
	anyRole := join("arn:", partition, ":iam::", account, ":role/*")
	ownRoles := join("arn:", partition, ":iam::", account, ":role/trailguard/*")
	defaultRole := join("arn:", partition, ":iam::", account, ":role/CloudTrail_CloudWatchLogs_Role")
	createdBy := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/trailguard:created-by": "trailguard"}}
	table := getAtt(mustID(t, m, "AWS::DynamoDB::Table", "Registry"), "Arn")
	key := getAtt(mustID(t, m, "AWS::KMS::Key", "Key"), "Arn")

	type grant struct {
		actions   []string
		resources any
		condition any
	}
	shared := map[string]grant{
		"Trails": {[]string{"cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:UpdateTrail", "cloudtrail:StartLogging"}, trails, nil},
		"LogGroups": {[]string{"logs:CreateLogGroup", "logs:TagResource", "logs:TagLogGroup", "logs:PutRetentionPolicy",
			"logs:ListTagsForResource"}, logGroups, nil},
		"RoleRead":   {[]string{"iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"}, anyRole, nil},
		"RoleCreate": {[]string{"iam:CreateRole", "iam:TagRole"}, ownRoles, nil},
		"PassRoleToCloudTrail": {[]string{"iam:PassRole"}, []any{ownRoles, defaultRole},
			map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cloudtrail.amazonaws.com"}}},
	}
	want := map[string]map[string]grant{"Provider": {}, "Remediator": {}}
	for fn := range want {
		for k, v := range shared {
			want[fn][k] = v
		}
	}
	want["Provider"]["Describe"] = grant{[]string{"cloudtrail:DescribeTrails", "logs:DescribeLogGroups", "organizations:DescribeOrganization"}, "*", nil}
	want["Remediator"]["Describe"] = grant{[]string{"logs:DescribeLogGroups"}, "*", nil}
	want["Provider"]["OwnLogs"] = grant{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt(mustID(t, m, "AWS::Logs::LogGroup", "ProviderLogs"), "Arn"), nil}
	want["Provider"]["RolePolicyWrite"] = grant{[]string{"iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}, []any{ownRoles, defaultRole}, nil}
	want["Provider"]["LogGroupDelete"] = grant{[]string{"logs:DeleteLogGroup"}, logGroups, createdBy}
	want["Provider"]["RoleDelete"] = grant{[]string{"iam:DeleteRole"}, ownRoles, createdBy}
	want["Provider"]["Registry"] = grant{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:DeleteItem"}, table, nil}

	want["Remediator"]["OwnLogs"] = grant{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt(mustID(t, m, "AWS::Logs::LogGroup", "RemediatorLogs"), "Arn"), nil}
	want["Remediator"]["RolePolicyWrite"] = grant{[]string{"iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"}, []any{ownRoles, defaultRole}, nil}
	want["Remediator"]["Registry"] = grant{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}, table, nil}
	want["Remediator"]["Notify"] = grant{[]string{"sns:Publish"}, ref(mustID(t, m, "AWS::SNS::Topic", "Notifications")), nil}
	want["Remediator"]["NotifyKey"] = grant{[]string{"kms:GenerateDataKey", "kms:Decrypt"}, key, nil}
	want["Remediator"]["OnFailureQueue"] = grant{[]string{"sqs:SendMessage"}, getAtt(mustID(t, m, "AWS::SQS::Queue", "RemediatorFailures"), "Arn"), nil}
	want["Remediator"]["OnFailureQueueKey"] = grant{[]string{"kms:GenerateDataKey", "kms:Decrypt"}, key, nil}

	for fn, grants := range want {
		t.Run(fn, func(t *testing.T) {
			roleID, role := m.one(t, "AWS::IAM::Role", fn+"Role")
			assert.NotContains(t, props(role), "ManagedPolicyArns", "no AWS-managed policy (with its log-group wildcard)")
			assert.NotContains(t, props(role), "Policies")
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
				assert.Equal(t, g.actions, strs(st["Action"]), sid)
				assert.Equal(t, jsonOf(t, g.resources), jsonOf(t, st["Resource"]), sid)
				if g.condition == nil {
					assert.NotContains(t, st, "Condition", sid)
				} else {
					assert.Equal(t, g.condition, st["Condition"], sid)
				}
				for _, a := range strs(st["Action"]) {
					assert.NotContains(t, a, "*", "%s: action %s is a wildcard", sid, a)
				}
			}
		})
	}
}
