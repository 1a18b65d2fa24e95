package delivery

import (
	"errors"
	"fmt"
	"slices"

	"github.com/trailguard/trailguard/internal/cis"

	"github.com/trailguard/trailguard/internal/spec"
)

// Validate checks a stored target against the rules Resolve applied when it was registered: the registry is a trust
// root, and a record edited behind the provider's back (another log group, a foreign key, a one-day retention, a
// role of another account) must be refused, not enforced. account is the account the engine acts for ("" skips
// that check); crossAccountKey is the spec's AllowCrossAccountKey.
func (t Target) Validate(region, account string, crossAccountKey bool) error {
	var errs []error
	fail := func(field, format string, a ...any) {
		errs = append(errs, &spec.FieldError{Field: field, Rule: fmt.Sprintf(format, a...)})
	}
	trail, err := spec.ParseTrailARN(t.TrailARN)
	if err != nil {
		fail("TrailArn", "%v", err)
		return errors.Join(errs...)
	}
	if trail.Name != t.TrailName || trail.Region != t.HomeRegion || trail.Account != t.trailOwner() || trail.Partition != t.Partition {
		fail("TrailArn", "%s does not match the record's trail name, home region, account and partition", t.TrailARN)
	}
	if t.HomeRegion != region {
		fail("HomeRegion", "is %s; this remediator acts only in %s", t.HomeRegion, region)
	}
	if t.TrailAccount != "" && (t.OrgID == "" || t.TrailAccount == t.Account) {
		fail("TrailAccount", "is %s; only an organization trail of the management account, wired from CloudTrail's delegated "+
			"administrator, belongs to another account than the record's", t.TrailAccount)
	}
	if account != "" && t.Account != account {
		fail("Account", "is %s; this remediator acts only for account %s", t.Account, account)
	}
	if _, err := spec.ParseLogGroupARN(t.LogGroupARN()); err != nil {
		fail("LogGroupName", "%v", err)
	}
	if err := spec.CheckRetention(t.RetentionInDays); err != nil {
		errs = append(errs, err)
	}
	if t.KmsKeyID != "" {
		if err := spec.CheckKey(t.KmsKeyID, trailOf(t), crossAccountKey); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := spec.ParseRoleARN(t.RoleARN()); err != nil {
		fail("RoleName", "%v", err)
	}
	if want := PolicyName(t.HomeRegion, t.TrailName); t.PolicyName != want {
		fail("PolicyName", "is %q, want %q: trailguard writes only its own per-trail policy", t.PolicyName, want)
	}
	if t.Pack.On() {
		if !slices.Contains(cis.Sets, t.Pack.Set) {
			fail("Pack", "set %q is not one of %v", t.Pack.Set, cis.Sets)
		} else if _, err := (&Engine{}).packFor(t, t.Pack.Set, t.Pack.TopicARN); err != nil {
			errs = append(errs, err)
		}
	}
	if p := t.Previous; p != nil && p.Linked() {
		if g, err := spec.ParseLogGroupARN(p.LogGroupARN); err != nil || g.Account != t.Account || g.Region != t.HomeRegion {
			fail("Previous", "log group %s is not in the trail's account and region", p.LogGroupARN)
		}
		if r, err := spec.ParseRoleARN(p.RoleARN); err != nil || r.Account != t.Account {
			fail("Previous", "role %s is not in the trail's account", p.RoleARN)
		}
	}
	return errors.Join(errs...)
}
