package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/spec"
)

// adminFixture is an organization on moto behind the test bed's model of CloudTrail's delegated administrator: the
// management account (moto's default) with an organization trail, a member registered as the administrator whose
// engine is under test, and another member.
type adminFixture struct {
	ctx                      context.Context
	mgmt, admin              *testbed.AWS
	adminID, memberID, orgID string
	orgTrail                 string
	delivery                 testbed.AdministratorDelivery
	rec                      *testbed.Recorder
	faults                   *testbed.Faults
	adminCfg                 func(account string) *delivery.Engine
}

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	m := testbed.StartMoto(t)
	model, err := testbed.NewOrgAdmin(m.URL())
	require.NoError(t, err)
	t.Cleanup(model.Close)
	f := &adminFixture{ctx: context.Background(), rec: &testbed.Recorder{}, faults: testbed.NewFaults()}
	mgmtCfg := m.Config(region)
	mgmtCfg.BaseEndpoint = aws.String(model.URL())
	f.mgmt = testbed.NewAWS(mgmtCfg)
	var ids []string
	f.orgID, ids, err = f.mgmt.CreateOrganization(f.ctx, "security", "workload")
	require.NoError(t, err)
	f.adminID, f.memberID = ids[0], ids[1]
	f.orgTrail, err = f.mgmt.CreateTrail(f.ctx, "org-trail", testbed.TrailOptions{Organization: true})
	require.NoError(t, err)
	require.NoError(t, f.mgmt.RegisterCloudTrailAdministrator(f.ctx, f.adminID))
	cfg, err := m.AssumeAccount(f.ctx, f.adminID, region, model.URL())
	require.NoError(t, err)
	f.admin = testbed.NewAWS(cfg)
	f.delivery, err = f.admin.CreateAdministratorDeliveryRole(f.ctx, f.adminID, f.orgID, testbed.Account)
	require.NoError(t, err)
	// An engine as the provider stack's functions in account get it, deployed with the management account named.
	f.adminCfg = func(account string) *delivery.Engine {
		cfg, err := m.AssumeAccount(f.ctx, account, region, model.URL(), testbed.WithRecorder(f.rec), testbed.WithFaults(f.faults))
		require.NoError(t, err)
		return delivery.New(delivery.NewClients(cfg), region,
			delivery.WithPropagationBackoff(time.Millisecond, 5*time.Millisecond, 5*time.Second),
			delivery.WithDeliveryRole(f.delivery.RoleARN), delivery.WithPermissionsBoundary(f.delivery.BoundaryARN),
			delivery.WithBoundaryOrganization(f.orgID), delivery.WithManagementAccount(testbed.Account))
	}
	return f
}

func (f *adminFixture) caller(account string) delivery.Caller {
	return delivery.Caller{Partition: "aws", Account: account}
}

func orgSpec(trail string) spec.Spec {
	return spec.Spec{TrailName: trail, Remediation: spec.Enforce, EnforceLogging: true}
}

