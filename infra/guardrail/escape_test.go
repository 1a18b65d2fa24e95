package guardrail_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/guardrail"
	"github.com/trailguard/trailguard/internal/cis"
)

// escapes are the ways a member account's administrator could become, or run code as, a principal the guardrail
// exempts (or step out from under it), each with whether the guardrail must deny it. The adversarial review found
// the first six; the rest are the next of the same kind.
func escapes() []struct {
	call
	denied bool
} {
	role := func(name string) string { return "arn:aws:iam::" + account + ":role/" + name }
	boundary := "arn:aws:iam::" + account + ":policy/trailguard/trailguard-DeliveryBoundary-9I0J"
	function := "arn:aws:lambda:us-east-1:" + account + ":function:StackSet-trailguard-0a1b-Remediator1A2B-3C4D"
	functionTags := map[string]string{guardrail.FunctionTag: "remediator"}
	policy := "arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-12345678"
	policyTags := map[string]string{guardrail.PolicyTag: guardrail.Standard}
	denied := []call{
		// one hop: the break-glass role is exempt by name in every account; nobody may create it or re-trust it
		{name: "create the break-glass role", action: "iam:CreateRole", resource: breakGlass},
		{name: "trust yourself in the break-glass role", action: "iam:UpdateAssumeRolePolicy", resource: breakGlass},
		{name: "widen the break-glass role's permissions", action: "iam:AttachRolePolicy", resource: breakGlass},
		// two hops: a stacksets-exec-* role may write /trailguard/ roles; nobody may create or re-trust one
		{name: "create a StackSets look-alike role", action: "iam:CreateRole", resource: role("stacksets-exec-evil")},
		{name: "trust yourself in the StackSets execution role", action: "iam:UpdateAssumeRolePolicy", resource: stackSets},
		{name: "pass the StackSets execution role", action: "iam:PassRole", resource: stackSets},
		// run your own code as a /trailguard/ role: pass it to your own function, or change trailguard's function
		{name: "pass trailguard's provider role to your own Lambda", action: "iam:PassRole", resource: provider},
		{name: "pass trailguard's delivery role", action: "iam:PassRole", resource: role("trailguard/trailguard-DeliveryRole-7G8H")},
		{name: "replace trailguard's function code", action: "lambda:UpdateFunctionCode", resource: function, tags: functionTags},
		{name: "add a layer or change the handler", action: "lambda:UpdateFunctionConfiguration", resource: function, tags: functionTags},
		{name: "take the mark off trailguard's function", action: "lambda:UntagResource", resource: function, tags: functionTags,
			tagKeys: []string{guardrail.FunctionTag}},
		{name: "delete trailguard's function", action: "lambda:DeleteFunction", resource: function, tags: functionTags},
		{name: "throttle trailguard's function to 0", action: "lambda:PutFunctionConcurrency", resource: function, tags: functionTags},
		// widen the delivery roles' permissions boundary, a managed policy under /trailguard/
		{name: "rewrite trailguard's delivery boundary", action: "iam:CreatePolicyVersion", resource: boundary},
		{name: "switch trailguard's delivery boundary to an older version", action: "iam:SetDefaultPolicyVersion", resource: boundary},
		// cancel the CIS pack metric's Sum with negative data points, which no read of trailguard's would show
		{name: "put data points into the pack's namespace", action: "cloudwatch:PutMetricData", resource: "*",
			request: map[string]any{"cloudwatch:namespace": cis.Namespace}},
		// step out from under the policy
		{name: "leave the organization", action: "organizations:LeaveOrganization", resource: "*"},
		{name: "detach the guardrail (a delegated administrator)", action: "organizations:DetachPolicy", resource: policy, tags: policyTags},
		{name: "rewrite the guardrail", action: "organizations:UpdatePolicy", resource: policy, tags: policyTags},
		{name: "take the mark off the guardrail", action: "organizations:UntagResource", resource: policy, tags: policyTags,
			tagKeys: []string{guardrail.PolicyTag}},
	}
	type row = struct {
		call
		denied bool
	}
	var rows []row
	for _, c := range denied {
		for _, p := range []string{attacker, lookalike} {
			c.principal = p
			rows = append(rows, row{c, true})
		}
		c.principal = breakGlass
		rows = append(rows, row{c, false})
	}
	// What must keep working: StackSets deploying and updating trailguard, the provider passing the delivery role to
	// CloudTrail, and an administrator's own roles and functions.
	for _, c := range []call{
		{name: "StackSets creates a role under /trailguard/", action: "iam:CreateRole", resource: remediator, principal: stackSets},
		{name: "StackSets updates the delivery boundary", action: "iam:CreatePolicyVersion", resource: boundary, principal: stackSets},
		{name: "an administrator's own managed policy", action: "iam:CreatePolicyVersion",
			resource: "arn:aws:iam::" + account + ":policy/app/web", principal: attacker},
		{name: "StackSets passes a function's role", action: "iam:PassRole", resource: remediator, principal: stackSets},
		{name: "StackSets updates trailguard's function", action: "lambda:UpdateFunctionCode", resource: function, tags: functionTags, principal: stackSets},
		{name: "StackSets retags trailguard's function", action: "lambda:TagResource", resource: function, tags: functionTags,
			tagKeys: []string{guardrail.FunctionTag}, principal: stackSets},
		{name: "the provider passes the delivery role to CloudTrail", action: "iam:PassRole",
			resource: role("trailguard/trailguard-DeliveryRole-7G8H"), principal: provider},
		{name: "an administrator's own function", action: "lambda:UpdateFunctionCode",
			resource: "arn:aws:lambda:us-east-1:" + account + ":function:web", principal: attacker},
		{name: "an administrator passes their own role", action: "iam:PassRole", resource: role("app/web"), principal: attacker},
		{name: "a delegated administrator detaches another policy", action: "organizations:DetachPolicy",
			resource: strings.Replace(policy, "p-12345678", "p-87654321", 1), principal: attacker},
		{name: "invoke trailguard's function", action: "lambda:InvokeFunction", resource: function, tags: functionTags, principal: attacker},
		{name: "an administrator's own metrics", action: "cloudwatch:PutMetricData", resource: "*", principal: attacker,
			request: map[string]any{"cloudwatch:namespace": "app/web"}},
	} {
		rows = append(rows, row{c, false})
	}
	return rows
}

