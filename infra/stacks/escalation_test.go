package stacks_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// The escalation check reads every identity policy of a synthesized template and reports each Allow statement that
// would let whoever holds the role become more than it is. It knows nothing of trailguard's own statements: it walks
// every statement, matches each action (wildcards included) against the actions below, and so fails on a careless
// statement added later, wherever it is added.

// escalatingActions are refused in any Allow, whatever the resource or condition: they create principals or
// credentials, attach policies, change trust policies, boundaries or managed policy versions, or assume roles.
var escalatingActions = []string{
	"iam:CreateRole", "iam:CreateUser", "iam:CreateGroup", "iam:CreateServiceLinkedRole",
	"iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
	"iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy",
	"iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:AddUserToGroup",
	"iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
	"iam:PutUserPermissionsBoundary", "iam:DeleteUserPermissionsBoundary",
	"iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
	"iam:DeletePolicyVersion",
	"iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
	"sts:AssumeRole",
}

// boundedActions change a role's inline or attached policies: allowed only on roles whose permissions boundary is
// the DeliveryBoundary (Condition StringEquals iam:PermissionsBoundary = that policy), which caps the result.
var boundedActions = []string{"iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"}

// policyDoc is one identity policy document of a template, and where it is.
type policyDoc struct {
	where string
	doc   map[string]any
}

// identityPolicies returns every identity policy document: AWS::IAM::Policy, AWS::IAM::ManagedPolicy, and the inline
// Policies of roles, users and groups.
func identityPolicies(m tmpl) []policyDoc {
	var out []policyDoc
	ids := make([]string, 0, len(m["Resources"].(map[string]any)))
	for id := range m["Resources"].(map[string]any) {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := m["Resources"].(map[string]any)[id].(map[string]any)
		p, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			out = append(out, policyDoc{id, p["PolicyDocument"].(map[string]any)})
		case "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group":
			inline, _ := p["Policies"].([]any)
			for i, ip := range inline {
				out = append(out, policyDoc{fmt.Sprintf("%s.Policies[%d]", id, i), ip.(map[string]any)["PolicyDocument"].(map[string]any)})
			}
		}
	}
	return out
}

// escalations lists every Allow statement that grants an escalating action, a bounded action without the boundary
// condition, iam:PassRole to anything but CloudTrail, every action, or everything but some actions (NotAction).
func escalations(t *testing.T, m tmpl, boundary any) []string {
	t.Helper()
	var out []string
	for _, pd := range identityPolicies(m) {
		stmts, ok := pd.doc["Statement"].([]any)
		if !ok {
			stmts = []any{pd.doc["Statement"]}
		}
		for i, s := range stmts {
			st := s.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			where := fmt.Sprintf("%s statement %d (%v)", pd.where, i, st["Sid"])
			if _, ok := st["NotAction"]; ok {
				out = append(out, where+": Allow with NotAction grants every other action")
				continue
			}
			for _, pattern := range strs(st["Action"]) {
				p := strings.ToLower(pattern)
				if p == "*" {
					out = append(out, where+": Action * grants every action")
					continue
				}
				for _, a := range escalatingActions {
					if wildcardMatch(p, strings.ToLower(a)) {
						out = append(out, fmt.Sprintf("%s: %s grants %s", where, pattern, a))
					}
				}
				for _, a := range boundedActions {
					if wildcardMatch(p, strings.ToLower(a)) && !conditionIs(t, st, "iam:PermissionsBoundary", boundary) {
						out = append(out, fmt.Sprintf("%s: %s grants %s on roles without the DeliveryBoundary", where, pattern, a))
					}
				}
				if wildcardMatch(p, "iam:passrole") && !conditionIs(t, st, "iam:PassedToService", "cloudtrail.amazonaws.com") {
					out = append(out, fmt.Sprintf("%s: %s passes roles to services other than CloudTrail", where, pattern))
				}
			}
		}
	}
	return out
}