// From CloudTrail's delegated administrator, the organization trail of the management account is wired by ARN to
// a log group and role of the administrator's account, with the management account's streams and the
// organization's in the role policy; an unlink made in the management account is found by the sweep's read (by
// ARN: the trail is not among the administrator's own) and repaired; Remove hands the trail back.
func TestADelegatedAdministratorWiresTheOrganizationTrailByARN(t *testing.T) {
	f := newAdminFixture(t)
	engine := f.adminCfg(f.adminID)

	target, _, err := engine.Resolve(f.ctx, f.caller(f.adminID), orgSpec(f.orgTrail), nil)
	require.NoError(t, err)
	assert.Equal(t, f.orgTrail, target.TrailARN)
	assert.Equal(t, f.adminID, target.Account, "the log group and the role are the administrator's")
	assert.Equal(t, testbed.Account, target.TrailAccount, "the trail stays the management account's")
	assert.Equal(t, f.orgID, target.OrgID)
	assert.Equal(t, []string{
		"arn:aws:logs:us-east-1:" + f.adminID + ":log-group:" + target.LogGroupName + ":log-stream:" + testbed.Account + "_CloudTrail_us-east-1*",
		"arn:aws:logs:us-east-1:" + f.adminID + ":log-group:" + target.LogGroupName + ":log-stream:" + f.orgID + "_*",
	}, target.StreamResources(), "both prefixes: the management account's own events and the members'")
	require.NoError(t, target.Validate(region, f.adminID, false), "the remediator accepts the record")
	require.NoError(t, engine.CheckTrailOwner(target))

	_, err = engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	group, role, err := f.mgmt.TrailLink(f.ctx, f.orgTrail)
	require.NoError(t, err)
	assert.Equal(t, target.LogGroupARN(), group, "seen from the management account, the trail delivers to the administrator's group")
	assert.Equal(t, f.delivery.RoleARN, role)
	doc, err := f.admin.RolePolicy(f.ctx, target.RoleName, target.PolicyName)
	require.NoError(t, err)
	assert.Contains(t, doc, ":log-stream:"+testbed.Account+"_CloudTrail_us-east-1*")
	assert.Contains(t, doc, ":log-stream:"+f.orgID+"_*")

	// Someone in the management account unlinks it; the event is the management account's, the sweep sees it.
	_, err = f.mgmt.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(f.orgTrail),
		CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
	require.NoError(t, err)
	sh, err := engine.ShareRegion(f.ctx)
	require.NoError(t, err)
	assert.NotContains(t, sh.TrailARNs(), f.orgTrail, "the administrator's DescribeTrails does not list it")
	drifts, err := engine.Check(f.ctx, target, delivery.AspectAll, sh)
	require.NoError(t, err)
	require.Len(t, drifts, 1)
	assert.Equal(t, delivery.TrailUnlinked, drifts[0].Kind)
	_, err = engine.Repair(f.ctx, target, drifts, delivery.AspectAll)
	require.NoError(t, err)
	group, _, err = f.mgmt.TrailLink(f.ctx, f.orgTrail)
	require.NoError(t, err)
	assert.Equal(t, target.LogGroupARN(), group, "repaired from the administrator's account")

	// Stopped logging is restarted by ARN (the name is not found from the administrator).
	_, err = f.mgmt.CloudTrail.StopLogging(f.ctx, &cloudtrail.StopLoggingInput{Name: aws.String("org-trail")})
	require.NoError(t, err)
	drifts, err = engine.Check(f.ctx, target, delivery.AspectAll, nil)
	require.NoError(t, err)
	_, err = engine.Repair(f.ctx, target, drifts, delivery.AspectAll)
	require.NoError(t, err)
	logging, err := f.mgmt.IsLogging(f.ctx, f.orgTrail)
	require.NoError(t, err)
	assert.True(t, logging)

	actions, err := engine.Remove(f.ctx, target, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"UpdateTrail", "DeleteRolePolicy"}, actions)
	group, role, err = f.mgmt.TrailLink(f.ctx, f.orgTrail)
	require.NoError(t, err)
	assert.Empty(t, group, "handed back: no longer linked to the administrator's group")
	assert.Empty(t, role)
	tr, err := f.mgmt.CloudTrail.GetTrail(f.ctx, &cloudtrail.GetTrailInput{Name: aws.String(f.orgTrail)})
	require.NoError(t, err)
	assert.True(t, aws.ToBool(tr.Trail.IsOrganizationTrail), "still the organization's trail")
}

// By name the administrator finds nothing (AWS looks the name up in the caller's account): the error says to use
// the ARN, and nothing is written.
func TestAnOrganizationTrailNamedByNameFromTheAdministratorSaysToUseItsARN(t *testing.T) {
	f := newAdminFixture(t)
	engine := f.adminCfg(f.adminID)
	f.rec.Reset()
	_, _, err := engine.Resolve(f.ctx, f.caller(f.adminID), orgSpec("org-trail"), nil)
	var nf *delivery.TrailNotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Contains(t, err.Error(), "must be named by its ARN here, e.g. "+f.orgTrail)
	assert.Empty(t, f.rec.Writes())
}

