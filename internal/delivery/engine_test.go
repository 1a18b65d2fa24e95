package delivery_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/spec"
	"github.com/trailguard/trailguard/internal/testbed"
)

func TestMain(m *testing.M) { os.Exit(testbed.RunWithMoto(m)) }

const region = "us-east-1"

var caller = delivery.Caller{Partition: "aws", Account: testbed.Account}

type fixture struct {
	ctx    context.Context
	moto   *testbed.Moto
	aws    *testbed.AWS
	faults *testbed.Faults
	rec    *testbed.Recorder
	engine *delivery.Engine
}

// newFixture resets moto and returns an engine whose calls are recorded and can be faulted.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	m := testbed.StartMoto(t)
	f := &fixture{ctx: context.Background(), moto: m, faults: testbed.NewFaults(), rec: &testbed.Recorder{}}
	f.aws = testbed.NewAWS(m.Config(region))
	cfg := m.Config(region, testbed.WithFaults(f.faults), testbed.WithRecorder(f.rec))
	f.engine = delivery.New(delivery.NewClients(cfg), region,
		delivery.WithPropagationBackoff(time.Millisecond, 5*time.Millisecond, 5*time.Second))
	return f
}

func (f *fixture) trail(t *testing.T, name string) spec.TrailARN {
	t.Helper()
	a, err := f.aws.CreateTrail(f.ctx, name, testbed.TrailOptions{})
	require.NoError(t, err)
	trail, err := spec.ParseTrailARN(a)
	require.NoError(t, err)
	return trail
}

func (f *fixture) resolve(t *testing.T, s spec.Spec) delivery.Target {
	t.Helper()
	if s.Remediation == "" {
		s.Remediation, s.EnforceLogging = spec.Enforce, true
	}
	target, err := f.engine.Resolve(f.ctx, caller, s)
	require.NoError(t, err)
	return target
}

func (f *fixture) getTrail(t *testing.T, arn string) (group, role string) {
	t.Helper()
	group, role, err := f.aws.TrailLink(f.ctx, arn)
	require.NoError(t, err)
	return group, role
}

func (f *fixture) rolePolicy(t *testing.T, role, policy string) string {
	t.Helper()
	doc, err := f.aws.RolePolicy(f.ctx, role, policy)
	require.NoError(t, err)
	return doc
}

func (f *fixture) logGroupExists(t *testing.T, name string) bool {
	t.Helper()
	_, found, err := f.aws.LogGroup(f.ctx, name)
	require.NoError(t, err)
	return found
}

func TestReconcileWiresNewLogGroupAndDefaultRole(t *testing.T) {
	f := newFixture(t)
	trail := f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail"})

	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	assert.True(t, res.Converged(target), "remaining drift: %v", res.Remaining)
	assert.Equal(t, []string{"CreateLogGroup", "PutRetentionPolicy", "CreateRole", "PutRolePolicy", "UpdateTrail"}, res.Actions)

	group, role := f.getTrail(t, trail.String())
	assert.Equal(t, "arn:aws:logs:us-east-1:123456789012:log-group:aws-cloudtrail-logs-123456789012-management-trail:*", group)
	assert.Equal(t, "arn:aws:iam::123456789012:role/trailguard/CloudTrail_CloudWatchLogs_Role", role)

	doc := f.rolePolicy(t, "CloudTrail_CloudWatchLogs_Role", "trailguard-us-east-1-management-trail")
	assert.JSONEq(t, `{"Version":"2012-10-17","Statement":[
		{"Sid":"AWSCloudTrailCreateLogStream","Effect":"Allow","Action":["logs:CreateLogStream"],
		 "Resource":["arn:aws:logs:us-east-1:123456789012:log-group:aws-cloudtrail-logs-123456789012-management-trail:log-stream:123456789012_CloudTrail_us-east-1*"]},
		{"Sid":"AWSCloudTrailPutLogEvents","Effect":"Allow","Action":["logs:PutLogEvents"],
		 "Resource":["arn:aws:logs:us-east-1:123456789012:log-group:aws-cloudtrail-logs-123456789012-management-trail:log-stream:123456789012_CloudTrail_us-east-1*"]}]}`, doc)

	groups, err := f.aws.Logs.DescribeLogGroups(f.ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(target.LogGroupName)})
	require.NoError(t, err)
	require.Len(t, groups.LogGroups, 1)
	assert.Equal(t, int32(365), aws.ToInt32(groups.LogGroups[0].RetentionInDays))

	// Run twice: the second run reads and writes nothing.
	f.rec.Reset()
	res, err = f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	assert.Empty(t, res.Found)
	assert.Empty(t, f.rec.Writes(), "an idempotent run must not write")
}