// conditionIs reports whether a statement is limited to key == want by StringEquals (the only operator accepted: a
// list of values, another operator or an IfExists variant would admit more).
func conditionIs(t *testing.T, st map[string]any, key string, want any) bool {
	cond, _ := st["Condition"].(map[string]any)
	eq, _ := cond["StringEquals"].(map[string]any)
	got, ok := eq[key]
	return ok && jsonOf(t, got) == jsonOf(t, want)
}

// wildcardMatch matches an IAM action pattern (* any run, ? one character) against an action.
func wildcardMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcardMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcardMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && wildcardMatch(pattern[1:], s[1:])
}

func boundaryRef(t *testing.T, m tmpl) map[string]any {
	return ref(mustID(t, m, "AWS::IAM::ManagedPolicy", "DeliveryBoundary"))
}

func TestNoStatementLetsAFunctionEscalate(t *testing.T) {
	_, m := providerTemplate(t)
	docs := identityPolicies(m)
	require.GreaterOrEqual(t, len(docs), 5, "the walk must see both default policies, both role-write policies and the boundary")
	assert.Empty(t, escalations(t, m, boundaryRef(t, m)))
}

// Each mutation is a careless change someone could make to the stack; the check must catch every one.
func TestEscalationCheckCatchesCarelessStatements(t *testing.T) {
	_, base := providerTemplate(t)
	boundary := boundaryRef(t, base)
	policyStatements := func(m tmpl, prefix string) []any {
		_, p := m.one(t, "AWS::IAM::Policy", prefix)
		return props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any)
	}
	addTo := func(prefix string, st map[string]any) func(tmpl) {
		return func(m tmpl) {
			_, p := m.one(t, "AWS::IAM::Policy", prefix)
			doc := props(p)["PolicyDocument"].(map[string]any)
			doc["Statement"] = append(doc["Statement"].([]any), st)
		}
	}
	bySid := func(m tmpl, prefix, sid string) map[string]any {
		for _, s := range policyStatements(m, prefix) {
			if s.(map[string]any)["Sid"] == sid {
				return s.(map[string]any)
			}
		}
		t.Fatalf("no %s in %s", sid, prefix)
		return nil
	}
	allow := func(action any) map[string]any {
		return map[string]any{"Effect": "Allow", "Action": action, "Resource": "*"}
	}
	mutations := map[string]struct {
		mutate func(tmpl)
		want   string
	}{
		"CreateRole added to the remediator": {addTo("RemediatorRoleDefaultPolicy", allow("iam:CreateRole")), "grants iam:CreateRole"},
		"iam:* on the provider":              {addTo("ProviderRoleDefaultPolicy", allow("iam:*")), "grants iam:UpdateAssumeRolePolicy"},
		"iam:Put* wildcard":                  {addTo("ProviderRoleDefaultPolicy", allow([]any{"iam:Put*"})), "grants iam:PutUserPolicy"},
		"Action *":                           {addTo("RemediatorRoleDefaultPolicy", allow("*")), "Action * grants every action"},
		"NotAction":                          {addTo("RemediatorRoleDefaultPolicy", map[string]any{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}), "NotAction"},
		"trust policy change": {addTo("ProviderRoleDefaultPolicy", allow("iam:UpdateAssumeRolePolicy")),
			"grants iam:UpdateAssumeRolePolicy"},
		"boundary removal": {addTo("ProviderRoleDefaultPolicy", allow("iam:DeleteRolePermissionsBoundary")),
			"grants iam:DeleteRolePermissionsBoundary"},
		"new version of the boundary": {addTo("ProviderRoleDefaultPolicy", allow("iam:CreatePolicyVersion")),
			"grants iam:CreatePolicyVersion"},
		"PutRolePolicy without the boundary condition": {func(m tmpl) {
			delete(bySid(m, "RemediatorRoleWrites", "BoundedRolePolicyWrite"), "Condition")
		}, "grants iam:PutRolePolicy on roles without the DeliveryBoundary"},
		"boundary condition naming another policy": {func(m tmpl) {
			bySid(m, "ProviderRoleWrites", "BoundedRolePolicyWrite")["Condition"] = map[string]any{
				"StringEquals": map[string]any{"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}}
		}, "grants iam:DeleteRolePolicy on roles without the DeliveryBoundary"},
		"boundary condition turned into StringLike": {func(m tmpl) {
			bySid(m, "ProviderRoleWrites", "BoundedRolePolicyWrite")["Condition"] = map[string]any{
				"StringLike": map[string]any{"iam:PermissionsBoundary": "*"}}
		}, "grants iam:PutRolePolicy on roles without the DeliveryBoundary"},
		"PassRole to Lambda": {func(m tmpl) {
			bySid(m, "ProviderRoleWrites", "PassRoleToCloudTrail")["Condition"] = map[string]any{
				"StringEquals": map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}}
		}, "passes roles to services other than CloudTrail"},
		"PassRole to a list of services": {func(m tmpl) {
			bySid(m, "RemediatorRoleWrites", "PassRoleToCloudTrail")["Condition"] = map[string]any{
				"StringEquals": map[string]any{"iam:PassedToService": []any{"cloudtrail.amazonaws.com", "ec2.amazonaws.com"}}}
		}, "passes roles to services other than CloudTrail"},
		"inline role policy": {func(m tmpl) {
			_, r := m.one(t, "AWS::IAM::Role", "RemediatorRole")
			props(r)["Policies"] = []any{map[string]any{"PolicyName": "x", "PolicyDocument": map[string]any{
				"Statement": []any{allow("iam:AttachRolePolicy")}}}}
		}, "grants iam:AttachRolePolicy"},
		"managed policy": {func(m tmpl) {
			_, p := m.one(t, "AWS::IAM::ManagedPolicy", "DeliveryBoundary")
			doc := props(p)["PolicyDocument"].(map[string]any)
			doc["Statement"] = append(doc["Statement"].([]any), allow("sts:AssumeRole"))
		}, "grants sts:AssumeRole"},
	}
	for name, mu := range mutations {
		t.Run(name, func(t *testing.T) {
			raw, err := json.Marshal(base)
			require.NoError(t, err)
			var m tmpl
			require.NoError(t, json.Unmarshal(raw, &m))
			mu.mutate(m)
			found := escalations(t, m, boundary)
			require.NotEmpty(t, found)
			assert.Contains(t, strings.Join(found, "\n"), mu.want)
			t.Logf("caught: %s", strings.Join(found, "; "))
		})
	}
}

