package testbed

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// orgAdminWorld is an organization behind the model: the management account, a member registered as CloudTrail's
// delegated administrator (admin) and a plain member, an organization trail and an account trail of the management
// account.
type orgAdminWorld struct {
	ctx                  context.Context
	model                *OrgAdmin
	mgmt, admin, member  *AWS
	adminID, memberID    string
	orgTrail, plainTrail string
}

func newOrgAdminWorld(t *testing.T) *orgAdminWorld {
	t.Helper()
	m := StartMoto(t)
	model, err := NewOrgAdmin(m.URL())
	require.NoError(t, err)
	t.Cleanup(model.Close)
	w := &orgAdminWorld{ctx: context.Background(), model: model}
	mgmtCfg := m.Config(Region)
	mgmtCfg.BaseEndpoint = aws.String(model.URL())
	w.mgmt = NewAWS(mgmtCfg)
	_, ids, err := w.mgmt.CreateOrganization(w.ctx, "security", "workload")
	require.NoError(t, err)
	w.adminID, w.memberID = ids[0], ids[1]
	for id, dst := range map[string]**AWS{w.adminID: &w.admin, w.memberID: &w.member} {
		cfg, err := m.AssumeAccount(w.ctx, id, Region, model.URL())
		require.NoError(t, err)
		*dst = NewAWS(cfg)
	}
	w.orgTrail, err = w.mgmt.CreateTrail(w.ctx, "org-trail", TrailOptions{Organization: true})
	require.NoError(t, err)
	w.plainTrail, err = w.mgmt.CreateTrail(w.ctx, "plain-trail", TrailOptions{})
	require.NoError(t, err)
	return w
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// The registration follows RegisterOrganizationDelegatedAdmin's and DeregisterOrganizationDelegatedAdmin's
// documented errors, and ListDelegatedAdministrators answers the management account and the administrator only.
func TestOrgAdminRegistersAsTheCloudTrailAPIDocuments(t *testing.T) {
	w := newOrgAdminWorld(t)
	register := func(a *AWS, id string) error {
		_, err := a.CloudTrail.RegisterOrganizationDelegatedAdmin(w.ctx, &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(id)})
		return err
	}
	assert.Equal(t, "NotOrganizationManagementAccountException", errorCode(register(w.member, w.adminID)), "a member cannot register")
	assert.Equal(t, "CannotDelegateManagementAccountException", errorCode(register(w.mgmt, Account)))
	assert.Equal(t, "AccountNotFoundException", errorCode(register(w.mgmt, "999999999999")), "outside the organization")
	require.NoError(t, register(w.mgmt, w.adminID))
	assert.Equal(t, "AccountRegisteredException", errorCode(register(w.mgmt, w.adminID)))
	assert.Equal(t, []string{w.adminID}, w.model.Admins())

	list := func(a *AWS) ([]string, error) {
		out, err := a.Organizations.ListDelegatedAdministrators(w.ctx, &organizations.ListDelegatedAdministratorsInput{
			ServicePrincipal: aws.String("cloudtrail.amazonaws.com")})
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, d := range out.DelegatedAdministrators {
			ids = append(ids, aws.ToString(d.Id))
		}
		return ids, nil
	}
	for _, a := range []*AWS{w.mgmt, w.admin} {
		ids, err := list(a)
		require.NoError(t, err)
		assert.Equal(t, []string{w.adminID}, ids)
	}
	_, err := list(w.member)
	assert.Equal(t, "AccessDeniedException", errorCode(err), "a plain member may not list the administrators")

	_, err = w.member.CloudTrail.DeregisterOrganizationDelegatedAdmin(w.ctx, &cloudtrail.DeregisterOrganizationDelegatedAdminInput{
		DelegatedAdminAccountId: aws.String(w.adminID)})
	assert.Equal(t, "NotOrganizationManagementAccountException", errorCode(err))
	_, err = w.mgmt.CloudTrail.DeregisterOrganizationDelegatedAdmin(w.ctx, &cloudtrail.DeregisterOrganizationDelegatedAdminInput{
		DelegatedAdminAccountId: aws.String(w.adminID)})
	require.NoError(t, err)
	_, err = w.mgmt.CloudTrail.DeregisterOrganizationDelegatedAdmin(w.ctx, &cloudtrail.DeregisterOrganizationDelegatedAdminInput{
		DelegatedAdminAccountId: aws.String(w.adminID)})
	assert.Equal(t, "AccountNotRegisteredException", errorCode(err))
	assert.Empty(t, w.model.Admins())
}

// The administrator reaches the organization trail by ARN only, and only while registered; the management
// account's account trail and the conversion to a single-account trail stay out of its reach.
func TestOrgAdminActsOnTheOrganizationTrailByARNOnly(t *testing.T) {
	w := newOrgAdminWorld(t)
	notFound := func(a *AWS, name string) bool {
		_, err := a.CloudTrail.GetTrail(w.ctx, &cloudtrail.GetTrailInput{Name: aws.String(name)})
		var nf *cttypes.TrailNotFoundException
		return errors.As(err, &nf)
	}
	assert.True(t, notFound(w.admin, w.orgTrail), "before the registration the administrator is any member")
	require.NoError(t, w.mgmt.RegisterCloudTrailAdministrator(w.ctx, w.adminID))

	out, err := w.admin.CloudTrail.GetTrail(w.ctx, &cloudtrail.GetTrailInput{Name: aws.String(w.orgTrail)})
	require.NoError(t, err)
	assert.Equal(t, w.orgTrail, aws.ToString(out.Trail.TrailARN))
	assert.True(t, notFound(w.admin, "org-trail"), "by name the administrator's own account is searched")
	assert.True(t, notFound(w.admin, w.plainTrail), "an account trail of the management account is not the administrator's")
	assert.True(t, notFound(w.member, w.orgTrail), "a plain member cannot act on it")

	group := "arn:aws:logs:" + Region + ":" + w.adminID + ":log-group:admin-group:*"
	role := "arn:aws:iam::" + w.adminID + ":role/trailguard/r"
	_, err = w.admin.CloudTrail.UpdateTrail(w.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(w.orgTrail),
		CloudWatchLogsLogGroupArn: aws.String(group), CloudWatchLogsRoleArn: aws.String(role)})
	require.NoError(t, err)
	got, _, err := w.mgmt.TrailLink(w.ctx, w.orgTrail)
	require.NoError(t, err)
	assert.Equal(t, group, got, "the administrator's UpdateTrail changed the management account's trail")

	_, err = w.admin.CloudTrail.StopLogging(w.ctx, &cloudtrail.StopLoggingInput{Name: aws.String(w.orgTrail)})
	require.NoError(t, err, "by ARN, as AWS takes it (moto takes names only)")
	logging, err := w.mgmt.IsLogging(w.ctx, w.orgTrail)
	require.NoError(t, err)
	assert.False(t, logging)

	_, err = w.admin.CloudTrail.UpdateTrail(w.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(w.orgTrail),
		IsOrganizationTrail: aws.Bool(false)})
	assert.Equal(t, "OperationNotPermittedException", errorCode(err), "only the management account converts it")
	tr, err := w.mgmt.CloudTrail.GetTrail(w.ctx, &cloudtrail.GetTrailInput{Name: aws.String(w.orgTrail)})
	require.NoError(t, err)
	assert.True(t, aws.ToBool(tr.Trail.IsOrganizationTrail))
}
