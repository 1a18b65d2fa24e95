package localrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// standaloneTemplate is the provider stack's template as the CDK app synthesizes it, pinned by the infra snapshot
// test (infra/stacks/snapshot_test.go); localrun.MemberTemplate is the organization member's.
const standaloneTemplate = "infra/stacks/testdata/trailguard.template.json"

// Removing trailguard (make destroy) must leave every trail it wired delivering. moto's CloudFormation creates the
// delivery role and its boundary exactly as the standalone template declares them, DeletionPolicy included (moto
// keeps a resource whose DeletionPolicy is Retain); the provider wires a trail with them; the stack is deleted; the
// trail, its role, the role's per-trail policy and its boundary are all still there, and a remediator sweep finds
// nothing to repair.
func TestRemovingTrailguardLeavesTheTrailDelivering(t *testing.T) {
	testbed.NeedMoto(t)
	for shape, template := range map[string]string{"standalone": standaloneTemplate, "member": localrun.MemberTemplate} {
		t.Run(shape, func(t *testing.T) { removeAndCheckDelivery(t, template) })
	}
}

func removeAndCheckDelivery(t *testing.T, template string) {
	ctx := context.Background()
	s, err := localrun.NewSession(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.LaunchAWS(ctx))
	require.NoError(t, s.CreateWorld(ctx))
	a := s.AWS()

	cfn := cloudformation.NewFromConfig(s.Moto().Config(testbed.Region))
	body, params := deliveryPart(t, template)
	_, err = cfn.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("trailguard"),
		TemplateBody: aws.String(body), Parameters: params, Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}})
	require.NoError(t, err)
	outputs := stackOutputs(ctx, t, cfn)
	roleARN, boundaryARN := outputs["DeliveryRoleArn"], outputs["DeliveryBoundaryArn"]
	require.NotEmpty(t, roleARN)
	require.NotEmpty(t, boundaryARN)
	env := func(fn string) []string {
		return append(s.LocalEnv(fn), lambdaenv.DeliveryRoleARN+"="+roleARN, lambdaenv.DeliveryBoundaryARN+"="+boundaryARN)
	}

	raw, err := localrun.ReadEvent("events/provider/create.json")
	require.NoError(t, err)
	raw, err = localrun.WithLocalResponseURL(raw, s.Responses())
	require.NoError(t, err)
	p, err := s.StartFunction(localrun.Provider, env(localrun.Provider))
	require.NoError(t, err)
	res, err := p.Invoke(ctx, raw)
	require.NoError(t, err)
	require.Nil(t, res.Error)
	got, err := s.Responses().WaitFor(10 * time.Second)
	require.NoError(t, err)
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	trail := s.World().TrailName
	require.Equal(t, roleARN, trailRole(ctx, t, a, trail), "the provider wired the trail with the stack's delivery role")

	// make destroy.
	_, err = cfn.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("trailguard")})
	require.NoError(t, err)
	list, err := cfn.ListStacks(ctx, &cloudformation.ListStacksInput{})
	require.NoError(t, err)
	for _, st := range list.StackSummaries {
		assert.Equal(t, cfntypes.StackStatusDeleteComplete, st.StackStatus, "the stack is gone")
	}

	roleName := roleARN[strings.LastIndex(roleARN, "/")+1:]
	role, err := a.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
	require.NoError(t, err, "the delivery role outlives the stack")
	require.NotNil(t, role.Role.PermissionsBoundary)
	assert.Equal(t, boundaryARN, aws.ToString(role.Role.PermissionsBoundary.PermissionsBoundaryArn))
	_, err = a.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(boundaryARN)})
	assert.NoError(t, err, "the boundary outlives the stack")
	policies, err := a.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(roleName)})
	require.NoError(t, err)
	assert.Len(t, policies.PolicyNames, 1, "the trail's own policy, which lets CloudTrail write its log group")
	assert.Equal(t, roleARN, trailRole(ctx, t, a, trail), "the trail still delivers with it")

	// trailguard's own check agrees: a sweep (of the registry, retained too) finds nothing to repair.
	r, err := s.StartFunction(localrun.Remediator, env(localrun.Remediator))
	require.NoError(t, err)
	sweep, err := localrun.ReadEvent("events/remediator/sweep.json")
	require.NoError(t, err)
	res, err = r.Invoke(ctx, sweep)
	require.NoError(t, err)
	require.Nil(t, res.Error)
	lines, err := r.Tail(20)
	require.NoError(t, err)
	var actions []string
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "decision" {
			actions = append(actions, fmt.Sprint(m["action"], " ", m["trail_arn"], " drift ", toJSON(m["drift"])))
		}
	}
	assert.Equal(t, []string{"none " + s.World().TrailARN + " drift []"}, actions)
}

// deliveryPart is a template's delivery role and boundary, with their attributes (DeletionPolicy among them) as
// synthesized, the parameters they use, and outputs naming them: the rest of the template (functions from CDK
// assets or code buckets, the bootstrap version check) needs what moto does not model.
func deliveryPart(t *testing.T, template string) (string, []cfntypes.Parameter) {
	raw, err := localrun.ReadEvent(template)
	require.NoError(t, err)
	var tpl struct {
		Parameters map[string]any
		Resources  map[string]map[string]any
	}
	require.NoError(t, json.Unmarshal(raw, &tpl))
	part := map[string]any{}
	ids := map[string]string{}
	for id, r := range tpl.Resources {
		for _, prefix := range []string{"DeliveryRole", "DeliveryBoundary"} {
			if strings.HasPrefix(id, prefix) {
				delete(r, "Metadata")
				part[id], ids[prefix] = r, id
			}
		}
	}
	require.Len(t, part, 2, "the template has one delivery role and one boundary")
	used := map[string]any{}
	var params []cfntypes.Parameter
	for name, p := range tpl.Parameters {
		if strings.Contains(toJSON(part), `{"Ref":"`+name+`"}`) {
			require.Equal(t, "OrganizationId", name, "a parameter this test does not know")
			used[name] = p
			params = append(params, cfntypes.Parameter{ParameterKey: aws.String(name), ParameterValue: aws.String("o-a1b2c3d4e5")})
		}
	}
	doc := map[string]any{"Resources": part, "Outputs": map[string]any{
		"DeliveryRoleArn":     map[string]any{"Value": map[string]any{"Fn::GetAtt": []string{ids["DeliveryRole"], "Arn"}}},
		"DeliveryBoundaryArn": map[string]any{"Value": map[string]any{"Ref": ids["DeliveryBoundary"]}},
	}}
	if len(used) > 0 {
		doc["Parameters"] = used
	}
	return toJSON(doc), params
}

func stackOutputs(ctx context.Context, t *testing.T, cfn *cloudformation.Client) map[string]string {
	t.Helper()
	d, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("trailguard")})
	require.NoError(t, err)
	require.Len(t, d.Stacks, 1)
	require.Equal(t, cfntypes.StackStatusCreateComplete, d.Stacks[0].StackStatus, aws.ToString(d.Stacks[0].StackStatusReason))
	out := map[string]string{}
	for _, o := range d.Stacks[0].Outputs {
		out[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return out
}

func trailRole(ctx context.Context, t *testing.T, a *testbed.AWS, name string) string {
	t.Helper()
	got, err := a.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(name)})
	require.NoError(t, err)
	return aws.ToString(got.Trail.CloudWatchLogsRoleArn)
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
