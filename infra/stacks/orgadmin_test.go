package stacks_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

const managementAccount = "111122223333"

// In CloudTrail's delegated administrator account the stack admits the management account, and only it: its
// streams in the boundary, CloudTrail acting for it in the delivery role's trust, its trails (this region) in both
// functions' CloudTrail grant, and the provider's one new read, ListDelegatedAdministrators. Nothing lets a function
// escalate.
func TestTheDelegatedAdministratorsStackAdmitsTheManagementAccountOnly(t *testing.T) {
	s := build(t, map[string]any{stacks.CtxOrgOrganizationID: orgID, stacks.CtxOrgManagementAccountID: managementAccount})
	_, m := toTemplate(t, s.provider.Stack)
	streams := func(name string) any {
		return join("arn:", partition, ":logs:*:", account, ":log-group:*:log-stream:"+name)
	}
	assert.Equal(t, []any{accountStreams, streams(orgID + "_*"), streams(managementAccount + "_CloudTrail_*")}, boundaryResources(t, m))

	_, role := m.one(t, "AWS::IAM::Role", "DeliveryRole")
	assert.Equal(t, map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect":    "Allow",
		"Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"},
		"Action":    "sts:AssumeRole",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": []any{account, managementAccount}}},
	}}}, props(role)["AssumeRolePolicyDocument"])

	trails := []any{join("arn:", partition, ":cloudtrail:", region, ":", account, ":trail/*"),
		join("arn:", partition, ":cloudtrail:", region, ":"+managementAccount+":trail/*")}
	for _, fn := range []string{"Provider", "Remediator"} {
		roleID, _ := m.one(t, "AWS::IAM::Role", fn+"Role")
		got := statements(t, m, roleID)
		assert.Equal(t, jsonOf(t, trails), jsonOf(t, got["Trails"]["Resource"]), fn)
		_, f := m.one(t, "AWS::Lambda::Function", fn)
		assert.Equal(t, managementAccount, props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)[lambdaenv.ManagementAccountID], fn)
		if fn == "Provider" {
			assert.Equal(t, jsonOf(t, map[string]any{"Action": "organizations:ListDelegatedAdministrators", "Effect": "Allow",
				"Resource": "*", "Sid": "DelegatedAdministrator"}), jsonOf(t, got["DelegatedAdministrator"]))
		} else {
			assert.NotContains(t, got, "DelegatedAdministrator", "the remediator reads trails by ARN and needs no more")
		}
	}
	for _, e := range escalations(t, m, ref(mustID(t, m, "AWS::IAM::ManagedPolicy", "DeliveryBoundary"))) {
		t.Errorf("escalation: %s", e)
	}
	assert.Empty(t, nagFindings(s.provider.Stack), "every new wildcard is suppressed with its reason")
}

// Without the setting nothing of it is there (TestIAMGrantsOnlyTheCallsEachFunctionMakes pins the rest).
func TestWithoutAManagementAccountNoFunctionActsOnAnotherAccountsTrails(t *testing.T) {
	_, m := toTemplate(t, build(t, map[string]any{stacks.CtxOrgOrganizationID: orgID}).provider.Stack)
	assert.NotContains(t, jsonOf(t, m), "ListDelegatedAdministrators")
	assert.NotContains(t, jsonOf(t, m), lambdaenv.ManagementAccountID)
}

