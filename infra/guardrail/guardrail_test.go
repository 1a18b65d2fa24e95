package guardrail_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/guardrail"
	// The -update flag of `go test ./infra/... -update`: this package has no snapshot, but must accept it.
	_ "github.com/trailguard/trailguard/infra/snapshot"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/iamsim"
)

const (
	account    = "111122223333"
	attacker   = "arn:aws:iam::" + account + ":role/Admin"
	lookalike  = "arn:aws:iam::" + account + ":role/trailguardx/Admin" // a path that only starts like trailguard's
	remediator = "arn:aws:iam::" + account + ":role/trailguard/trailguard-RemediatorRole-1A2B3C"
	provider   = "arn:aws:iam::" + account + ":role/trailguard/trailguard-ProviderRole-4D5E6F"
	breakGlass = "arn:aws:iam::" + account + ":role/security/BreakGlass"
	stackSets  = "arn:aws:iam::" + account + ":role/stacksets-exec-0123456789abcdef"
)

// call is one request against the guardrail.
type call struct {
	name      string
	action    string
	resource  string
	tags      map[string]string // the resource's tags
	tagKeys   []string          // aws:TagKeys of a tagging call
	principal string
	request   map[string]any // other request context, such as cloudwatch:namespace
}

func (c call) context() map[string]any {
	ctx := map[string]any{"aws:PrincipalArn": c.principal}
	for k, v := range c.tags {
		ctx["aws:ResourceTag/"+k] = v
	}
	if len(c.tagKeys) > 0 {
		ctx["aws:TagKeys"] = c.tagKeys
	}
	for k, v := range c.request {
		ctx[k] = v
	}
	return ctx
}

func settings(level string) guardrail.Settings {
	return guardrail.Settings{Level: level, BreakGlassRole: "security/BreakGlass",
		LogGroupPrefixes: []string{guardrail.DefaultLogGroupPrefix}, TrailPrefixes: []string{"org-"}}
}

// matrix is every guarded call on every kind of guarded resource, made by each kind of principal, with whether the
// guardrail must deny it; and calls on resources it must leave alone.
func matrix(level string) []struct {
	call
	denied bool
} {
	arn := func(s string) string { return "arn:aws:logs:us-east-1:" + account + ":log-group:" + s }
	defaultGroup := arn("aws-cloudtrail-logs-" + account + "-management-trail")
	taggedGroup := arn("/team/audit") // a reused group with a free name, tagged by trailguard
	trail := "arn:aws:cloudtrail:us-east-1:" + account + ":trail/management-trail"
	orgTrail := "arn:aws:cloudtrail:us-east-1:" + account + ":trail/org-trail"
	groupTags := map[string]string{delivery.TagTrail: trail}
	trailTags := map[string]string{delivery.TagRegisteredBy: "arn:aws:cloudformation:us-east-1:" + account + ":stack/s/1"}
	var targets []call
	for _, a := range guardrail.LogGroupActions {
		for _, g := range []call{{resource: defaultGroup}, {resource: taggedGroup, tags: groupTags}} {
			g.name, g.action = a+" "+g.resource, a
			if a == "logs:DeleteLogStream" {
				g.resource += ":log-stream:" + account + "_CloudTrail_us-east-1"
			}
			targets = append(targets, g)
		}
	}
	trailActions := slices.Clone(guardrail.TrailActions)
	if level == guardrail.Strict {
		trailActions = append(trailActions, guardrail.StrictTrailActions...)
	}
	for _, a := range trailActions {
		targets = append(targets, call{name: a + " tagged", action: a, resource: trail, tags: trailTags},
			call{name: a + " by name", action: a, resource: orgTrail})
	}
	targets = append(targets,
		call{name: "remove the registration tag", action: "cloudtrail:RemoveTags", resource: trail, tagKeys: []string{delivery.TagRegisteredBy}},
		call{name: "untag a guarded group", action: "logs:UntagResource", resource: taggedGroup, tags: groupTags, tagKeys: []string{delivery.TagTrail}},
		call{name: "create a role under /trailguard/", action: "iam:CreateRole", resource: "arn:aws:iam::" + account + ":role/trailguard/escape"},
	)
	type row = struct {
		call
		denied bool
	}
	var rows []row
	for _, c := range targets {
		for _, p := range []string{attacker, lookalike, remediator, provider, breakGlass} {
			c.principal = p
			rows = append(rows, row{c, p == attacker || p == lookalike})
		}
	}
	stack := targets[len(targets)-1]
	stack.principal = stackSets
	rows = append(rows, row{stack, false})

	// What the guardrail must leave alone: other groups and trails, other tags, reads, and at the standard level
	// an owner's own UpdateTrail.
	other := []call{
		{name: "delete another group", action: "logs:DeleteLogGroup", resource: arn("/app/web")},
		{name: "stop another trail", action: "cloudtrail:StopLogging", resource: "arn:aws:cloudtrail:us-east-1:" + account + ":trail/dev"},
		{name: "consent tag", action: "cloudtrail:AddTags", resource: trail, tagKeys: []string{delivery.TagManagedBy}},
		{name: "read a guarded group", action: "logs:DescribeLogGroups", resource: "*"},
		{name: "a role elsewhere", action: "iam:CreateRole", resource: "arn:aws:iam::" + account + ":role/app/web"},
	}
	if level == guardrail.Standard {
		other = append(other, call{name: "owner updates the trail", action: "cloudtrail:UpdateTrail", resource: trail, tags: trailTags})
	}
	for _, c := range other {
		c.principal = attacker
		rows = append(rows, row{c, false})
	}
	return rows
}

