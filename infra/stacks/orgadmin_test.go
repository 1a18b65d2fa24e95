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
