package stacks_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/iamsim"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/provider"
	"github.com/trailguard/trailguard/internal/registry"
)

// The grants are held to the calls here by an evaluator that is not ours: @cloud-copilot/iam-simulate (npm, pinned
// in package.json), run by internal/dev/iamsim. iam_test.go pins each statement as written; this file asks
// the evaluator whether each call a function makes is allowed on the resource it makes it on, and whether each
// escalating call is refused, with every statement of the role (explicit denies included) and, for the delivery
// role, its permissions boundary. moto never enforces IAM, so without this a missing grant shows up only on AWS.

const (
	simAccount   = "111111111111"
	simRegion    = "eu-west-1"
	simPartition = "aws"
	simOrgID     = "o-a1b2c3d4e5"
)

// apiClient is one AWS client interface a function calls through, and the IAM service prefix of its calls.
type apiClient struct {
	prefix string
	typ    reflect.Type
}

func clientOf[T any](prefix string) apiClient {
	return apiClient{prefix, reflect.TypeOf((*T)(nil)).Elem()}
}

// functionClients lists, per function, the interfaces its code reaches AWS through (functions/*/main.go builds
// them). Every method of each interface is an AWS call of the same name; a method added to one of them becomes a call
// this test requires a grant for, unless notCalled says the function never makes it.
var functionClients = map[string][]apiClient{
	"Provider": {
		clientOf[delivery.CloudTrailAPI]("cloudtrail"), clientOf[delivery.LogsAPI]("logs"),
		clientOf[delivery.IAMAPI]("iam"), clientOf[delivery.OrganizationsAPI]("organizations"),
		clientOf[registry.API]("dynamodb"), clientOf[notify.Publisher]("sns"), clientOf[provider.Stacks]("cloudformation"),
		clientOf[delivery.MetricFiltersAPI]("logs"), clientOf[delivery.AlarmsAPI]("cloudwatch"), clientOf[delivery.TopicsAPI]("sns"),
	},
	// The remediator of the account-wide template: it also adopts (through the engine: CloudTrailAPI, Organizations) and, with decision
	// events on, puts events on its bus.
	"Remediator": {
		clientOf[delivery.CloudTrailAPI]("cloudtrail"), clientOf[delivery.LogsAPI]("logs"),
		clientOf[delivery.IAMAPI]("iam"), clientOf[delivery.OrganizationsAPI]("organizations"),
		clientOf[registry.API]("dynamodb"), clientOf[notify.Publisher]("sns"),
		clientOf[delivery.MetricFiltersAPI]("logs"), clientOf[delivery.AlarmsAPI]("cloudwatch"), clientOf[delivery.TopicsAPI]("sns"),
	},
}

// delegatedAdministrators is the client the provider asks, in CloudTrail's delegated administrator account only.
var delegatedAdministrators = clientOf[delivery.AdministratorsAPI]("organizations")

// decisionEvents is the client a remediator calls through when its template turns decision events on.
var decisionEvents = clientOf[notify.EventPutter]("events")

// notCalled are the methods of a shared interface that a function never calls, and why. The engine's interfaces
// serve both functions; these calls belong to the provider's Create and Delete.
var notCalled = map[string]map[string]string{
	"Provider": {
		"logs:DeleteRetentionPolicy": "the provider's retention is 'forever' only for a reused group that already keeps " +
			"its events forever (delivery.resolveRetention), so its reconcile never removes a retention",
	},
	"Remediator": {
		"cloudtrail:RemoveTags":    "only Delete removes the registration tag (provider)",
		"logs:DeleteLogGroup":      "only Delete removes a group its registration created (provider)",
		"logs:ListTagsForResource": "only Delete reads a group's tags before removing it (provider)",
		"iam:DeleteRolePolicy":     "only Delete removes a trail's role policy (provider)",
		"dynamodb:DeleteItem":      "only Delete removes a registration (provider)",
		"logs:DeleteMetricFilter":  "only Delete and a switch-off remove the CIS pack (provider)",
		"cloudwatch:DeleteAlarms":  "only Delete and a switch-off remove the CIS pack (provider)",
	},
}