func TestTheGuardrailDeniesOthersAndAdmitsTrailguardAndBreakGlass(t *testing.T) {
	for _, level := range []string{guardrail.Standard, guardrail.Strict} {
		t.Run(level, func(t *testing.T) {
			s := settings(level)
			require.NoError(t, s.Validate())
			policy := guardrail.Policy(s)
			raw, err := json.Marshal(policy)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(raw), guardrail.MaxSize, "AWS Organizations' limit for an SCP")
			rows := matrix(level)
			for _, r := range rows {
				assert.Equal(t, r.denied, evaluate(t, policy, r.call), "%s by %s", r.name, r.principal)
			}
			simulated := simulate(t, raw, rows)
			for i, r := range rows {
				want := "Allowed"
				if r.denied {
					want = "ExplicitlyDenied"
				}
				assert.Equal(t, want, simulated[i], "iam-simulate: %s by %s", r.name, r.principal)
			}
		})
	}
}

func TestTheGuardrailIsOffByDefaultAndSettingsAreChecked(t *testing.T) {
	assert.Nil(t, guardrail.Policy(guardrail.Settings{Level: guardrail.Off}))
	for _, bad := range []guardrail.Settings{
		{Level: "on", LogGroupPrefixes: []string{"x"}},
		{Level: guardrail.Standard},
		{Level: guardrail.Standard, LogGroupPrefixes: []string{"aws-*"}},
		{Level: guardrail.Standard, LogGroupPrefixes: []string{"x"}, BreakGlassRole: "*"},
	} {
		assert.Error(t, bad.Validate(), "%+v", bad)
	}
}

// evaluate is the guardrail's denial as IAM decides it, for the policy elements the guardrail uses: Deny
// statements; Action and Resource lists with * and ? wildcards; ArnNotLike on aws:PrincipalArn, Null on
// aws:ResourceTag, ForAnyValue:StringEquals on aws:TagKeys (a missing key makes Null true and ForAnyValue false),
// StringEquals on a request key (a missing key makes it false).
// It is no general IAM evaluator; iam-simulate below checks it.
func evaluate(t *testing.T, policy map[string]any, c call) bool {
	t.Helper()
	for _, st := range policy["Statement"].([]any) {
		s := st.(map[string]any)
		if s["Effect"] != "Deny" || !anyMatch(s["Action"].([]string), c.action, true) || !anyMatch(s["Resource"].([]string), c.resource, false) {
			continue
		}
		if conditionsHold(t, s["Condition"].(map[string]any), c.context()) {
			return true
		}
	}
	return false
}

func conditionsHold(t *testing.T, cond map[string]any, ctx map[string]any) bool {
	for op, keys := range cond {
		for key, want := range keys.(map[string]any) {
			got, present := ctx[key]
			switch op {
			case "ArnNotLike":
				if present && anyMatch(want.([]string), got.(string), false) {
					return false
				}
			case "Null":
				if (want == "true") != !present {
					return false
				}
			case "StringEquals":
				if !present || !slices.Contains(want.([]string), got.(string)) {
					return false
				}
			case "ForAnyValue:StringEquals":
				gotKeys, _ := got.([]string)
				if !slices.ContainsFunc(gotKeys, func(k string) bool { return slices.Contains(want.([]string), k) }) {
					return false
				}
			default:
				t.Fatalf("the test's evaluator does not know condition operator %s", op)
			}
		}
	}
	return true
}

func anyMatch(patterns []string, value string, fold bool) bool {
	for _, p := range patterns {
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if fold {
			re = "(?i)" + re
		}
		if regexp.MustCompile(re).MatchString(value) {
			return true
		}
	}
	return false
}

// simulate evaluates every row with @cloud-copilot/iam-simulate (pinned in package.json, installed by `npm ci`, which
// make test runs first), an IAM evaluator independent of this code, through internal/dev/iamsim as infra/stacks' IAM
// test uses it.
// The identity policy allows everything and FullAWSAccess is attached beside the guardrail, as in an organization,
// so a denial can only come from the guardrail.
func simulate(t *testing.T, policy []byte, rows []struct {
	call
	denied bool
}) []string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	allowAll := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"}}}
	var sims []any
	for _, r := range rows {
		sims = append(sims, map[string]any{
			"identityPolicies": []any{map[string]any{"name": "AdministratorAccess", "policy": allowAll}},
			"serviceControlPolicies": []any{
				map[string]any{"orgIdentifier": "r-root", "policies": []any{map[string]any{"name": "FullAWSAccess", "policy": allowAll}}},
				map[string]any{"orgIdentifier": "ou-target", "policies": []any{map[string]any{"name": "FullAWSAccess", "policy": allowAll},
					map[string]any{"name": "trailguard-guardrail", "policy": json.RawMessage(policy)}}},
			},
			"resourceControlPolicies": []any{},
			"request": map[string]any{"action": r.action, "principal": r.principal,
				"resource": map[string]any{"accountId": account, "resource": r.resource}, "contextVariables": r.context()},
		})
	}
	answers, err := iamsim.Run(root, sims)
	require.NoError(t, err)
	results := make([]string, len(rows))
	for i, a := range answers {
		require.Empty(t, a.Error, "iam-simulate refused %s by %s", rows[i].name, rows[i].principal)
		results[i] = a.Result
	}
	return results
}
