package stacks

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailguard/trailguard/infra/guardrail"
	"github.com/trailguard/trailguard/internal/spec"
)

// Organization context keys (infra/README.md, docs/organizations.md). The organization stacks are built only when
// CtxOrgTargetOUs or CtxOrgRegions is set; then all three of CtxOrgOrganizationID, CtxOrgTargetOUs and
// CtxOrgRegions are required. CtxOrgOrganizationID alone names the organization for the standalone stack (the
// delivery boundary's o-ORGID_* streams of an organization trail in its account) and builds no org stacks.
const (
	CtxOrgOrganizationID    = "trailguard:org:organizationId"             // o-..., required for the org stacks
	CtxOrgTargetOUs         = "trailguard:org:targetOUs"                  // OU ids or the root id (r-...), required
	CtxOrgRegions           = "trailguard:org:regions"                    // regions of the stack instances, required
	CtxOrgCallAs            = "trailguard:org:callAs"                     // SELF (default) or DELEGATED_ADMIN
	CtxOrgFailureTolerance  = "trailguard:org:failureTolerancePercentage" // default 10
	CtxOrgMaxConcurrent     = "trailguard:org:maxConcurrentPercentage"    // default 25
	CtxOrgConcurrencyMode   = "trailguard:org:concurrencyMode"            // default SOFT_FAILURE_TOLERANCE
	CtxOrgRegionConcurrency = "trailguard:org:regionConcurrency"          // default SEQUENTIAL
	CtxOrgStackName         = "trailguard:org:stackName"                  // default trailguard-org
	CtxOrgStackSetName      = "trailguard:org:stackSetName"               // default trailguard
	CtxOrgAssetBucketPrefix = "trailguard:org:assetBucketPrefix"          // default trailguard-org-assets-ACCOUNT
	// The preventive guardrail (infra/guardrail, docs/organizations.md): an SCP attached to the target OUs.
	CtxOrgGuardrail                 = "trailguard:org:guardrail"                  // off (default), standard or strict
	CtxOrgGuardrailBreakGlassRole   = "trailguard:org:guardrail:breakGlassRole"   // a role name (with its path), exempt
	CtxOrgGuardrailLogGroupPrefixes = "trailguard:org:guardrail:logGroupPrefixes" // default aws-cloudtrail-logs-
	CtxOrgGuardrailTrailPrefixes    = "trailguard:org:guardrail:trailPrefixes"    // default none (tagged trails only)
	defaultOrgStackName             = "trailguard-org"
	defaultOrgStackSetName          = "trailguard"
	defaultFailureTolerancePct      = 10
	defaultMaxConcurrentPct         = 25
)

// OrgSettings are the organization deployment's settings (org.go).
type OrgSettings struct {
	// OrganizationID (o-...) is what the central topic, its key and the code buckets admit (aws:PrincipalOrgID),
	// and what the member's delivery boundary names in an organization trail's streams (o-ORGID_*), passed to
	// every member as ParamOrganizationID. It is Config.OrganizationID.
	OrganizationID string
	// TargetOUs are the organizational units (or the root, r-...) whose accounts get a stack instance, now and
	// whenever an account joins them (auto-deployment).
	TargetOUs []string
	// Regions get a stack instance in every target account, and a code bucket in the deploying account.
	Regions []string
	// CallAs is SELF in the management account, DELEGATED_ADMIN in a delegated administrator account.
	CallAs string
	// FailureTolerancePercentage of the accounts may fail per region before StackSets stops the operation;
	// MaxConcurrentPercentage of them are deployed at once.
	FailureTolerancePercentage int
	MaxConcurrentPercentage    int
	// ConcurrencyMode is STRICT_FAILURE_TOLERANCE (concurrency drops to the failure tolerance + 1 after failures)
	// or SOFT_FAILURE_TOLERANCE (concurrency stays MaxConcurrentPercentage).
	ConcurrencyMode string
	// RegionConcurrency is SEQUENTIAL (one region after the other, in Regions' order: a broken release stops in
	// the first region) or PARALLEL.
	RegionConcurrency string
	// StackName is the deploying account's stack (central topic, StackSet); the code bucket stacks are named
	// StackName-assets-REGION. StackSetName is the StackSet's name.
	StackName    string
	StackSetName string
	// AssetBucketPrefix names the code buckets PREFIX-REGION; empty means trailguard-org-assets-ACCOUNT, ACCOUNT
	// being the deploying account (bucket names are global).
	AssetBucketPrefix string
	// Guardrail is the service control policy attached to TargetOUs (off by default).
	Guardrail guardrail.Settings
}