// Only CloudTrail's delegated administrator, with the management account named in its deployment, wires the
// organization trail; every refusal says what to do and comes before any write.
func TestOnlyTheRegisteredAdministratorWiresTheOrganizationTrail(t *testing.T) {
	f := newAdminFixture(t)
	cases := map[string]struct {
		engine  *delivery.Engine
		account string
		want    string
	}{
		"a member that is not the administrator": {f.adminCfg(f.memberID), f.memberID, "not found"},
		"the administrator's deployment without the management account": {
			delivery.New(delivery.NewClients(f.admin.Config), region, delivery.WithBoundaryOrganization(f.orgID),
				delivery.WithDeliveryRole(f.delivery.RoleARN), delivery.WithPermissionsBoundary(f.delivery.BoundaryARN)),
			f.adminID, "-c trailguard:org:managementAccountId=" + testbed.Account},
		"another management account named": {
			delivery.New(delivery.NewClients(f.admin.Config), region, delivery.WithBoundaryOrganization(f.orgID),
				delivery.WithDeliveryRole(f.delivery.RoleARN), delivery.WithPermissionsBoundary(f.delivery.BoundaryARN),
				delivery.WithManagementAccount("210987654321")),
			f.adminID, "the management account 210987654321 (trailguard:org:managementAccountId) only"},
	}
	for name, c := range cases {
		f.rec.Reset()
		_, _, err := c.engine.Resolve(f.ctx, f.caller(c.account), orgSpec(f.orgTrail), nil)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
		assert.Empty(t, f.rec.Writes(), "%s: nothing is written", name)
	}

	// The engine asks Organizations itself: an account it does not list is refused, naming the registration, even
	// where the trail can be read (AWS lets members see an organization trail).
	f.faults.Add(testbed.Fault{Service: "Organizations", Operation: "ListDelegatedAdministrators", Times: 1,
		Reply: `{"DelegatedAdministrators":[]}`})
	f.rec.Reset()
	_, _, err := f.adminCfg(f.adminID).Resolve(f.ctx, f.caller(f.adminID), orgSpec(f.orgTrail), nil)
	var de *delivery.DelegatedAdministratorError
	require.ErrorAs(t, err, &de)
	assert.Contains(t, err.Error(), "register-organization-delegated-admin --member-account-id "+f.adminID)
	assert.Contains(t, err.Error(), "the StackSets registration does not count")
	assert.Empty(t, f.rec.Writes())
	assert.Equal(t, 1, f.faults.Injected())

	// Deregistered, the administrator is any member: the model no longer lets it act on the trail.
	_, err = f.mgmt.CloudTrail.DeregisterOrganizationDelegatedAdmin(f.ctx, &cloudtrail.DeregisterOrganizationDelegatedAdminInput{
		DelegatedAdminAccountId: aws.String(f.adminID)})
	require.NoError(t, err)
	f.rec.Reset()
	_, _, err = f.adminCfg(f.adminID).Resolve(f.ctx, f.caller(f.adminID), orgSpec(f.orgTrail), nil)
	require.Error(t, err)
	assert.Empty(t, f.rec.Writes())
}

// A registry record that names a trail of another account than the deployment's management account is refused,
// whatever else it says.
func TestARecordOfAnotherAccountsTrailIsRefused(t *testing.T) {
	f := newAdminFixture(t)
	engine := f.adminCfg(f.adminID)
	target, _, err := engine.Resolve(f.ctx, f.caller(f.adminID), orgSpec(f.orgTrail), nil)
	require.NoError(t, err)

	forged := target
	forged.TrailAccount, forged.TrailARN = f.memberID, "arn:aws:cloudtrail:us-east-1:"+f.memberID+":trail/org-trail"
	require.NoError(t, forged.Validate(region, f.adminID, false), "well formed")
	assert.ErrorContains(t, engine.CheckTrailOwner(forged), "TrailAccount")

	notOrg := target
	notOrg.OrgID = ""
	assert.ErrorContains(t, notOrg.Validate(region, f.adminID, false), "TrailAccount", "only an organization trail")
}

