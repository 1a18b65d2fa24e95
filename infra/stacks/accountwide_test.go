package stacks_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// adoption returns the remediator's adoption policy, if the template has one.
func adoption(m tmpl) (map[string]any, bool) {
	for id, r := range m.resources("AWS::IAM::Policy") {
		if len(id) > len("RemediatorAdoption") && id[:len("RemediatorAdoption")] == "RemediatorAdoption" {
			return r, true
		}
	}
	return nil, false
}

func remediatorEnv(t *testing.T, m tmpl) map[string]any {
	t.Helper()
	_, fn := m.one(t, "AWS::Lambda::Function", "Remediator")
	return props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
}

// Account-wide mode is off by default and grants nothing extra; on, the remediator gets exactly what adoption
// calls beyond its repairs (AddTags for the registration tag on trails of its account and region,
// DescribeOrganization for an organization trail of its own), and the account policy's defaults as given.
func TestAccountWideModeGrantsOnlyWhatAdoptionCalls(t *testing.T) {
	_, off := toTemplate(t, defaults().provider.Stack)
	_, found := adoption(off)
	assert.False(t, found, "off by default: no adoption grant")
	assert.Equal(t, "false", remediatorEnv(t, off)[lambdaenv.AccountWide])

	s := build(t, map[string]any{stacks.CtxAccountWide: "true", stacks.CtxAccountRetentionInDays: "90",
		stacks.CtxAccountRemediation: "report", stacks.CtxAccountDeletionProtection: "false"})
	_, on := toTemplate(t, s.provider.Stack)
	env := remediatorEnv(t, on)
	assert.Equal(t, "true", env[lambdaenv.AccountWide])
	assert.Equal(t, "90", env[lambdaenv.AccountRetentionInDays])
	assert.Equal(t, "report", env[lambdaenv.AccountRemediation])
	assert.Equal(t, "false", env[lambdaenv.AccountDeletionProtection])
	assert.NotContains(t, env, lambdaenv.AccountKmsKeyID, "not given: the provider's default")
	p, found := adoption(on)
	require.True(t, found)
	assert.NotContains(t, p, "Condition")
	assert.Equal(t, []any{ref(mustID(t, on, "AWS::IAM::Role", "RemediatorRole"))}, props(p)["Roles"])
	st := props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any)
	require.Len(t, st, 3)
	trails := join("arn:", partition, ":cloudtrail:", region, ":", account, ":trail/*")
	assert.Equal(t, jsonOf(t, map[string]any{"Action": "cloudtrail:AddTags", "Effect": "Allow", "Resource": trails, "Sid": "AdoptTrails"}), jsonOf(t, st[0]))
	assert.Equal(t, jsonOf(t, map[string]any{"Action": "organizations:DescribeOrganization", "Effect": "Allow", "Resource": "*",
		"Sid": "AdoptOrganizationTrails"}), jsonOf(t, st[1]))
	assert.Equal(t, jsonOf(t, map[string]any{"Action": "logs:ListTagsForResource", "Effect": "Allow",
		"Resource": join("arn:", partition, ":logs:", region, ":", account, ":log-group:*"), "Sid": "AdoptReadsDefaultGroupTags"}),
		jsonOf(t, st[2]))
	for _, e := range escalations(t, on, ref(mustID(t, on, "AWS::IAM::ManagedPolicy", "DeliveryBoundary"))) {
		t.Errorf("escalation: %s", e)
	}
}

func TestAccountWideSettingsAreCheckedAtSynthesis(t *testing.T) {
	for key, value := range map[string]string{stacks.CtxAccountWide: "yes", stacks.CtxAccountRetentionInDays: "2",
		stacks.CtxAccountRemediation: "off", stacks.CtxAccountKmsKeyID: "alias/mine", stacks.CtxAccountDeletionProtection: "sometimes"} {
		_, err := stacks.ConfigFromContext(newApp(map[string]any{key: value}))
		assert.Error(t, err, "%s=%s", key, value)
	}
}

// In a member stack the mode is the AccountWide parameter, and the adoption grant exists under its condition: one
// switch for both.
func TestMemberAccountWideIsAParameterThatAlsoSwitchesTheGrant(t *testing.T) {
	_, ts := orgTemplates(t)
	member := ts["member"]
	p, found := adoption(member)
	require.True(t, found)
	assert.Equal(t, "AccountWideOn", p["Condition"])
	cond := member["Conditions"].(map[string]any)["AccountWideOn"]
	assert.Equal(t, map[string]any{"Fn::Equals": []any{ref(stacks.ParamAccountWide), "true"}}, cond)
	assert.Equal(t, ref(stacks.ParamAccountWide), remediatorEnv(t, member)[lambdaenv.AccountWide])
	values := parameterValues(t, stackSetProps(t, ts["org"]))
	assert.Equal(t, "false", values[stacks.ParamAccountWide], "off unless trailguard:accountWide says so")
}