var (
	orgIDRule        = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ouRule           = regexp.MustCompile(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)
	regionRule       = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]{0,2})?-[a-z]+-[0-9]$`)
	bucketPrefixRule = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,46}$`)
	stackNameRule    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
)

// organizationIDFromContext reads CtxOrgOrganizationID: "" when unset or empty, else a checked organization id.
func organizationIDFromContext(app awscdk.App) (string, error) {
	v := app.Node().TryGetContext(jsii.String(CtxOrgOrganizationID))
	if v == nil || fmt.Sprint(v) == "" {
		return "", nil
	}
	id := fmt.Sprint(v)
	if err := checkOrganizationID(id); err != nil {
		return "", fmt.Errorf("context %s: %w", CtxOrgOrganizationID, err)
	}
	return id, nil
}

// checkOrganizationID applies the rule of an organization id: anything else (o-*, *) in a condition would admit
// other organizations' principals or trail streams.
func checkOrganizationID(id string) error {
	return spec.CheckOrganizationID(id)
}

// orgFromContext reads the organization settings for the organization id orgID (organizationIDFromContext); nil
// when neither CtxOrgTargetOUs nor CtxOrgRegions is set. Any value it cannot use is an error naming the key and
// the rule.
func orgFromContext(app awscdk.App, orgID string) (*OrgSettings, error) {
	raw := func(key string) any { return app.Node().TryGetContext(jsii.String(key)) }
	str := func(key, def string) string {
		if v := raw(key); v != nil && fmt.Sprint(v) != "" {
			return fmt.Sprint(v)
		}
		return def
	}
	list := func(key string) []string {
		var items []string
		switch v := raw(key).(type) {
		case nil:
		case []any: // a JSON list in cdk.json
			for _, x := range v {
				items = append(items, strings.TrimSpace(fmt.Sprint(x)))
			}
		default: // -c key=a,b
			for _, x := range strings.Split(fmt.Sprint(v), ",") {
				items = append(items, strings.TrimSpace(x))
			}
		}
		var out []string
		for _, x := range items {
			if x != "" {
				out = append(out, x)
			}
		}
		return out
	}
	o := &OrgSettings{
		OrganizationID:    orgID,
		TargetOUs:         list(CtxOrgTargetOUs),
		Regions:           list(CtxOrgRegions),
		CallAs:            str(CtxOrgCallAs, "SELF"),
		ConcurrencyMode:   str(CtxOrgConcurrencyMode, "SOFT_FAILURE_TOLERANCE"),
		RegionConcurrency: str(CtxOrgRegionConcurrency, "SEQUENTIAL"),
		StackName:         str(CtxOrgStackName, defaultOrgStackName),
		StackSetName:      str(CtxOrgStackSetName, defaultOrgStackSetName),
		AssetBucketPrefix: str(CtxOrgAssetBucketPrefix, ""),
		Guardrail: guardrail.Settings{Level: str(CtxOrgGuardrail, guardrail.Off),
			BreakGlassRole: str(CtxOrgGuardrailBreakGlassRole, ""), LogGroupPrefixes: list(CtxOrgGuardrailLogGroupPrefixes),
			TrailPrefixes: list(CtxOrgGuardrailTrailPrefixes)},
	}
	if len(o.Guardrail.LogGroupPrefixes) == 0 {
		o.Guardrail.LogGroupPrefixes = []string{guardrail.DefaultLogGroupPrefix}
	}
	if len(o.TargetOUs) == 0 && len(o.Regions) == 0 {
		return nil, nil
	}
	if o.OrganizationID == "" {
		return nil, fmt.Errorf("context %s and %s are set but %s is empty: name the organization (o-...)",
			CtxOrgTargetOUs, CtxOrgRegions, CtxOrgOrganizationID)
	}
	var err error
	pct := func(key string, def, min int) int {
		if err != nil {
			return 0
		}
		s := str(key, strconv.Itoa(def))
		n, e := strconv.Atoi(s)
		if e != nil || n < min || n > 100 {
			err = fmt.Errorf("context %s=%q: want a whole percentage from %d to 100", key, s, min)
		}
		return n
	}
	o.FailureTolerancePercentage = pct(CtxOrgFailureTolerance, defaultFailureTolerancePct, 0)
	o.MaxConcurrentPercentage = pct(CtxOrgMaxConcurrent, defaultMaxConcurrentPct, 1)
	if err != nil {
		return nil, err
	}
	return o, o.validate()
}

