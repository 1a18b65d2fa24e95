// Package guardrail writes the organization's preventive guardrail: a service control policy that denies, in every
// member account it is attached to, the calls that destroy or hide the audit events trailguard guards, to every
// principal but trailguard's own roles and a named break-glass role. The organization stacks deploy it
// (infra/stacks/org.go); docs/organizations.md says what it covers, what it cannot, and how to roll it back.
//
// It is plain Go, apart from the CDK, so that its test can evaluate the policy quickly, with an independent IAM
// evaluator as well as its own.
package guardrail

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/trailguard/trailguard/internal/cis"
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
	out := []string{trailguardRoles}
	if s.BreakGlassRole != "" {
		out = append(out, s.breakGlassARN())
	}
	return out
}

func (s Settings) breakGlassARN() string {
	return "arn:*:iam::*:role/" + strings.Trim(s.BreakGlassRole, "/")
}

// trailguardRoles are the roles under trailguard's path, in every account.
const trailguardRoles = "arn:*:iam::*:role" + delivery.RolePath + "*"

// StackSetsExecutionRole is the role service-managed StackSets create trailguard's member stacks with (created in
// each member account by StackSets' service-linked role, which no SCP applies to): it must keep creating and
// updating the roles under /trailguard/.
const StackSetsExecutionRole = "arn:*:iam::*:role/stacksets-exec-*"

// ProtectedRoles are the roles whoever controls is exempt from the policy, or may write trailguard's roles: the
// roles under /trailguard/, the StackSets execution roles and the break-glass role. Nobody else may create, re-trust,
// re-permission, untag or pass them (to a function of their own, whose code would run as an exempt principal).
func (s Settings) ProtectedRoles() []string {
	out := []string{trailguardRoles, StackSetsExecutionRole}
	if s.BreakGlassRole != "" {
		out = append(out, s.breakGlassARN())
	}
	return out
}

// FunctionTag marks trailguard's Lambda functions (the stacks put it on both): nobody but an exempt principal may
// change their code or configuration, which run as trailguard's exempt roles, nor take the mark off.
const FunctionTag = "trailguard:function"

// PolicyTag marks the guardrail policy itself: a delegated administrator for Organizations policies in a member
// account may not detach, change or delete it (the management account can: no SCP applies to it).
const PolicyTag = "trailguard:guardrail"

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
	if n := Size(s); n > MaxSize {
		return fmt.Errorf("%w: %d characters with %d log group prefixes, %d trail prefixes and break-glass role %q: "+
			"give fewer or shorter prefixes", ErrTooLarge, n, len(s.LogGroupPrefixes), len(s.TrailPrefixes), s.BreakGlassRole)
	}
	return nil
}

// ErrTooLarge is Validate's error for settings whose policy AWS Organizations would refuse (over MaxSize).
var ErrTooLarge = fmt.Errorf("the guardrail policy is larger than AWS Organizations' limit of %d characters for a service control policy", MaxSize)

// Size is the length of s's policy as the organization stack writes it (compact JSON), the length AWS
// Organizations counts; 0 when off.
func Size(s Settings) int {
	doc := Policy(s)
	if doc == nil {
		return 0
	}
	raw, err := json.Marshal(doc)
	if err != nil { // maps of strings: cannot happen
		panic(err)
	}
	return len(raw)
}

// LogGroupActions are the actions the guardrail denies on guarded log groups and their streams.
var LogGroupActions = []string{"logs:DeleteLogGroup", "logs:PutLogGroupDeletionProtection", "logs:AssociateKmsKey",
	"logs:DisassociateKmsKey", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:DeleteLogStream"}

// TrailActions the guardrail denies on guarded trails; StrictTrailActions only at the strict level.
var (
	TrailActions       = []string{"cloudtrail:StopLogging", "cloudtrail:DeleteTrail"}
	StrictTrailActions = []string{"cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors"}
)

// RoleWrites are the IAM calls that could make a protected role (ProtectedRoles) someone else's, or run someone
// else's code as it (PassRole): anyone who could would be exempt from the policy.
var RoleWrites = []string{"iam:CreateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
	"iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
	"iam:DeleteRolePermissionsBoundary", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole", "iam:PassRole"}

// PolicyWrites are the IAM calls that would change a managed policy under /trailguard/ (the delivery roles'
// permissions boundary, the ceiling of what CloudTrail may do with them and of the roles the provider may write).
var PolicyWrites = []string{"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"}

// FunctionWrites are the Lambda calls on a function tagged FunctionTag that would run other code as its exempt role
// (code, configuration: layers, handler, environment, role), stop it guarding (delete, concurrency 0), or take
// the mark off. Invoking it stays free: the functions check their own input (docs/security.md).
var FunctionWrites = []string{"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction",
	"lambda:PutFunctionConcurrency", "lambda:TagResource", "lambda:UntagResource"}

// OrganizationWrites are the calls that would take a member account out from under the policy: leaving the
// organization, and a delegated administrator's detaching, changing or deleting the policy tagged PolicyTag.
var OrganizationWrites = []string{"organizations:DetachPolicy", "organizations:UpdatePolicy", "organizations:DeletePolicy",
	"organizations:UntagResource", "organizations:TagResource"}

// Policy is the service control policy document for s; nil at the Off level.
func Policy(s Settings) map[string]any {
	if s.Level == Off {
		return nil
	}
	notExempt := map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": s.Exempt()}}
	// The StackSets execution role also deploys trailguard's roles and functions into each member account.
	notDeployer := map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": append(s.Exempt(), StackSetsExecutionRole)}}
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
		// Whoever could create, re-trust or pass one of these roles would be exempt, or could write trailguard's.
		deny("ProtectedRoles", RoleWrites, s.ProtectedRoles(), notDeployer),
		deny("TrailguardPolicies", PolicyWrites, []string{"arn:*:iam::*:policy" + delivery.RolePath + "*"}, notDeployer),
		deny("TrailguardFunctions", FunctionWrites, []string{"*"},
			map[string]any{"ArnNotLike": notDeployer["ArnNotLike"], "Null": map[string]any{"aws:ResourceTag/" + FunctionTag: "false"}}),
		// A negative data point put straight into the CIS pack's namespace cancels a match in its alarm's Sum, and
		// nothing trailguard reads would show it afterwards, so it is denied here. (The pack's alarms and filters are
		// repaired by the remediator; denying their writes too would cost this policy's size limit prefixes.)
		deny("PackMetricData", []string{"cloudwatch:PutMetricData"}, []string{"*"},
			with(map[string]any{"StringEquals": map[string]any{"cloudwatch:namespace": []string{cis.Namespace}}})),
		deny("LeaveOrganization", []string{"organizations:LeaveOrganization"}, []string{"*"}, notExempt),
		deny("GuardrailPolicy", OrganizationWrites, []string{"*"}, tagged(PolicyTag)),
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