// CloudTrail assumes the delivery role for the trail's owner, the management account: a role whose trust admits
// CloudTrail only for the administrator's own account (aws:SourceAccount) could not deliver, and is refused.
func TestARoleTrustedOnlyForTheAdministratorsAccountIsRefused(t *testing.T) {
	f := newAdminFixture(t)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},` +
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"` + f.adminID + `"}}}]}`
	_, err := f.admin.IAM.CreateRole(f.ctx, &iam.CreateRoleInput{RoleName: aws.String("AdminOnly"),
		AssumeRolePolicyDocument: aws.String(trust), PermissionsBoundary: aws.String(f.delivery.BoundaryARN)})
	require.NoError(t, err)
	s := orgSpec(f.orgTrail)
	s.RoleName = "AdminOnly"
	f.rec.Reset()
	_, _, err = f.adminCfg(f.adminID).Resolve(f.ctx, f.caller(f.adminID), s, nil)
	assert.ErrorContains(t, err, "does not let cloudtrail.amazonaws.com assume it")
	assert.Empty(t, f.rec.Writes())
}

// From the delegated administrator, the management account's organization trail and one of the administrator's
// own trails of the same name each keep a pack in the administrator's account: the other account's trail's names
// carry its account (TRAIL@ACCOUNT), so both converge without touching each other, and removing one pack leaves
// the other whole. The own trail keeps the names it always had.
func TestPacksOfTwoTrailsOfOneNameDoNotCollide(t *testing.T) {
	f := newAdminFixture(t)
	engine := f.adminCfg(f.adminID)
	// The administrator's own trail "org-trail" (its bucket of another name: bucket names are global).
	_, err := f.admin.S3.CreateBucket(f.ctx, &s3.CreateBucketInput{Bucket: aws.String("admin-trail-bucket")})
	require.NoError(t, err)
	created, err := f.admin.CloudTrail.CreateTrail(f.ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"),
		S3BucketName: aws.String("admin-trail-bucket"), IsMultiRegionTrail: aws.Bool(true)})
	require.NoError(t, err)
	own := aws.ToString(created.TrailARN)
	_, err = f.admin.CloudTrail.StartLogging(f.ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org-trail")})
	require.NoError(t, err)
	topic, err := f.admin.CreateAlarmTopic(f.ctx, testbed.AlarmTopicName, true)
	require.NoError(t, err)
	withPack := func(trail string) spec.Spec {
		s := orgSpec(trail)
		s.MonitoringPack, s.AlarmTopicARN = "cis", topic
		return s
	}
	org, _, err := engine.Resolve(f.ctx, f.caller(f.adminID), withPack(f.orgTrail), nil)
	require.NoError(t, err)
	mine, _, err := engine.Resolve(f.ctx, f.caller(f.adminID), withPack(own), nil)
	require.NoError(t, err)
	require.Equal(t, org.TrailName, mine.TrailName, "one name, two trails")
	assert.Equal(t, cis.NamesFor("org-trail"), mine.PackNames(), "an own trail's pack keeps its names")
	assert.Equal(t, "trailguard-cis-org-trail@"+testbed.Account+"-", org.PackNames().Prefix)
	for _, target := range []delivery.Target{org, mine, org} {
		res, err := engine.Reconcile(f.ctx, target, delivery.AspectAll)
		require.NoError(t, err)
		require.True(t, res.Converged(target), "remaining: %v", res.Remaining)
	}
	for _, target := range []delivery.Target{org, mine} {
		drifts, err := engine.Check(f.ctx, target, delivery.AspectPack, nil)
		require.NoError(t, err)
		assert.Empty(t, drifts, "%s: each pack is whole and its own", target.TrailARN)
	}
	alarms, err := f.admin.CloudWatch.DescribeAlarms(f.ctx, &cloudwatch.DescribeAlarmsInput{})
	require.NoError(t, err)
	assert.Len(t, alarms.MetricAlarms, 30, "two packs of 15")

	_, err = engine.RemovePack(f.ctx, org, cis.None, cis.None)
	require.NoError(t, err)
	drifts, err := engine.Check(f.ctx, mine, delivery.AspectPack, nil)
	require.NoError(t, err)
	assert.Empty(t, drifts, "removing the organization trail's pack leaves the own trail's whole")
	alarms, err = f.admin.CloudWatch.DescribeAlarms(f.ctx, &cloudwatch.DescribeAlarmsInput{})
	require.NoError(t, err)
	assert.Len(t, alarms.MetricAlarms, 15)
}