// impliedCalls are calls AWS makes with the function's credentials on its behalf, beside the API call itself.
var impliedCalls = map[string][]string{
	// UpdateTrail with CloudWatchLogsRoleArn passes the role to CloudTrail.
	"cloudtrail:UpdateTrail": {"iam:PassRole"},
	// An encrypted topic (trailguard:customerManagedKey, or a member's central topic): Publish needs the key.
	"sns:Publish": {"kms:GenerateDataKey", "kms:Decrypt"},
	// The CIS pack's alarms are created with tags.
	"cloudwatch:PutMetricAlarm": {"cloudwatch:TagResource"},
}

// simRequest is one call: an action on a resource, with the request's condition context.
type simRequest struct {
	action, resource string
	context          map[string]any
}

// arns are the concrete names of one synthesized template's resources, as the functions see them at run time, and
// the resource policies of those that have one (key policy, topic and queue policies, the table's policy).
type arns struct {
	table, topic, key, boundary, deliveryRole, queue, bus string
	policies                                              map[string]any
}

// requestsFor returns the requests one call makes, on the resources the code makes it on.
func requestsFor(action string, a arns) []simRequest {
	trail := fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/audit", simPartition, simRegion, simAccount)
	group := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:audit-logs", simPartition, simRegion, simAccount)
	service, name, _ := strings.Cut(action, ":")
	switch {
	case action == "logs:DescribeMetricFilters":
		return []simRequest{{action, group, nil}}
	case strings.HasPrefix(name, "Describe") && (service == "cloudtrail" || service == "logs" || service == "organizations"),
		action == "organizations:ListDelegatedAdministrators":
		return []simRequest{{action, "*", nil}}
	case action == "sns:GetSubscriptionAttributes":
		return []simRequest{{action, "*", nil}} // SNS has no subscription resource type
	case action == "logs:DeleteLogGroup":
		return []simRequest{{action, group, map[string]any{"aws:ResourceTag/trailguard:created-by": "trailguard"}}}
	case action == "iam:PutRolePolicy" || action == "iam:DeleteRolePolicy":
		return []simRequest{{action, a.deliveryRole, map[string]any{"iam:PermissionsBoundary": a.boundary}}}
	case action == "iam:PassRole":
		return []simRequest{{action, a.deliveryRole, map[string]any{"iam:PassedToService": "cloudtrail.amazonaws.com"}}}
	}
	switch service {
	case "cloudtrail":
		return []simRequest{{action, trail, nil}}
	case "logs":
		return []simRequest{{action, group, nil}}
	case "iam":
		return []simRequest{{action, a.deliveryRole, nil}}
	case "dynamodb":
		return []simRequest{{action, a.table, nil}}
	case "sns":
		return []simRequest{{action, a.topic, nil}}
	case "kms":
		return []simRequest{{action, a.key, nil}}
	case "events":
		return []simRequest{{action, a.bus, nil}}
	case "cloudwatch":
		return []simRequest{{action, fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:trailguard-cis-audit-root-usage", simPartition, simRegion, simAccount), nil}}
	case "cloudformation":
		return []simRequest{{action, fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/app/0f3c5a40-8f2b-11ef-9f3a-0a1b2c3d4e5f",
			simPartition, simRegion, simAccount), nil}}
	}
	return nil
}

// callsOf lists the IAM actions a function's code makes, implied calls included, sorted.
func callsOf(fn string, clients []apiClient) []string {
	seen := map[string]bool{}
	for _, c := range clients {
		for i := range c.typ.NumMethod() {
			action := c.prefix + ":" + c.typ.Method(i).Name
			if _, skip := notCalled[fn][action]; skip {
				continue
			}
			seen[action] = true
			for _, implied := range impliedCalls[action] {
				seen[implied] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// resolve replaces CloudFormation's intrinsic functions in v with the concrete values a deployed stack would have:
// pseudo parameters, Ref and Fn::GetAtt of the template's resources (by resource type), and Fn::Join.
func resolve(t *testing.T, m tmpl, v any) any {
	t.Helper()
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolve(t, m, e)
		}
		return out
	case map[string]any:
		if r, ok := x["Ref"].(string); ok && len(x) == 1 {
			return refValue(t, m, r)
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok && len(x) == 1 {
			require.Equal(t, "Arn", g[1], "only Arn attributes are resolved: %v", g)
			return arnOf(t, m, g[0].(string))
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(x) == 1 {
			var parts []string
			for _, p := range resolve(t, m, j[1]).([]any) {
				parts = append(parts, p.(string))
			}
			return strings.Join(parts, j[0].(string))
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolve(t, m, e)
		}
		return out
	}
	return v
}

func refValue(t *testing.T, m tmpl, id string) string {
	t.Helper()
	switch id {
	case "AWS::Partition":
		return simPartition
	case "AWS::Region":
		return simRegion
	case "AWS::AccountId":
		return simAccount
	}
	r, ok := m["Resources"].(map[string]any)[id].(map[string]any)
	require.True(t, ok, "Ref to %s: not a resource of the template", id)
	switch r["Type"] {
	case "AWS::SNS::Topic", "AWS::IAM::ManagedPolicy":
		return arnOf(t, m, id)
	}
	return id // a resource whose Ref is its name
}

func arnOf(t *testing.T, m tmpl, id string) string {
	t.Helper()
	r := m["Resources"].(map[string]any)[id].(map[string]any)
	p, _ := r["Properties"].(map[string]any)
	prefix := fmt.Sprintf("arn:%s:", simPartition)
	switch r["Type"] {
	case "AWS::DynamoDB::Table":
		return fmt.Sprintf("%sdynamodb:%s:%s:table/%s", prefix, simRegion, simAccount, id)
	case "AWS::SNS::Topic":
		return fmt.Sprintf("%ssns:%s:%s:%s", prefix, simRegion, simAccount, id)
	case "AWS::KMS::Key":
		return fmt.Sprintf("%skms:%s:%s:key/%s", prefix, simRegion, simAccount, "0f3c5a40-8f2b-11ef-9f3a-0a1b2c3d4e5f")
	case "AWS::SQS::Queue":
		return fmt.Sprintf("%ssqs:%s:%s:%s", prefix, simRegion, simAccount, id)
	case "AWS::Logs::LogGroup":
		return fmt.Sprintf("%slogs:%s:%s:log-group:%s:*", prefix, simRegion, simAccount, id)
	case "AWS::IAM::Role", "AWS::IAM::ManagedPolicy":
		kind := map[any]string{"AWS::IAM::Role": "role", "AWS::IAM::ManagedPolicy": "policy"}[r["Type"]]
		path, _ := p["Path"].(string)
		if path == "" {
			path = "/"
		}
		return fmt.Sprintf("%siam::%s:%s%s%s", prefix, simAccount, kind, path, id)
	}
	t.Fatalf("no ARN for %s (%s): teach arnOf this resource type", id, r["Type"])
	return ""
}

// rolePolicies returns every identity policy attached to a role, intrinsics resolved: AWS::IAM::Policy resources
// naming it, and its inline policies.
func rolePolicies(t *testing.T, m tmpl, roleID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for id, p := range m.resources("AWS::IAM::Policy") {
		if jsonOf(t, props(p)["Roles"]) == jsonOf(t, []any{ref(roleID)}) {
			out = append(out, map[string]any{"name": id, "policy": resolve(t, m, props(p)["PolicyDocument"])})
		}
	}
	role := m["Resources"].(map[string]any)[roleID].(map[string]any)
	inline, _ := props(role)["Policies"].([]any)
	for i, ip := range inline {
		out = append(out, map[string]any{"name": fmt.Sprintf("%s.Policies[%d]", roleID, i),
			"policy": resolve(t, m, ip.(map[string]any)["PolicyDocument"])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	return out
}

// simulation is one iam-simulate input.
type simulation struct {
	IdentityPolicies        []map[string]any `json:"identityPolicies"`
	ResourcePolicy          any              `json:"resourcePolicy,omitempty"`
	PermissionBoundaries    []map[string]any `json:"permissionBoundaryPolicies,omitempty"`
	ServiceControlPolicies  []any            `json:"serviceControlPolicies"`
	ResourceControlPolicies []any            `json:"resourceControlPolicies"`
	Request                 map[string]any   `json:"request"`
}

// simulate runs the independent evaluator on sims, in one node process.
func simulate(t *testing.T, sims []simulation) []iamsim.Result {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	res, err := iamsim.Run(root, sims)
	require.NoError(t, err)
	return res
}

// request is the evaluator's request: every call is made over TLS by the principal named.
func request(principal string, r simRequest) map[string]any {
	ctx := map[string]any{"aws:SecureTransport": "true", "aws:PrincipalArn": principal, "aws:PrincipalAccount": simAccount}
	for k, v := range r.context {
		ctx[k] = v
	}
	return map[string]any{"action": r.action, "principal": principal,
		"resource": map[string]any{"accountId": simAccount, "resource": r.resource}, "contextVariables": ctx}
}

// templateARNs names the template's resources the functions call.
func templateARNs(t *testing.T, m tmpl) arns {
	return arns{
		table:        arnOf(t, m, mustID(t, m, "AWS::DynamoDB::Table", "Registry")),
		topic:        arnOf(t, m, mustID(t, m, "AWS::SNS::Topic", "Notifications")),
		key:          keyARN(t, m),
		boundary:     arnOf(t, m, mustID(t, m, "AWS::IAM::ManagedPolicy", "DeliveryBoundary")),
		deliveryRole: arnOf(t, m, mustID(t, m, "AWS::IAM::Role", "DeliveryRole")),
		queue:        arnOf(t, m, mustID(t, m, "AWS::SQS::Queue", "RemediatorFailures")),
		bus:          fmt.Sprintf("arn:%s:events:%s:%s:event-bus/default", simPartition, simRegion, simAccount),
		policies:     resourcePolicies(t, m),
	}
}

// keyARN is the stack's customer managed key, or "" when it has none (trailguard:customerManagedKey unset): the
// topic is then unencrypted and Publish implies no KMS call.
func keyARN(t *testing.T, m tmpl) string {
	if len(m.resources("AWS::KMS::Key")) == 0 {
		return ""
	}
	return arnOf(t, m, mustID(t, m, "AWS::KMS::Key", "Key"))
}

// resourcePolicies returns the resource policy of each resource of m that has one, by the resource's ARN.
func resourcePolicies(t *testing.T, m tmpl) map[string]any {
	out := map[string]any{}
	for id, r := range m["Resources"].(map[string]any) {
		r := r.(map[string]any)
		p, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::KMS::Key":
			out[arnOf(t, m, id)] = resolve(t, m, p["KeyPolicy"])
		case "AWS::DynamoDB::Table":
			if rp, ok := p["ResourcePolicy"].(map[string]any); ok {
				out[arnOf(t, m, id)] = resolve(t, m, rp["PolicyDocument"])
			}
		case "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy":
			targets, _ := p["Topics"].([]any)
			if q, ok := p["Queues"].([]any); ok {
				targets = q
			}
			for _, target := range targets {
				ref, ok := target.(map[string]any)["Ref"].(string)
				require.True(t, ok, "%s names its target by Ref", id)
				out[arnOf(t, m, ref)] = resolve(t, m, p["PolicyDocument"])
			}
		}
	}
	return out
}

// evaluation is one question put to the evaluator, and the answer it must give.
type evaluation struct {
	what string
	sim  simulation
	want string
}

// functionEvaluations asks, for each function role of m: is each call the code makes allowed on its resource, and
// is each escalating call (escalation_test.go's lists) refused?
func functionEvaluations(t *testing.T, m tmpl) []evaluation {
	a := templateARNs(t, m)
	var out []evaluation
	for _, fn := range []string{"Provider", "Remediator"} {
		roleID := mustID(t, m, "AWS::IAM::Role", fn+"Role")
		principal := arnOf(t, m, roleID)
		policies := rolePolicies(t, m, roleID)
		ask := func(what string, r simRequest, want string) {
			out = append(out, evaluation{fmt.Sprintf("%s: %s %s on %s", fn, what, r.action, r.resource),
				simulation{IdentityPolicies: policies, ResourcePolicy: a.policies[r.resource], ServiceControlPolicies: []any{},
					ResourceControlPolicies: []any{}, Request: request(principal, r)}, want})
		}
		clients := functionClients[fn]
		_, f := m.one(t, "AWS::Lambda::Function", fn)
		if props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)[lambdaenv.DecisionEvents] == "true" {
			clients = append(clients, decisionEvents)
		}
		if fn == "Provider" && props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)[lambdaenv.ManagementAccountID] != nil {
			clients = append(clients, delegatedAdministrators)
		}
		calls := callsOf(fn, clients)
		if a.key == "" { // an unencrypted topic: Publish implies no KMS call, and no KMS key is usable at all
			calls = slices.DeleteFunc(calls, func(c string) bool { return strings.HasPrefix(c, "kms:") })
			anyKey := fmt.Sprintf("arn:%s:kms:%s:%s:key/0f3c5a40-8f2b-11ef-9f3a-0a1b2c3d4e5f", simPartition, simRegion, simAccount)
			ask("without a customer managed key must not use a KMS key:", simRequest{"kms:Decrypt", anyKey, nil}, "denied")
			ask("without a customer managed key must not use a KMS key:", simRequest{"kms:GenerateDataKey", anyKey, nil}, "denied")
		}
		if fn == "Remediator" {
			calls = append(calls, "sqs:SendMessage") // the on-failure destination, sent by Lambda with the role
		}
		for _, action := range calls {
			rs := requestsFor(action, a)
			if action == "sqs:SendMessage" {
				rs = []simRequest{{action, a.queue, nil}}
			}
			require.NotEmpty(t, rs, "%s calls %s: requestsFor must say on which resource", fn, action)
			for _, r := range rs {
				ask("calls", r, "Allowed")
			}
		}
		for _, action := range escalatingActions {
			ask("must not escalate with", simRequest{action, escalationTarget(action, a), nil}, "denied")
		}
		for _, action := range boundedActions {
			other := fmt.Sprintf("arn:%s:iam::%s:policy/AdministratorAccess", simPartition, simAccount)
			ask("must not write a role without the boundary:", simRequest{action, a.deliveryRole,
				map[string]any{"iam:PermissionsBoundary": other}}, "denied")
			ask("must not write a role with no boundary:", simRequest{action, a.deliveryRole, nil}, "denied")
		}
		ask("must not pass a role to another service:", simRequest{"iam:PassRole", a.deliveryRole,
			map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}}, "denied")
	}
	return out
}

// escalationTarget is a resource of the type an escalating action acts on: the delivery role where it is a role.
func escalationTarget(action string, a arns) string {
	iam := fmt.Sprintf("arn:%s:iam::%s:", simPartition, simAccount)
	_, name, _ := strings.Cut(action, ":")
	switch {
	case strings.Contains(name, "Group"):
		return iam + "group/admins"
	case strings.Contains(name, "User") || strings.Contains(name, "AccessKey") || strings.Contains(name, "LoginProfile"):
		return iam + "user/alice"
	case strings.Contains(name, "Policy") && !strings.Contains(name, "Role"):
		return a.boundary
	}
	return a.deliveryRole
}

// deliveryEvaluations asks whether CloudTrail, using the delivery role, may write the streams a trail's role policy
// (delivery.Target.RolePolicy, as the engine writes it) names, under the role's permissions boundary; and whether
// the boundary caps a role policy that asks for more.
func deliveryEvaluations(t *testing.T, m tmpl, orgTrail bool) []evaluation {
	roleID := mustID(t, m, "AWS::IAM::Role", "DeliveryRole")
	_, boundary := m.one(t, "AWS::IAM::ManagedPolicy", "DeliveryBoundary")
	bound := []map[string]any{{"name": "DeliveryBoundary", "policy": resolve(t, m, props(boundary)["PolicyDocument"])}}
	target := delivery.Target{Partition: simPartition, HomeRegion: simRegion, Account: simAccount, LogGroupName: "audit-logs"}
	if orgTrail {
		target.OrgID = simOrgID
	}
	var rolePolicy map[string]any
	require.NoError(t, json.Unmarshal([]byte(target.RolePolicy()), &rolePolicy))
	greedy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": "logs:*", "Resource": "*"}}}
	streamPrefix := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:audit-logs:log-stream:", simPartition, simRegion, simAccount)
	var out []evaluation
	ask := func(what string, policy map[string]any, action, res, want string) {
		out = append(out, evaluation{fmt.Sprintf("DeliveryRole: %s %s on %s", what, action, res), simulation{
			IdentityPolicies: []map[string]any{{"name": "trail", "policy": policy}}, PermissionBoundaries: bound,
			ServiceControlPolicies: []any{}, ResourceControlPolicies: []any{},
			Request: request(arnOf(t, m, roleID), simRequest{action, res, nil})}, want})
	}
	streams := []string{streamPrefix + simAccount + "_CloudTrail_" + simRegion}
	if orgTrail {
		streams = append(streams, streamPrefix+simOrgID+"_222222222222_CloudTrail_"+simRegion)
	}
	for _, s := range streams {
		for _, action := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
			ask("CloudTrail delivers with", rolePolicy, action, s, "Allowed")
		}
	}
	ask("the boundary caps", greedy, "logs:DeleteLogGroup", fmt.Sprintf("arn:%s:logs:%s:%s:log-group:audit-logs", simPartition, simRegion, simAccount), "denied")
	ask("the boundary caps", greedy, "logs:PutLogEvents", streamPrefix+"222222222222_CloudTrail_"+simRegion, "denied")
	return out
}

// judge runs the evaluations and reports each answer that is not the one wanted; "denied" takes either denial.
func judge(t *testing.T, evals []evaluation) {
	t.Helper()
	sims := make([]simulation, len(evals))
	for i, e := range evals {
		sims[i] = e.sim
	}
	for i, r := range simulate(t, sims) {
		e := evals[i]
		switch {
		case r.Error != "":
			t.Errorf("%s: the evaluator refused the question: %s", e.what, r.Error)
		case e.want == "denied" && r.Result == "Allowed":
			t.Errorf("%s: allowed, must be denied", e.what)
		case e.want == "Allowed" && r.Result != "Allowed":
			t.Errorf("%s: %s, must be allowed (a grant the code needs is missing)", e.what, r.Result)
		}
	}
}

// TestAnIndependentEvaluatorAllowsEveryCallAndNoEscalation evaluates the account-wide provider template with an
// organization id (the remediator's widest standalone shape: adoption on, the boundary admitting o-ORGID_* streams).
// It does so without and with the customer managed key (trailguard:customerManagedKey).
func TestAnIndependentEvaluatorAllowsEveryCallAndNoEscalation(t *testing.T) {
	for _, key := range []string{"false", "true"} {
		t.Run("customerManagedKey="+key, func(t *testing.T) {
			s := build(t, map[string]any{stacks.CtxAccountWide: "true", stacks.CtxOrgOrganizationID: simOrgID,
				stacks.CtxCustomerManagedKey: key})
			_, m := toTemplate(t, s.provider.Stack)
			evals := functionEvaluations(t, m)
			evals = append(evals, deliveryEvaluations(t, m, false)...)
			evals = append(evals, deliveryEvaluations(t, m, true)...)
			judge(t, evals)
		})
	}
}