// validate checks every setting against the rule CloudFormation or Organizations would apply only mid-deployment.
func (o *OrgSettings) validate() error {
	if err := checkOrganizationID(o.OrganizationID); err != nil {
		return fmt.Errorf("context %s: %w", CtxOrgOrganizationID, err)
	}
	each := func(key string, items []string, rule *regexp.Regexp, what string) error {
		if len(items) == 0 {
			return fmt.Errorf("context %s is empty: name at least one %s", key, what)
		}
		seen := map[string]bool{}
		for _, x := range items {
			if !rule.MatchString(x) {
				return fmt.Errorf("context %s: %q is not %s", key, x, what)
			}
			if seen[x] {
				return fmt.Errorf("context %s: %q is listed twice", key, x)
			}
			seen[x] = true
		}
		return nil
	}
	if err := each(CtxOrgTargetOUs, o.TargetOUs, ouRule, "an organizational unit id (ou-...) or the root id (r-...)"); err != nil {
		return err
	}
	if err := each(CtxOrgRegions, o.Regions, regionRule, "a region name such as eu-west-1"); err != nil {
		return err
	}
	oneOf := func(key, v string, allowed ...string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("context %s=%q: want %s", key, v, strings.Join(allowed, " or "))
	}
	if err := oneOf(CtxOrgCallAs, o.CallAs, "SELF", "DELEGATED_ADMIN"); err != nil {
		return err
	}
	if err := oneOf(CtxOrgConcurrencyMode, o.ConcurrencyMode, "STRICT_FAILURE_TOLERANCE", "SOFT_FAILURE_TOLERANCE"); err != nil {
		return err
	}
	if err := oneOf(CtxOrgRegionConcurrency, o.RegionConcurrency, "SEQUENTIAL", "PARALLEL"); err != nil {
		return err
	}
	if o.AssetBucketPrefix != "" && !bucketPrefixRule.MatchString(o.AssetBucketPrefix) {
		return fmt.Errorf("context %s=%q: want lower-case letters, digits and hyphens, 2 to 47 characters "+
			"(the bucket name PREFIX-REGION must stay within 63)", CtxOrgAssetBucketPrefix, o.AssetBucketPrefix)
	}
	if err := o.Guardrail.Validate(); errors.Is(err, guardrail.ErrTooLarge) {
		return fmt.Errorf("context %s, %s and %s: %w", CtxOrgGuardrailLogGroupPrefixes, CtxOrgGuardrailTrailPrefixes,
			CtxOrgGuardrailBreakGlassRole, err)
	} else if err != nil {
		return fmt.Errorf("context %s: %w", CtxOrgGuardrail, err)
	}
	for key, v := range map[string]string{CtxOrgStackName: o.StackName, CtxOrgStackSetName: o.StackSetName} {
		if !stackNameRule.MatchString(v) {
			return fmt.Errorf("context %s=%q: want a letter, then letters, digits or hyphens, at most 128 characters", key, v)
		}
	}
	return nil
}