// Each escape is denied to others and left to break-glass, by both evaluators, at both levels.
func TestTheGuardrailCannotBeEscapedByBecomingAnExemptPrincipal(t *testing.T) {
	for _, level := range []string{guardrail.Standard, guardrail.Strict} {
		t.Run(level, func(t *testing.T) {
			policy := guardrail.Policy(settings(level))
			raw, err := json.Marshal(policy)
			require.NoError(t, err)
			rows := escapes()
			for _, r := range rows {
				assert.Equal(t, r.denied, evaluate(t, policy, r.call), "%s by %s", r.name, r.principal)
			}
			simulated := simulate(t, raw, rows)
			for i, r := range rows {
				want := map[bool]string{true: "ExplicitlyDenied", false: "Allowed"}[r.denied]
				assert.Equal(t, want, simulated[i], "iam-simulate: %s by %s", r.name, r.principal)
			}
		})
	}
}

// The size limit is checked when the settings are, before any synthesis: too many prefixes are refused with
// ErrTooLarge (the organization stack names the context settings), the default is well within it.
func TestTheGuardrailRefusesSettingsWhosePolicyAWSWouldRefuse(t *testing.T) {
	s := settings(guardrail.Strict)
	require.NoError(t, s.Validate())
	roomy := s
	roomy.LogGroupPrefixes = append(slices.Clone(s.LogGroupPrefixes), "/a/b/c/d/e/f/g/h/", "/i/j/k/l/m/n/o/p/", "/q/r/s/t/u/v/w/x/")
	roomy.TrailPrefixes = append(slices.Clone(s.TrailPrefixes), "org-a-b-c-d-e-", "org-f-g-h-i-j-", "org-k-l-m-n-o-")
	assert.NoError(t, roomy.Validate(), "room for a few prefixes more")
	for len(s.LogGroupPrefixes) < 100 && guardrail.Size(s) <= guardrail.MaxSize {
		s.LogGroupPrefixes = append(s.LogGroupPrefixes, "/team/audit-"+strings.Repeat("x", len(s.LogGroupPrefixes)))
	}
	require.Greater(t, guardrail.Size(s), guardrail.MaxSize)
	err := s.Validate()
	require.ErrorIs(t, err, guardrail.ErrTooLarge)
	assert.ErrorContains(t, err, "log group prefixes")
	s.LogGroupPrefixes = s.LogGroupPrefixes[:len(s.LogGroupPrefixes)-1]
	assert.NoError(t, s.Validate(), "one prefix fewer fits")
	assert.Zero(t, guardrail.Size(guardrail.Settings{Level: guardrail.Off}))
}