// A bad management account fails synthesis naming the key and the rule: a wildcard would let CloudTrail assume the
// delivery role for any account and the functions act on any account's trails.
func TestTheManagementAccountIsCheckedAtSynthesis(t *testing.T) {
	for v, want := range map[string]string{"*": "12 digits", "11112222333": "12 digits", "1111222233334": "12 digits",
		"11112222333*": "12 digits"} {
		_, err := stacks.ConfigFromContext(newApp(map[string]any{stacks.CtxOrgOrganizationID: orgID, stacks.CtxOrgManagementAccountID: v}))
		require.Error(t, err, v)
		assert.Contains(t, err.Error(), stacks.CtxOrgManagementAccountID, v)
		assert.Contains(t, err.Error(), want, v)
	}
	_, err := stacks.ConfigFromContext(newApp(map[string]any{stacks.CtxOrgManagementAccountID: managementAccount}))
	assert.ErrorContains(t, err, "needs the organization's id as well ("+stacks.CtxOrgOrganizationID)

	_, err = stacks.NewProviderStack(newApp(nil), "member", &stacks.ProviderStackProps{Member: true, OrganizationID: orgID,
		ManagementAccountID: managementAccount})
	assert.ErrorContains(t, err, "a member stack cannot be CloudTrail's delegated administrator's")
	_, err = stacks.NewProviderStack(newApp(nil), "direct", &stacks.ProviderStackProps{AssetDir: distDir, OrganizationID: orgID,
		ManagementAccountID: "*"})
	assert.ErrorContains(t, err, "12 digits")
}

// The independent evaluator (iam-simulate) on the delegated administrator's template: every call the code makes is
// allowed, ListDelegatedAdministrators included (the provider's); every CloudTrail call on the management account's
// trails of this region is allowed to both functions, and on a third account's refused; the delivery role may write
// the management account's streams in this account's log group and no other account's; nothing escalates. (The
// evaluator sees an identity-policy question: CloudTrail itself admits the administrator to the organization's
// trails.)
func TestAnIndependentEvaluatorAllowsTheDelegatedAdministratorsCallsOnly(t *testing.T) {
	s := build(t, map[string]any{stacks.CtxAccountWide: "true", stacks.CtxOrgOrganizationID: simOrgID,
		stacks.CtxOrgManagementAccountID: managementAccount})
	_, m := toTemplate(t, s.provider.Stack)
	evals := functionEvaluations(t, m)
	names := map[string]bool{}
	for _, e := range evals {
		names[e.what] = true
	}
	require.True(t, names["Provider: calls organizations:ListDelegatedAdministrators on *"], "the provider's new call is evaluated")
	for _, fn := range []string{"Provider", "Remediator"} {
		roleID := mustID(t, m, "AWS::IAM::Role", fn+"Role")
		principal, policies := arnOf(t, m, roleID), rolePolicies(t, m, roleID)
		for _, action := range []string{"cloudtrail:GetTrail", "cloudtrail:UpdateTrail", "cloudtrail:StartLogging", "cloudtrail:ListTags"} {
			for account, want := range map[string]string{managementAccount: "Allowed", "444455556666": "denied"} {
				trail := "arn:" + simPartition + ":cloudtrail:" + simRegion + ":" + account + ":trail/org-trail"
				evals = append(evals, evaluation{fn + ": " + action + " on " + trail, simulation{IdentityPolicies: policies,
					ServiceControlPolicies: []any{}, ResourceControlPolicies: []any{},
					Request: request(principal, simRequest{action, trail, nil})}, want})
			}
		}
	}
	evals = append(evals, deliveryEvaluations(t, m, true)...)
	_, boundary := m.one(t, "AWS::IAM::ManagedPolicy", "DeliveryBoundary")
	bound := []map[string]any{{"name": "DeliveryBoundary", "policy": resolve(t, m, props(boundary)["PolicyDocument"])}}
	greedy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}}}
	prefix := "arn:" + simPartition + ":logs:" + simRegion + ":" + simAccount + ":log-group:audit-logs:log-stream:"
	for stream, want := range map[string]string{managementAccount + "_CloudTrail_" + simRegion: "Allowed",
		"444455556666_CloudTrail_" + simRegion: "denied"} {
		evals = append(evals, evaluation{"DeliveryRole: the boundary on " + stream, simulation{
			IdentityPolicies: []map[string]any{{"name": "trail", "policy": greedy}}, PermissionBoundaries: bound,
			ServiceControlPolicies: []any{}, ResourceControlPolicies: []any{},
			Request: request(arnOf(t, m, mustID(t, m, "AWS::IAM::Role", "DeliveryRole")), simRequest{"logs:PutLogEvents", prefix + stream, nil})}, want})
	}
	judge(t, evals)
}