// The delivery role is the only role trailguard writes unless an administrator gives another role the boundary:
// only CloudTrail of this account may assume it, it carries the boundary, and CloudFormation names it.
func TestDeliveryRoleTrustsOnlyCloudTrailAndCarriesTheBoundary(t *testing.T) {
	_, m := providerTemplate(t)
	boundaryID, boundary := m.one(t, "AWS::IAM::ManagedPolicy", "DeliveryBoundary")
	roleID, role := m.one(t, "AWS::IAM::Role", "DeliveryRole")
	p := props(role)
	assert.Equal(t, map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect":    "Allow",
		"Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"},
		"Action":    "sts:AssumeRole",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}},
	}}}, p["AssumeRolePolicyDocument"])
	assert.Equal(t, ref(boundaryID), p["PermissionsBoundary"])
	assert.Equal(t, "/trailguard/", p["Path"])
	for _, k := range []string{"RoleName", "Policies", "ManagedPolicyArns"} {
		assert.NotContains(t, p, k, "the provider puts the per-trail policies on the role at run time")
	}
	for id, pol := range m.resources("AWS::IAM::Policy") {
		assert.NotContains(t, jsonOf(t, props(pol)["Roles"]), roleID, "%s is attached to the delivery role", id)
	}
	// Every role that carries the boundary (the roles the functions can write) trusts CloudTrail alone.
	var bounded int
	for id, r := range m.resources("AWS::IAM::Role") {
		if jsonOf(t, props(r)["PermissionsBoundary"]) != jsonOf(t, ref(boundaryID)) {
			continue
		}
		bounded++
		for _, s := range props(r)["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any) {
			assert.Equal(t, map[string]any{"Service": "cloudtrail.amazonaws.com"}, s.(map[string]any)["Principal"], id)
		}
	}
	assert.Equal(t, 1, bounded)

	bp := props(boundary)
	for _, k := range []string{"Roles", "Users", "Groups", "ManagedPolicyName"} {
		assert.NotContains(t, bp, k, "the boundary grants nothing by attachment, and a fixed name collides across regions")
	}
	assert.Equal(t, map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid":      "CloudTrailLogStreamsOnly",
		"Effect":   "Allow",
		"Action":   []any{"logs:CreateLogStream", "logs:PutLogEvents"},
		"Resource": accountStreams,
	}}}, bp["PolicyDocument"], "the boundary allows nothing beyond writing the account's own CloudTrail log "+
		"streams: without an organization id, no organization trail's")
}