func TestReconcileAttachesPolicyToExistingRole(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "app-trail")
	_, err := f.aws.IAM.CreateRole(f.ctx, &iam.CreateRoleInput{
		RoleName: aws.String("CloudTrail_CloudWatchLogs_Role"), AssumeRolePolicyDocument: aws.String(delivery.TrustPolicy()),
	})
	require.NoError(t, err)
	target := f.resolve(t, spec.Spec{TrailName: "app-trail"})
	assert.Equal(t, "/", target.RolePath, "an existing role keeps its path")

	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	assert.NotContains(t, res.Actions, "CreateRole")
	assert.Contains(t, res.Actions, "PutRolePolicy")
	_, role := f.getTrail(t, target.TrailARN)
	assert.Equal(t, "arn:aws:iam::123456789012:role/CloudTrail_CloudWatchLogs_Role", role)
	assert.Contains(t, f.rolePolicy(t, target.RoleName, target.PolicyName), "log-stream:123456789012_CloudTrail_us-east-1*")
}

func TestOrganizationTrailGetsOrgStreamPrefix(t *testing.T) {
	f := newFixture(t)
	org, err := f.aws.Organizations.CreateOrganization(f.ctx, &organizations.CreateOrganizationInput{})
	require.NoError(t, err)
	orgID := aws.ToString(org.Organization.Id)
	_, err = f.aws.CreateTrail(f.ctx, "org-trail", testbed.TrailOptions{Organization: true})
	require.NoError(t, err)

	target := f.resolve(t, spec.Spec{TrailName: "org-trail"})
	assert.Equal(t, orgID, target.OrgID)
	_, err = f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	doc := f.rolePolicy(t, target.RoleName, target.PolicyName)
	assert.Contains(t, doc, ":log-stream:123456789012_CloudTrail_us-east-1*")
	assert.Contains(t, doc, ":log-stream:"+orgID+"_*")
}

func TestRemoveKeepsSharedRoleAndLogGroup(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "trail-one")
	f.trail(t, "trail-two")
	one := f.resolve(t, spec.Spec{TrailName: "trail-one"})
	two := f.resolve(t, spec.Spec{TrailName: "trail-two"})
	for _, target := range []delivery.Target{one, two} {
		_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
		require.NoError(t, err)
	}

	actions, err := f.engine.Remove(f.ctx, one, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"UpdateTrail", "DeleteRolePolicy"}, actions, "the shared role still holds trail-two's policy")
	group, role := f.getTrail(t, one.TrailARN)
	assert.Empty(t, group)
	assert.Empty(t, role)
	assert.Contains(t, f.rolePolicy(t, two.RoleName, two.PolicyName), "trail-two")
	assert.True(t, f.logGroupExists(t, one.LogGroupName), "the log group and its data are kept")

	actions, err = f.engine.Remove(f.ctx, two, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"UpdateTrail", "DeleteRolePolicy", "DeleteRole", "DeleteLogGroup"}, actions)
	assert.False(t, f.logGroupExists(t, two.LogGroupName))

	// Twice is safe and changes nothing.
	f.rec.Reset()
	actions, err = f.engine.Remove(f.ctx, two, true)
	require.NoError(t, err)
	assert.Empty(t, actions)
	assert.Empty(t, f.rec.Writes())
}

func TestRemoveNeverDeletesALogGroupTrailguardDidNotCreate(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "audit-trail")
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("team-audit")})
	require.NoError(t, err)
	target := f.resolve(t, spec.Spec{TrailName: "audit-trail", LogGroupName: "team-audit"})
	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	assert.NotContains(t, res.Actions, "CreateLogGroup")

	actions, err := f.engine.Remove(f.ctx, target, true)
	require.NoError(t, err)
	assert.NotContains(t, actions, "DeleteLogGroup")
	assert.True(t, f.logGroupExists(t, "team-audit"))
}

