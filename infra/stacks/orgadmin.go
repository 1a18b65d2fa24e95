package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailguard/trailguard/internal/spec"
)

// CtxOrgManagementAccountID names the organization's management account when the standalone provider stack is
// deployed in CloudTrail's delegated administrator account (docs/organizations.md, "From CloudTrail's delegated
// administrator"). It requires CtxOrgOrganizationID, and makes the stack:
//   - admit the management account's log streams (MANAGEMENT_CloudTrail_*) in the delivery boundary, next to the
//     account's own and the organization's o-ORGID_*: an organization trail's own events are named after its
//     owner, the management account, whatever account's log group receives them;
//   - let CloudTrail assume the delivery role for that account too (aws:SourceAccount: this account or it);
//   - grant both functions the CloudTrail calls they make on that account's trails (trail/* of the management
//     account, this region), and the provider organizations:ListDelegatedAdministrators, by which it checks that
//     this account is CloudTrail's delegated administrator before it wires anything;
//   - tell both functions the account (lambdaenv.ManagementAccountID).
const CtxOrgManagementAccountID = "trailguard:org:managementAccountId"

// managementAccountFromContext reads CtxOrgManagementAccountID: "" when unset or empty, else a checked account id
// that comes with an organization id.
func managementAccountFromContext(app awscdk.App, orgID string) (string, error) {
	v := app.Node().TryGetContext(jsii.String(CtxOrgManagementAccountID))
	if v == nil || fmt.Sprint(v) == "" {
		return "", nil
	}
	id := fmt.Sprint(v)
	if err := checkManagementAccount(id, orgID); err != nil {
		return "", fmt.Errorf("context %s: %w", CtxOrgManagementAccountID, err)
	}
	return id, nil
}

// checkManagementAccount applies the rule of the management account's id: twelve digits (a wildcard would let
// CloudTrail assume the delivery role for any account, and the functions act on any account's trails), and only
// with the organization's id, whose o-ORGID_* streams the organization trail also writes.
func checkManagementAccount(id, orgID string) error {
	if err := spec.CheckAccountID(id); err != nil {
		return fmt.Errorf("management %w", err)
	}
	if orgID == "" {
		return fmt.Errorf("management account %s needs the organization's id as well (%s=o-...)", id, CtxOrgOrganizationID)
	}
	return nil
}
