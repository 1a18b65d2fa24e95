package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/trailguard/trailguard/internal/spec"
)

// PolicyPrefix starts the name of every inline policy trailguard writes (see PolicyName).
const PolicyPrefix = "trailguard-"

// checkExistingRole reads the role CloudTrail is to assume and refuses one that grants more than CloudTrail
// delivery: trailguard writes a policy into it, so a role that others can assume, or that holds other policies,
// would turn trailguard into a way to extend someone's rights. trailguard never creates roles: its functions may
// not (see infra/README.md), so a missing role is an error too. A role given by name gets its real path.
func (e *Engine) checkExistingRole(ctx context.Context, t *Target, s spec.Spec) error {
	field := "RoleArn"
	switch {
	case s.RoleName != "":
		field = "RoleName"
	case s.RoleARN == "":
		field = "(default delivery role)"
	}
	fail := func(format string, a ...any) error {
		return &spec.FieldError{Field: field, Rule: fmt.Sprintf("role %s ", t.RoleName) + fmt.Sprintf(format, a...)}
	}
	out, err := e.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(t.RoleName)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return fail("does not exist: trailguard does not create roles; omit RoleName and RoleArn to use the provider "+
			"stack's delivery role, or create a role that only cloudtrail.amazonaws.com can assume%s", e.boundaryHint())
	}
	if err != nil {
		return fmt.Errorf("read role %s: %w", t.RoleName, err)
	}
	role := out.Role
	if p := aws.ToString(role.Path); s.RoleName != "" && p != "" {
		t.RolePath = p
	} else if p != "" && p != t.RolePath {
		return fail("is at path %s, not %s", p, t.RolePath)
	}
	if others := trustedOthers(aws.ToString(role.AssumeRolePolicyDocument)); len(others) > 0 {
		return fail("can be assumed by %s, not only by %s: refused, because trailguard would grant them what it puts in "+
			"the role", strings.Join(others, ", "), cloudTrailService)
	}
	if !trustsCloudTrail(aws.ToString(role.AssumeRolePolicyDocument), *t) {
		return fail("does not let %s assume it for trail %s (its trust policy has no Allow whose conditions hold for this "+
			"trail)", cloudTrailService, t.TrailARN)
	}
	if e.boundary != "" && (role.PermissionsBoundary == nil || aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn) != e.boundary) {
		return fail("does not carry the permissions boundary %s: trailguard writes only roles bounded by it", e.boundary)
	}
	attached, err := e.c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(t.RoleName)})
	if err != nil {
		return fmt.Errorf("list managed policies of role %s: %w", t.RoleName, err)
	}
	if len(attached.AttachedPolicies) > 0 {
		names := make([]string, len(attached.AttachedPolicies))
		for i, p := range attached.AttachedPolicies {
			names[i] = aws.ToString(p.PolicyArn)
		}
		return fail("has managed policies attached (%s): a delivery role holds only trailguard's per-trail policies",
			strings.Join(names, ", "))
	}
	inline, err := e.c.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(t.RoleName)})
	if err != nil {
		return fmt.Errorf("list inline policies of role %s: %w", t.RoleName, err)
	}
	if foreign := slices.DeleteFunc(slices.Clone(inline.PolicyNames), func(n string) bool {
		return strings.HasPrefix(n, PolicyPrefix)
	}); len(foreign) > 0 {
		return fail("has inline policies trailguard did not write (%s): a delivery role holds only trailguard's "+
			"per-trail policies", strings.Join(foreign, ", "))
	}
	return nil
}

func (e *Engine) boundaryHint() string {
	if e.boundary == "" {
		return ""
	}
	return " and carries the permissions boundary " + e.boundary
}

// trustedOthers lists the principals other than CloudTrail that a trust policy allows to assume the role. An
// unreadable policy, or an Allow with NotPrincipal, counts as trusting anybody.
func trustedOthers(doc string) []string {
	p, err := decodePolicy(doc)
	if err != nil {
		return []string{"(an unreadable trust policy)"}
	}
	var out []string
	for _, s := range p.Statement {
		if s.Effect != "Allow" {
			continue
		}
		if len(s.NotPrincipal) > 0 {
			out = append(out, "NotPrincipal "+string(s.NotPrincipal))
		}
		out = append(out, s.Principal.others()...)
	}
	return out
}

// conditionHolds evaluates a trust statement's conditions for CloudTrail assuming the role on behalf of t. It
// understands the hardening AWS documents for CloudTrail (aws:SourceAccount, aws:SourceArn with the String and Arn
// operators); any other condition counts as not holding, so trailguard never assumes a role works when it cannot
// tell.
func conditionHolds(raw json.RawMessage, t Target) bool {
	if len(raw) == 0 {
		return true
	}
	var cond map[string]map[string]stringList
	if err := json.Unmarshal(raw, &cond); err != nil {
		return false
	}
	for op, keys := range cond {
		for key, values := range keys {
			var actual string
			switch strings.ToLower(key) {
			case "aws:sourceaccount":
				// CloudTrail acts for the trail's owner: the management account for an organization trail wired from
				// the delegated administrator (an open question in docs/organizations.md; the provider stack's trust
				// admits both accounts then).
				actual = t.trailOwner()
			case "aws:sourcearn":
				actual = t.TrailARN
			default:
				return false
			}
			if !slices.ContainsFunc(values, func(v string) bool { return matches(op, v, actual) }) {
				return false
			}
		}
	}
	return true
}

func matches(op, pattern, actual string) bool {
	switch op {
	case "StringEquals", "ArnEquals":
		return pattern == actual
	case "StringLike", "ArnLike":
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
		ok, err := regexp.MatchString(re, actual)
		return err == nil && ok
	}
	return false
}