func TestCheckFindsEachDriftAndApplyRepairsIt(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(f *fixture, target delivery.Target) error
		want   []delivery.DriftKind
	}{
		{"trail unlinked", func(f *fixture, target delivery.Target) error {
			_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(target.TrailName),
				CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
			return err
		}, []delivery.DriftKind{delivery.TrailUnlinked}},
		{"trail linked elsewhere", func(f *fixture, target delivery.Target) error {
			_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(target.TrailName),
				CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:sink:*"),
				CloudWatchLogsRoleArn:     aws.String(target.RoleARN())})
			return err
		}, []delivery.DriftKind{delivery.TrailLinkedElsewhere}},
		{"log group deleted", func(f *fixture, target delivery.Target) error {
			_, err := f.aws.Logs.DeleteLogGroup(f.ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(target.LogGroupName)})
			return err
		}, []delivery.DriftKind{delivery.LogGroupMissing}},
		{"retention changed", func(f *fixture, target delivery.Target) error {
			_, err := f.aws.Logs.PutRetentionPolicy(f.ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(target.LogGroupName), RetentionInDays: aws.Int32(1)})
			return err
		}, []delivery.DriftKind{delivery.RetentionChanged}},
		{"policy deleted", func(f *fixture, target delivery.Target) error {
			_, err := f.aws.IAM.DeleteRolePolicy(f.ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(target.RoleName), PolicyName: aws.String(target.PolicyName)})
			return err
		}, []delivery.DriftKind{delivery.PolicyMissing}},
		{"policy changed", func(f *fixture, target delivery.Target) error {
			_, err := f.aws.IAM.PutRolePolicy(f.ctx, &iam.PutRolePolicyInput{RoleName: aws.String(target.RoleName), PolicyName: aws.String(target.PolicyName),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"logs:*","Resource":"*"}]}`)})
			return err
		}, []delivery.DriftKind{delivery.PolicyChanged}},
		{"trust changed", func(f *fixture, target delivery.Target) error {
			_, err := f.aws.IAM.UpdateAssumeRolePolicy(f.ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(target.RoleName),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
			return err
		}, []delivery.DriftKind{delivery.TrustChanged}},
		{"logging stopped", func(f *fixture, target delivery.Target) error {
			_, err := f.aws.CloudTrail.StopLogging(f.ctx, &cloudtrail.StopLoggingInput{Name: aws.String(target.TrailName)})
			return err
		}, []delivery.DriftKind{delivery.LoggingStopped}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.trail(t, "management-trail")
			target := f.resolve(t, spec.Spec{TrailName: "management-trail", RetentionInDays: 90})
			_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
			require.NoError(t, err)
			require.NoError(t, tc.tamper(f, target))

			drifts, err := f.engine.Check(f.ctx, target, delivery.AspectAll)
			require.NoError(t, err)
			assert.Equal(t, tc.want, kinds(drifts))

			res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
			require.NoError(t, err)
			assert.Empty(t, res.Remaining, "repair must converge")
			after, err := f.engine.Check(f.ctx, target, delivery.AspectAll)
			require.NoError(t, err)
			assert.Empty(t, after)
		})
	}
}

func TestTrustRepairKeepsOtherPrincipals(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail"})
	_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	_, err = f.aws.IAM.UpdateAssumeRolePolicy(f.ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(target.RoleName),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	require.NoError(t, err)

	_, err = f.engine.Reconcile(f.ctx, target, delivery.AspectRole)
	require.NoError(t, err)
	role, err := f.aws.IAM.GetRole(f.ctx, &iam.GetRoleInput{RoleName: aws.String(target.RoleName)})
	require.NoError(t, err)
	doc, _ := url.PathUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	assert.Contains(t, doc, "ec2.amazonaws.com")
	assert.Contains(t, doc, "cloudtrail.amazonaws.com")
}

func TestStoppedLoggingIsOnlyReportedWithoutEnforceLogging(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail", Remediation: spec.Enforce, EnforceLogging: false})
	_, err := f.aws.CloudTrail.StopLogging(f.ctx, &cloudtrail.StopLoggingInput{Name: aws.String("management-trail")})
	require.NoError(t, err)

	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	assert.NotContains(t, res.Actions, "StartLogging")
	assert.Equal(t, []delivery.DriftKind{delivery.LoggingStopped}, kinds(res.Remaining))
	assert.True(t, res.Converged(target), "logging is not enforced, so the rest converged")
}

func TestUpdateTrailRetriedWhileIAMPropagates(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail"})
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Times: 3, Code: "InvalidCloudWatchLogsRoleArnException",
		Message: "Access denied. Verify in IAM that the role has adequate permissions."})

	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	assert.True(t, res.Converged(target))
	assert.Equal(t, 4, f.rec.Count("CloudTrail", "UpdateTrail"), "three rejections, then success")
	group, _ := f.getTrail(t, target.TrailARN)
	assert.Equal(t, target.LogGroupARN(), group)
}

func TestPropagationRetriesStopAtTheDeadline(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail"})
	// Create the log group, role and policy first, outside the deadline: an UpdateTrail error that is not about
	// propagation ends that Reconcile at the link, so the one under the deadline only reads and retries the link.
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Times: 1, Code: "AccessDeniedException", Message: "no"})
	_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.ErrorContains(t, err, "AccessDeniedException")
	require.True(t, f.logGroupExists(t, target.LogGroupName))

	// A propagation budget of an hour, so only the context's deadline can stop the retries; a deadline of seconds,
	// generous for a handful of reads on a loaded machine, with waits of at most 200 ms between attempts.
	engine := delivery.New(delivery.NewClients(f.moto.Config(region, testbed.WithFaults(f.faults), testbed.WithRecorder(f.rec))),
		region, delivery.WithPropagationBackoff(10*time.Millisecond, 200*time.Millisecond, time.Hour))
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Code: "InvalidCloudWatchLogsLogGroupArnException", Message: "bad"})
	before := f.rec.Count("CloudTrail", "UpdateTrail")
	ctx, cancel := context.WithTimeout(f.ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err = engine.Reconcile(ctx, target, delivery.AspectAll)
	took := time.Since(start)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "InvalidCloudWatchLogsLogGroupArnException", "the last rejection is the error")
	assert.Greater(t, f.rec.Count("CloudTrail", "UpdateTrail")-before, 1, "the rejection was retried")
	assert.Less(t, took, time.Minute, "the retries stopped at the context's deadline, not at the one-hour budget")
}

func TestThrottlingConverges(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail"})
	for _, fault := range []testbed.Fault{
		testbed.Throttle("CloudTrail", "", 2), testbed.Throttle("IAM", "", 2), testbed.Throttle("CloudWatch Logs", "", 2),
	} {
		f.faults.Add(fault)
	}
	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	assert.True(t, res.Converged(target))
	assert.Equal(t, 6, f.faults.Injected())
}

func TestInvalidHomeRegionNamesTheProblem(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail"})
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Code: "InvalidHomeRegionException",
		Message: "This operation must be called from the trail's home region."})
	_, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "home region")
	assert.Equal(t, 1, f.rec.Count("CloudTrail", "UpdateTrail"), "not retried: it cannot succeed")
}

func TestResolveRefusesShadowTrails(t *testing.T) {
	f := newFixture(t)
	trail := f.trail(t, "management-trail")
	other := delivery.New(delivery.NewClients(f.moto.Config("eu-west-1")), "eu-west-1")

	for _, name := range []string{trail.String(), "management-trail"} {
		_, err := other.Resolve(f.ctx, caller, spec.Spec{TrailName: name, Remediation: spec.Enforce})
		var shadow *delivery.ShadowTrailError
		require.ErrorAs(t, err, &shadow, name)
		assert.Equal(t, "us-east-1", shadow.HomeRegion)
		assert.Contains(t, err.Error(), "home region is us-east-1")
	}
}

func TestResolveRejectsForeignLogGroupsAndRolesWithoutWriting(t *testing.T) {
	cases := map[string]spec.Spec{
		"log group in another account": {LogGroupArn: "arn:aws:logs:us-east-1:210987654321:log-group:central"},
		"log group in another region":  {LogGroupArn: "arn:aws:logs:eu-west-1:123456789012:log-group:central"},
		"role in another account":      {RoleArn: "arn:aws:iam::210987654321:role/Delivery"},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.trail(t, "management-trail")
			f.rec.Reset()
			s.TrailName = "management-trail"
			_, err := f.engine.Resolve(f.ctx, caller, s)
			var fe *spec.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Contains(t, []string{"LogGroupArn", "RoleArn"}, fe.Field)
			assert.Contains(t, err.Error(), "account")
			assert.Empty(t, f.rec.Writes())
		})
	}
}

func TestResolveRefusesAnotherAccountsTrail(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	_, err := f.engine.Resolve(f.ctx, delivery.Caller{Partition: "aws", Account: "210987654321"}, spec.Spec{TrailName: "management-trail"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "belongs to account 123456789012")
}

func TestResolveMissingTrail(t *testing.T) {
	f := newFixture(t)
	_, err := f.engine.Resolve(f.ctx, caller, spec.Spec{TrailName: "nope-trail"})
	var nf *delivery.TrailNotFoundError
	require.ErrorAs(t, err, &nf)
}

func TestDeletedTrailIsReportedNotRepaired(t *testing.T) {
	f := newFixture(t)
	f.trail(t, "management-trail")
	target := f.resolve(t, spec.Spec{TrailName: "management-trail"})
	_, err := f.aws.CloudTrail.DeleteTrail(f.ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("management-trail")})
	require.NoError(t, err)
	res, err := f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	assert.Equal(t, []delivery.DriftKind{delivery.TrailMissing}, kinds(res.Found))
	assert.False(t, res.Converged(target) && len(res.Actions) > 0)
	assert.Empty(t, res.Actions)
}

func TestPolicyNameFitsIAMLimits(t *testing.T) {
	long := strings.Repeat("a", 128)
	name := delivery.PolicyName("ap-southeast-2", long)
	assert.LessOrEqual(t, len(name), 128)
	assert.NotEqual(t, name, delivery.PolicyName("ap-southeast-2", long[:127]+"b"), "truncated names stay distinct")
	assert.Equal(t, "trailguard-us-east-1-management-trail", delivery.PolicyName("us-east-1", "management-trail"))
}

func kinds(drifts []delivery.Drift) []delivery.DriftKind {
	var out []delivery.DriftKind
	for _, d := range drifts {
		out = append(out, d.Kind)
	}
	return out
}
