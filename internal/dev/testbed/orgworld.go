package testbed

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// An organization on moto for the CloudTrail delegated administrator's story: the management account is moto's
// default account (Account); members are accounts moto's Organizations creates, each with the
// OrganizationAccountAccessRole the management account assumes to act in it.

// CreateOrganization creates an organization with all features, managed by a's account, and one member account
// per name; it returns the organization's id and the members' ids in the order of names.
func (a *AWS) CreateOrganization(ctx context.Context, names ...string) (orgID string, members []string, err error) {
	org, err := a.Organizations.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		return "", nil, fmt.Errorf("create the organization: %w", err)
	}
	for _, name := range names {
		out, err := a.Organizations.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name),
			Email: aws.String(name + "@example.com")})
		if err != nil {
			return "", nil, fmt.Errorf("create account %s: %w", name, err)
		}
		members = append(members, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	return aws.ToString(org.Organization.Id), members, nil
}

// AssumeAccount is a configuration for region that acts as account (through its OrganizationAccountAccessRole, as
// the management account's administrator would) and calls endpoint (moto, or a model in front of it), with the
// test plumbing opts.
func (s *Server) AssumeAccount(ctx context.Context, account, region, endpoint string, opts ...ConfigOption) (aws.Config, error) {
	out, err := sts.NewFromConfig(s.Config(region)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("operator")})
	if err != nil {
		return aws.Config{}, fmt.Errorf("act as account %s: %w", account, err)
	}
	cfg := s.Config(region, opts...)
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey),
		aws.ToString(c.SessionToken))
	cfg.BaseEndpoint = aws.String(endpoint)
	return cfg, nil
}

// RegisterCloudTrailAdministrator registers account as CloudTrail's delegated administrator, as the management
// account does (aws cloudtrail register-organization-delegated-admin); a must call the model (OrgAdmin).
func (a *AWS) RegisterCloudTrailAdministrator(ctx context.Context, account string) error {
	if _, err := a.CloudTrail.RegisterOrganizationDelegatedAdmin(ctx, &cloudtrail.RegisterOrganizationDelegatedAdminInput{
		MemberAccountId: aws.String(account)}); err != nil {
		return fmt.Errorf("register %s as CloudTrail's delegated administrator: %w", account, err)
	}
	return nil
}

// AdministratorDelivery is what the provider stack deployed in CloudTrail's delegated administrator account with
// trailguard:org:managementAccountId creates for delivery: the role and its boundary.
type AdministratorDelivery struct {
	RoleARN, BoundaryARN string
}

// CreateAdministratorDeliveryRole creates, in a's account (the delegated administrator, account), the delivery
// role and boundary as the provider stack does with trailguard:org:organizationId=orgID and
// trailguard:org:managementAccountId=management: the boundary admits this account's streams, the management
// account's (the organization trail's own events) and o-ORGID_*; the trust admits CloudTrail acting for either
// account.
func (a *AWS) CreateAdministratorDeliveryRole(ctx context.Context, account, orgID, management string) (AdministratorDelivery, error) {
	streams := func(name string) string {
		return `"arn:aws:logs:*:` + account + `:log-group:*:log-stream:` + name + `"`
	}
	boundary := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],` +
		`"Resource":[` + streams(account+"_CloudTrail_*") + `,` + streams(management+"_CloudTrail_*") + `,` + streams(orgID+"_*") + `]}]}`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},` +
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":["` + account + `","` + management + `"]}}}]}`
	d := AdministratorDelivery{
		RoleARN:     "arn:aws:iam::" + account + ":role" + DeliveryRolePath + DeliveryRoleName,
		BoundaryARN: "arn:aws:iam::" + account + ":policy/" + DeliveryBoundaryName,
	}
	if _, err := a.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(DeliveryBoundaryName),
		PolicyDocument: aws.String(boundary)}); err != nil {
		return d, fmt.Errorf("create policy %s in %s: %w", DeliveryBoundaryName, account, err)
	}
	if _, err := a.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(DeliveryRoleName), Path: aws.String(DeliveryRolePath),
		AssumeRolePolicyDocument: aws.String(trust), PermissionsBoundary: aws.String(d.BoundaryARN)}); err != nil {
		return d, fmt.Errorf("create role %s in %s: %w", DeliveryRoleName, account, err)
	}
	return d, nil
}
