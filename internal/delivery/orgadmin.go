package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/trailguard/trailguard/internal/spec"
)

// CloudTrailServicePrincipal is the service principal an account is registered for as CloudTrail's delegated
// administrator (aws cloudtrail register-organization-delegated-admin). The StackSets delegated administrator is
// another registration (member.org.stacksets.cloudformation.amazonaws.com) and gives no right on trails.
const CloudTrailServicePrincipal = "cloudtrail.amazonaws.com"

// AdministratorsAPI tells whether this account is CloudTrail's delegated administrator.
type AdministratorsAPI interface {
	ListDelegatedAdministrators(context.Context, *organizations.ListDelegatedAdministratorsInput, ...func(*organizations.Options)) (*organizations.ListDelegatedAdministratorsOutput, error)
}

// WithManagementAccount names the organization's management account whose organization trails this account may
// wire as CloudTrail's delegated administrator. AWS keeps every organization trail in the management account
// (whoever created it), so the trail's ARN names that account, while the log group and the role CloudTrail uses
// are this account's. The deployment's permissions boundary must admit the management account's streams
// (MANAGEMENT_CloudTrail_*) and its delivery role's trust that account: the provider stack does both when it is
// given the same account (trailguard:org:managementAccountId). Empty: no trail of another account is wired.
func WithManagementAccount(id string) Option { return func(e *Engine) { e.managementAccount = id } }

// DelegatedAdministratorError says why an organization trail of another account cannot be wired from this one, and
// what to do.
type DelegatedAdministratorError struct {
	Trail, Account, Reason string
}

func (e *DelegatedAdministratorError) Error() string {
	return fmt.Sprintf("trail %s cannot be wired from account %s: %s", e.Trail, e.Account, e.Reason)
}

// checkDelegatedAdministrator admits an organization trail of account trail.Account for the caller's account only
// when the deployment names that account as the management account and Organizations lists the caller as
// CloudTrail's delegated administrator: the only account besides the management account that AWS lets configure an
// organization trail. A member account may see the trail but not change it.
func (e *Engine) checkDelegatedAdministrator(ctx context.Context, trail spec.TrailARN, account string) error {
	refuse := func(format string, a ...any) error {
		return &DelegatedAdministratorError{Trail: trail.String(), Account: account, Reason: fmt.Sprintf(format, a...)}
	}
	if e.managementAccount == "" {
		return refuse("it is an organization trail of account %s; only the management account or CloudTrail's delegated "+
			"administrator can configure it: deploy the provider stack in the management account, or in the "+
			"delegated administrator account with -c trailguard:org:managementAccountId=%s", trail.Account, trail.Account)
	}
	if trail.Account != e.managementAccount {
		return refuse("it is an organization trail of account %s, but this deployment manages the organization trails of "+
			"the management account %s (trailguard:org:managementAccountId) only", trail.Account, e.managementAccount)
	}
	admins, err := e.cloudTrailAdministrators(ctx)
	if err != nil {
		return fmt.Errorf("trail %s is an organization trail of account %s; checking that account %s is CloudTrail's "+
			"delegated administrator: %w", trail, trail.Account, account, err)
	}
	if !slices.Contains(admins, account) {
		return refuse("account %s is not registered as CloudTrail's delegated administrator (the StackSets registration "+
			"does not count): register it from the management account with aws cloudtrail "+
			"register-organization-delegated-admin --member-account-id %s", account, account)
	}
	return nil
}

// cloudTrailAdministrators lists the accounts registered as CloudTrail's delegated administrators.
func (e *Engine) cloudTrailAdministrators(ctx context.Context) ([]string, error) {
	if e.c.Administrators == nil {
		return nil, errors.New("this engine has no Organizations client to ask (delivery.NewClients builds one)")
	}
	var ids []string
	p := organizations.NewListDelegatedAdministratorsPaginator(e.c.Administrators, &organizations.ListDelegatedAdministratorsInput{
		ServicePrincipal: aws.String(CloudTrailServicePrincipal)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.DelegatedAdministrators {
			ids = append(ids, aws.ToString(a.Id))
		}
	}
	return ids, nil
}

// byARNHint explains, for a trail named by name that this account does not have, that an organization trail of the
// management account must be named by its ARN from the delegated administrator (CloudTrail answers a name with
// TrailNotFoundException there).
func (e *Engine) byARNHint(name string) string {
	if e.managementAccount == "" || strings.HasPrefix(name, "arn:") {
		return ""
	}
	return fmt.Sprintf("; an organization trail of the management account %s must be named by its ARN here, e.g. "+
		"arn:aws:cloudtrail:%s:%s:trail/%s", e.managementAccount, e.region, e.managementAccount, name)
}

// CheckTrailOwner refuses a stored target whose trail belongs to another account than the management account this
// deployment names: the registry is a trust root, and a record edited to point at some other account's trail must
// not make the remediator write to it.
func (e *Engine) CheckTrailOwner(t Target) error {
	if t.TrailAccount == "" || t.TrailAccount == e.managementAccount {
		return nil
	}
	return &spec.FieldError{Field: "TrailAccount", Rule: fmt.Sprintf("is %s; this deployment wires the organization "+
		"trails of the management account %q only (trailguard:org:managementAccountId)", t.TrailAccount, e.managementAccount)}
}

// trailOwner is the account the trail belongs to, whose id names its own log streams.
func (t Target) trailOwner() string {
	if t.TrailAccount != "" {
		return t.TrailAccount
	}
	return t.Account
}

// trailID is how calls that take a name or an ARN name the trail: by name in its own account (moto accepts only
// names for StartLogging), by ARN from the delegated administrator, where the name is not found.
func (t Target) trailID() string {
	if t.TrailAccount != "" {
		return t.TrailARN
	}
	return t.TrailName
}
