// Package guardrail writes the organization's preventive guardrail: a service control policy that denies, in every
// member account it is attached to, the calls that destroy or hide the audit events trailguard guards, to every
// principal but trailguard's own roles and a named break-glass role. The organization stacks deploy it
// (infra/stacks/org.go); docs/organizations.md says what it covers, what it cannot, and how to roll it back.
//
// It is plain Go, apart from the CDK, so that its test can evaluate the policy quickly, with an independent IAM
// evaluator as well as its own.
package guardrail

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/trailguard/trailguard/internal/delivery"
)

// Levels of the guardrail.
const (
	// Off deploys no policy (the default: an SCP changes what every principal of the organization may do, so it is
	// an explicit choice).
	Off = "off"
	// Standard denies what destroys audit data: deleting a guarded log group or stream, turning its deletion
	// protection off, changing its key or retention, stopping or deleting a guarded trail.
	Standard = "standard"
	// Strict also denies UpdateTrail and PutEventSelectors on guarded trails: nobody but trailguard can unlink or
	// narrow them, and so neither can their owners.
	Strict = "strict"
)

// Levels lists the valid levels.
var Levels = []string{Off, Standard, Strict}

// DefaultLogGroupPrefix names the log groups trailguard creates by default (aws-cloudtrail-logs-ACCOUNT-TRAIL), the
// prefix the CloudTrail console uses too.
const DefaultLogGroupPrefix = "aws-cloudtrail-logs-"

// Settings choose what the policy guards and whom it exempts.
type Settings struct {
	Level string
	// BreakGlassRole is a role name, optionally with its path ("security/BreakGlass"), exempt in every member
	// account: the way to undo a mistake without detaching the policy. Empty: none.
	BreakGlassRole string
	// LogGroupPrefixes are the name prefixes of guarded log groups (default DefaultLogGroupPrefix). Groups
	// trailguard created or recreated are guarded whatever their name, by their trailguard:trail tag.
	LogGroupPrefixes []string
	// TrailPrefixes are name prefixes of guarded trails, besides every trail tagged trailguard:registered-by.
	TrailPrefixes []string
}

// Exempt are the principal ARN patterns the policy never applies to: trailguard's roles (path /trailguard/: both
// functions, the delivery role, the forwarding role), and the break-glass role.
func (s Settings) Exempt() []string {
	out := []string{"arn:*:iam::*:role" + delivery.RolePath + "*"}
	if s.BreakGlassRole != "" {
		out = append(out, "arn:*:iam::*:role/"+strings.Trim(s.BreakGlassRole, "/"))
	}
	return out
}

// StackSetsExecutionRole is the role service-managed StackSets create trailguard's member stacks with: it must
// keep creating and updating the roles under /trailguard/.
const StackSetsExecutionRole = "arn:*:iam::*:role/stacksets-exec-*"

var (
	nameRule   = regexp.MustCompile(`^[\w+=,.@/-]{1,512}$`)
	prefixRule = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,256}$`)
)

// Validate names the setting that breaks a rule.
func (s Settings) Validate() error {
	if !slices.Contains(Levels, s.Level) {
		return fmt.Errorf("level %q: want one of %s", s.Level, strings.Join(Levels, ", "))
	}
	if s.BreakGlassRole != "" && (!nameRule.MatchString(s.BreakGlassRole) || strings.ContainsAny(s.BreakGlassRole, "*?")) {
		return fmt.Errorf("break-glass role %q: want a role name, optionally with its path, without wildcards", s.BreakGlassRole)
	}
	for _, p := range append(slices.Clone(s.LogGroupPrefixes), s.TrailPrefixes...) {
		if !prefixRule.MatchString(p) {
			return fmt.Errorf("prefix %q: want letters, digits and . - _ / # only (no wildcard: it is a prefix)", p)
		}
	}
	if s.Level != Off && len(s.LogGroupPrefixes) == 0 {
		return fmt.Errorf("no log group prefix: give at least one (default %s)", DefaultLogGroupPrefix)
	}
	return nil
}

// LogGroupActions are the actions the guardrail denies on guarded log groups and their streams.
var LogGroupActions = []string{"logs:DeleteLogGroup", "logs:PutLogGroupDeletionProtection", "logs:AssociateKmsKey",
	"logs:DisassociateKmsKey", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:DeleteLogStream"}

// TrailActions the guardrail denies on guarded trails; StrictTrailActions only at the strict level.
var (
	TrailActions       = []string{"cloudtrail:StopLogging", "cloudtrail:DeleteTrail"}
	StrictTrailActions = []string{"cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors"}
)

// roleWrites are the IAM calls that could make a role under /trailguard/ someone else's: anyone who could create
// or take over such a role would be exempt from the policy.
var roleWrites = []string{"iam:CreateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
	"iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
	"iam:DeleteRolePermissionsBoundary", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole"}

// Policy is the service control policy document for s; nil at the Off level.
func Policy(s Settings) map[string]any {
	if s.Level == Off {
		return nil
	}
	notExempt := map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": s.Exempt()}}
	with := func(extra map[string]any) map[string]any {
		c := map[string]any{"ArnNotLike": notExempt["ArnNotLike"]}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	var groups []string
	for _, p := range s.LogGroupPrefixes {
		groups = append(groups, "arn:*:logs:*:*:log-group:"+p+"*")
	}
	trailActions := slices.Clone(TrailActions)
	if s.Level == Strict {
		trailActions = append(trailActions, StrictTrailActions...)
	}
	tagged := func(key string) map[string]any {
		return with(map[string]any{"Null": map[string]any{"aws:ResourceTag/" + key: "false"}})
	}
	statements := []any{
		// By name: a group's name cannot be taken off it. The stream ARNs are the groups' own plus ":log-stream:*",
		// which the group patterns' trailing * already covers.
		deny("GuardedLogGroupsByName", LogGroupActions, groups, notExempt),
		// By trailguard's tag, whatever the name; the tag itself is guarded below.
		deny("GuardedLogGroupsByTag", LogGroupActions, []string{"*"}, tagged(delivery.TagTrail)),
		deny("TrailguardLogGroupTags", []string{"logs:UntagResource", "logs:UntagLogGroup", "logs:TagResource", "logs:TagLogGroup"},
			[]string{"*"}, tagged(delivery.TagTrail)),
		deny("GuardedTrailsByTag", trailActions, []string{"*"}, tagged(delivery.TagRegisteredBy)),
		deny("TrailRegistrationTag", []string{"cloudtrail:AddTags", "cloudtrail:RemoveTags"}, []string{"*"},
			with(map[string]any{"ForAnyValue:StringEquals": map[string]any{"aws:TagKeys": []string{delivery.TagRegisteredBy}}})),
		deny("TrailguardRoles", roleWrites, []string{"arn:*:iam::*:role" + delivery.RolePath + "*"},
			map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": append(s.Exempt(), StackSetsExecutionRole)}}),
	}
	if len(s.TrailPrefixes) > 0 {
		var trails []string
		for _, p := range s.TrailPrefixes {
			trails = append(trails, "arn:*:cloudtrail:*:*:trail/"+p+"*")
		}
		statements = append(statements, deny("GuardedTrailsByName", trailActions, trails, notExempt))
	}
	return map[string]any{"Version": "2012-10-17", "Statement": statements}
}

func deny(sid string, actions, resources []string, condition map[string]any) map[string]any {
	return map[string]any{"Sid": sid, "Effect": "Deny", "Action": actions, "Resource": resources, "Condition": condition}
}

// MaxSize is the largest service control policy AWS Organizations accepts, in characters.
const MaxSize = 5120