// accountStreams are the log streams a trail of the account writes, the boundary's first resource.
var accountStreams = join("arn:", partition, ":logs:*:", account, ":log-group:*:log-stream:", account, "_CloudTrail_*")

// boundaryResources are the resources of the delivery boundary's only statement.
func boundaryResources(t *testing.T, m tmpl) any {
	t.Helper()
	_, b := m.one(t, "AWS::IAM::ManagedPolicy", "DeliveryBoundary")
	stmts := props(b)["PolicyDocument"].(map[string]any)["Statement"].([]any)
	require.Len(t, stmts, 1)
	return stmts[0].(map[string]any)["Resource"]
}

// The boundary admits an organization trail's streams of the configured organization only: the standalone stack's
// from the context, the member's from the parameter the StackSet fills with the same id.
func TestTheDeliveryBoundaryNamesThisOrganizationOnly(t *testing.T) {
	standalone := build(t, map[string]any{stacks.CtxOrgOrganizationID: orgID})
	_, m := toTemplate(t, standalone.provider.Stack)
	assert.Equal(t, []any{accountStreams,
		join("arn:", partition, ":logs:*:", account, ":log-group:*:log-stream:"+orgID+"_*")}, boundaryResources(t, m))

	_, ts := orgTemplates(t)
	assert.Equal(t, []any{accountStreams,
		join("arn:", partition, ":logs:*:", account, ":log-group:*:log-stream:", ref(stacks.ParamOrganizationID), "_*")},
		boundaryResources(t, ts["member"]))
	assert.Equal(t, orgID, parameterValues(t, stackSetProps(t, ts["org"]))[stacks.ParamOrganizationID])
	p := ts["member"]["Parameters"].(map[string]any)[stacks.ParamOrganizationID].(map[string]any)
	re := regexp.MustCompile(p["AllowedPattern"].(string))
	for v, ok := range map[string]bool{orgID: true, "o-*": false, "o-a1b2c3d4e5*": false, "*": false, "": false, "o-short": false} {
		assert.Equal(t, ok, re.MatchString(v), "the parameter's pattern on %q", v)
	}
}

// TestBothFunctionsKnowTheOrganizationTheBoundaryAdmits: the functions refuse an organization trail of another
// organization (delivery.BoundaryOrganizationError) only if they are told which one the boundary admits: the
// context setting in a standalone stack, the OrganizationId parameter in a member, nothing when neither is set.
func TestBothFunctionsKnowTheOrganizationTheBoundaryAdmits(t *testing.T) {
	envOf := func(m tmpl, fn string) map[string]any {
		_, f := m.one(t, "AWS::Lambda::Function", fn)
		return props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
	}
	_, withOrg := toTemplate(t, build(t, map[string]any{stacks.CtxOrgOrganizationID: orgID}).provider.Stack)
	_, without := toTemplate(t, build(t, nil).provider.Stack)
	_, ts := orgTemplates(t)
	for _, fn := range []string{"Provider", "Remediator"} {
		assert.Equal(t, orgID, envOf(withOrg, fn)[lambdaenv.BoundaryOrganizationID], fn)
		assert.NotContains(t, envOf(without, fn), lambdaenv.BoundaryOrganizationID, fn)
		assert.Equal(t, ref(stacks.ParamOrganizationID), envOf(ts["member"], fn)[lambdaenv.BoundaryOrganizationID], fn)
	}
}

// A Go caller of NewProviderStack is held to the same rule as the context: an organization id of o-* or * would
// make the boundary admit every organization's trail streams. A valid id builds; an empty one means none.
func TestNewProviderStackRefusesAWildcardOrganizationID(t *testing.T) {
	for _, id := range []string{"o-*", "*", "o-a1b2c3d4e5*", "o-short"} {
		_, err := stacks.NewProviderStack(newApp(nil), "direct", &stacks.ProviderStackProps{AssetDir: distDir,
			OrganizationID: id})
		if assert.Error(t, err, "organization id %q", id) {
			assert.Contains(t, err.Error(), fmt.Sprintf("%q", id))
		}
	}
	s, err := stacks.NewProviderStack(newApp(nil), "direct", &stacks.ProviderStackProps{AssetDir: distDir,
		OrganizationID: orgID})
	require.NoError(t, err)
	_, m := toTemplate(t, s.Stack)
	assert.Equal(t, []any{accountStreams,
		join("arn:", partition, ":logs:*:", account, ":log-group:*:log-stream:"+orgID+"_*")}, boundaryResources(t, m))
}

// oWildcards lists every string in a policy statement of m that is an organization wildcard: o-* followed by
// anything, or a Fn::Join whose parts put a wildcard right after "o-".
func oWildcards(m tmpl) []string {
	var found []string
	var statements func(v any, path string)
	var leaves func(v any, path string)
	leaves = func(v any, path string) {
		switch x := v.(type) {
		case string:
			if strings.Contains(x, "o-*") {
				found = append(found, path+": "+x)
			}
		case map[string]any:
			if j, ok := x["Fn::Join"].([]any); ok {
				parts := j[1].([]any)
				for i := 0; i+1 < len(parts); i++ {
					a, _ := parts[i].(string)
					b, _ := parts[i+1].(string)
					if strings.HasSuffix(a, "o-") && strings.HasPrefix(b, "*") {
						found = append(found, path+": o- joined to "+b)
					}
				}
			}
			for k, e := range x {
				leaves(e, path+"."+k)
			}
		case []any:
			for i, e := range x {
				leaves(e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	statements = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "Statement" {
					leaves(e, path+"."+k)
					continue
				}
				statements(e, path+"."+k)
			}
		case []any:
			for i, e := range x {
				statements(e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	statements(m["Resources"], "Resources")
	return found
}

// No statement in any synthesized template grants an organization wildcard (o-*): not the standalone stack with
// or without an organization id, not the member, the StackSet or the code bucket stacks.
func TestNoTemplateGrantsAnOrganizationWildcard(t *testing.T) {
	templates := map[string]tmpl{"standalone": mustTemplate(t)}
	_, templates["standalone with organization"] = toTemplate(t,
		build(t, map[string]any{stacks.CtxOrgOrganizationID: orgID}).provider.Stack)
	_, ts := orgTemplates(t)
	for name, m := range ts {
		templates[name] = m
	}
	for name, m := range templates {
		assert.Empty(t, oWildcards(m), name)
	}
	// The check sees both forms a wildcard can take.
	assert.Len(t, oWildcards(tmpl{"Resources": map[string]any{"P": map[string]any{"Properties": map[string]any{
		"PolicyDocument": map[string]any{"Statement": []any{map[string]any{"Resource": []any{
			"arn:aws:logs:*:1:log-group:*:log-stream:o-*_*",
			join("arn:", partition, ":log-stream:o-", "*_*"),
		}}}}}}}}), 2)
}

func TestWildcardMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"iam:*", "iam:createrole", true}, {"iam:put*", "iam:putrolepolicy", true}, {"iam:*policy", "iam:putrolepolicy", true},
		{"iam:?etrole", "iam:getrole", true}, {"iam:getrole", "iam:getrole", true}, {"iam:get*", "iam:putrolepolicy", false},
		{"s3:*", "iam:createrole", false}, {"iam:createrol", "iam:createrole", false},
	} {
		assert.Equal(t, c.want, wildcardMatch(c.pattern, c.s), "%s ~ %s", c.pattern, c.s)
	}
}
