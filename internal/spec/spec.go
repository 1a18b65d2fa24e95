// Package spec parses and validates the properties of a Custom::CloudTrailCloudWatchLogs resource into the desired
// state trailguard keeps: which trail, which log group, which role, and how hard to enforce it.
//
// CloudFormation passes every property as a string ("true", "365"), so Parse accepts strings and, for tests and
// hand-written events, the JSON types they stand for. Every problem is reported as a *FieldError that names the
// property and the rule it broke, so a stack author can fix the template without reading code.
package spec

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/trailguard/trailguard/internal/cis"
)

// Mode says what the remediator does when a trail drifts from its desired state.
type Mode string

const (
	// Enforce repairs drift and notifies.
	Enforce Mode = "enforce"
	// Report notifies and changes nothing.
	Report Mode = "report"
	// Off does not register the trail: the remediator never looks at it.
	Off Mode = "off"
)

// DefaultRoleName is the role name AWS's own procedure (and the CloudTrail console) uses.
const DefaultRoleName = "CloudTrail_CloudWatchLogs_Role"

// DefaultRetentionInDays applies to a log group trailguard creates when RetentionInDays is not given.
const DefaultRetentionInDays = 365

// Spec is the desired state of one trail's CloudWatch Logs delivery, as the stack author declared it.
// Zero values mean "not given": the engine applies the documented defaults.
type Spec struct {
	TrailName              string
	LogGroupName           string
	LogGroupARN            string
	RetentionInDays        int32
	KmsKeyID               string
	RoleName               string
	RoleARN                string
	Remediation            Mode
	EnforceLogging         bool
	DeleteLogGroupOnDelete bool
	// ReplaceExistingDelivery lets trailguard rewire a trail that already delivers to another log group; the
	// previous link is restored on Delete. Without it such a trail is refused, so no stack silently redirects an
	// audit trail someone else wired.
	ReplaceExistingDelivery bool
	// AllowCrossAccountKey accepts a KmsKeyId of another account (its key policy must let CloudWatch Logs of this
	// account use it). The key's region must still be the trail's.
	AllowCrossAccountKey bool
	// DeletionProtectionOff is the property DeletionProtection set to "false": trailguard then leaves CloudWatch
	// Logs deletion protection off the log group. It is on by default (the zero value), so that a group's
	// DeleteLogGroup fails instead of taking every audit event with it.
	DeletionProtectionOff bool
	// RepairPosture makes the remediator also put back the trail's archive as registered (its S3 bucket and prefix,
	// its KMS key, log file validation) when someone changes it. Off by default: the archive is the trail owner's,
	// and a change of it is reported, so a person decides (docs/contract.md, "The remediator").
	RepairPosture bool
	// MonitoringPack is the CIS monitoring pack kept on the log group: "none" (default), "cis" or "cis-v5"
	// (docs/cis.md). AlarmTopicARN is the SNS topic its alarms notify; empty: the provider stack's topic.
	MonitoringPack string
	AlarmTopicARN  string
}

// FieldError is a property that breaks a rule. It names both, so the message alone is enough to fix the template.
type FieldError struct {
	Field string
	Rule  string
}

func (e *FieldError) Error() string { return fmt.Sprintf("property %s: %s", e.Field, e.Rule) }

// ignored are set by CloudFormation itself, not by the stack author.
var ignored = map[string]bool{"ServiceToken": true, "ServiceTimeout": true}

var known = []string{
	"TrailName", "LogGroupName", "LogGroupArn", "RetentionInDays", "KmsKeyId", "RoleName", "RoleArn",
	"Remediation", "EnforceLogging", "DeleteLogGroupOnDelete", "ReplaceExistingDelivery", "AllowCrossAccountKey",
	"DeletionProtection",
	"RepairPosture", "MonitoringPack", "AlarmTopicArn",
}

// RetentionValues are the values CloudWatch Logs accepts for PutRetentionPolicy.
var RetentionValues = []int32{
	1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
}

// The naming rules are plain loops, not regular expressions: a counted repeat such as {1,126} compiles into a
// large program at init, which every cold start would pay for.

// isTrailName applies CloudTrail's rule: 3-128 characters, letters, digits, '.', '_', '-', starting and ending
// with a letter or digit, and no two of '._-' next to each other.
func isTrailName(name string) bool {
	if len(name) < 3 || len(name) > 128 || !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && !strings.ContainsRune("._-", rune(c)) {
			return false
		}
		if i > 0 && !isAlnum(c) && !isAlnum(name[i-1]) {
			return false
		}
	}
	return true
}

// IsLogGroupName applies CloudWatch Logs' rule: 1-512 characters, letters, digits and ._-/#.
func IsLogGroupName(name string) bool { return allOf(name, 1, 512, "._-/#") }

// isRoleName applies IAM's rule: 1-64 characters, letters, digits and +=,.@_-.
func isRoleName(name string) bool { return allOf(name, 1, 64, iamNameSymbols) }

// iamNameSymbols are the characters besides letters and digits that IAM allows in role and policy names.
const iamNameSymbols = "+=,.@_-"

// IsIAMNameByte reports whether c may appear in an IAM role or policy name: a letter, a digit or one of +=,.@_-.
func IsIAMNameByte(c byte) bool { return isAlnum(c) || strings.IndexByte(iamNameSymbols, c) >= 0 }

// allOf says whether s has min to max bytes, each a letter, a digit or one of extra.
func allOf(s string, min, max int, extra string) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !strings.ContainsRune(extra, rune(s[i])) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Parse turns CloudFormation resource properties into a Spec, applying the documented defaults for Remediation,
// EnforceLogging and DeleteLogGroupOnDelete. It reports every problem it finds, joined, each a *FieldError.
func Parse(props map[string]any) (Spec, error) {
	s := Spec{Remediation: Enforce, EnforceLogging: true}
	var errs []error
	fail := func(field, rule string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(rule, args...)})
	}

	var unknown []string
	for k := range props {
		if !ignored[k] && !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		fail(k, "unknown property; allowed: %s", strings.Join(known, ", "))
	}

	str := func(field string) string {
		v, ok := props[field]
		if !ok || v == nil {
			return ""
		}
		switch v := v.(type) {
		case string:
			return strings.TrimSpace(v)
		case float64, bool, int, int32, int64:
			return fmt.Sprint(v)
		default:
			fail(field, "must be a string, got %T", v)
			return ""
		}
	}
	boolean := func(field string, def bool) bool {
		v := str(field)
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			fail(field, "must be \"true\" or \"false\", got %q", v)
			return def
		}
		return b
	}

	s.TrailName = str("TrailName")
	s.LogGroupName = str("LogGroupName")
	s.LogGroupARN = str("LogGroupArn")
	s.KmsKeyID = str("KmsKeyId")
	s.RoleName = str("RoleName")
	s.RoleARN = str("RoleArn")
	s.EnforceLogging = boolean("EnforceLogging", true)
	s.DeleteLogGroupOnDelete = boolean("DeleteLogGroupOnDelete", false)
	s.ReplaceExistingDelivery = boolean("ReplaceExistingDelivery", false)
	s.AllowCrossAccountKey = boolean("AllowCrossAccountKey", false)
	s.DeletionProtectionOff = !boolean("DeletionProtection", true)
	s.RepairPosture = boolean("RepairPosture", false)

	if r := str("RetentionInDays"); r != "" {
		n, err := strconv.ParseInt(r, 10, 32)
		switch {
		case err != nil:
			fail("RetentionInDays", "must be a whole number of days, got %q", r)
		case !slices.Contains(RetentionValues, int32(n)):
			fail("RetentionInDays", "must be one of the values CloudWatch Logs allows (%s), got %d", joinInts(RetentionValues), n)
		default:
			s.RetentionInDays = int32(n)
		}
	}
	s.AlarmTopicARN = str("AlarmTopicArn")
	switch p := cis.Set(strings.ToLower(str("MonitoringPack"))); {
	case p == "" || p == cis.None:
	case slices.Contains(cis.Sets, p):
		s.MonitoringPack = string(p)
	default:
		fail("MonitoringPack", "must be one of %v, got %q", cis.Sets, p)
	}
	if s.AlarmTopicARN != "" && s.MonitoringPack == "" {
		fail("AlarmTopicArn", "applies only with MonitoringPack cis or cis-v5")
	}
	if m := str("Remediation"); m != "" {
		switch Mode(strings.ToLower(m)) {
		case Enforce, Report, Off:
			s.Remediation = Mode(strings.ToLower(m))
		default:
			fail("Remediation", "must be one of enforce, report, off, got %q", m)
		}
	}

	errs = append(errs, s.validate()...)
	if len(errs) > 0 {
		return Spec{}, errors.Join(errs...)
	}
	return s, nil
}

// validate checks the rules between and inside fields that do not depend on parsing.
func (s Spec) validate() []error {
	var errs []error
	fail := func(field, rule string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(rule, args...)})
	}

	switch {
	case s.TrailName == "":
		fail("TrailName", "is required (a trail name or trail ARN)")
	case strings.HasPrefix(s.TrailName, "arn:"):
		if _, err := ParseTrailARN(s.TrailName); err != nil {
			fail("TrailName", "%v", err)
		}
	default:
		if err := CheckTrailName(s.TrailName); err != nil {
			fail("TrailName", "%v", err)
		}
	}

	if s.LogGroupName != "" && s.LogGroupARN != "" {
		fail("LogGroupArn", "is exclusive with LogGroupName: give one or the other")
	}
	if s.LogGroupName != "" && !IsLogGroupName(s.LogGroupName) {
		fail("LogGroupName", "must be 1-512 characters of letters, digits and ._-/#, got %q", s.LogGroupName)
	}
	if s.LogGroupARN != "" {
		if _, err := ParseLogGroupARN(s.LogGroupARN); err != nil {
			fail("LogGroupArn", "%v", err)
		}
	}
	if s.RoleName != "" && s.RoleARN != "" {
		fail("RoleArn", "is exclusive with RoleName: give one or the other")
	}
	if s.RoleName != "" && !isRoleName(s.RoleName) {
		fail("RoleName", "must be 1-64 characters of letters, digits and +=,.@_-, got %q", s.RoleName)
	}
	if s.RoleARN != "" {
		if _, err := ParseRoleARN(s.RoleARN); err != nil {
			fail("RoleArn", "%v", err)
		}
	}
	if s.KmsKeyID != "" {
		if _, err := ParseKeyARN(s.KmsKeyID); err != nil {
			fail("KmsKeyId", "%v", err)
		}
	}
	if s.KmsKeyID != "" && s.LogGroupARN != "" {
		fail("KmsKeyId", "only applies to a log group trailguard creates; it cannot be combined with LogGroupArn")
	}
	return errs
}

// CheckTrailName applies CloudTrail's naming rules.
func CheckTrailName(name string) error {
	if !isTrailName(name) {
		return fmt.Errorf("trail name %q must be 3-128 letters, digits, '.', '_' or '-', start and end with a letter or digit, "+
			"and have no two of '._-' next to each other", name)
	}
	return nil
}

// TrailARN is a parsed CloudTrail trail ARN. Its region is the trail's home region.
type TrailARN struct {
	Partition, Region, Account, Name string
}

func (t TrailARN) String() string {
	return arn.ARN{Partition: t.Partition, Service: "cloudtrail", Region: t.Region, AccountID: t.Account, Resource: "trail/" + t.Name}.String()
}

// ParseTrailARN parses arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME.
func ParseTrailARN(s string) (TrailARN, error) {
	a, err := arn.Parse(s)
	name, ok := strings.CutPrefix(a.Resource, "trail/")
	if err != nil || a.Service != "cloudtrail" || !ok || a.Region == "" || !isAccount(a.AccountID) {
		return TrailARN{}, fmt.Errorf("%q is not a trail ARN (arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME)", s)
	}
	if err := CheckTrailName(name); err != nil {
		return TrailARN{}, err
	}
	return TrailARN{Partition: a.Partition, Region: a.Region, Account: a.AccountID, Name: name}, nil
}

// KeyARN is a parsed KMS key ARN.
type KeyARN struct {
	Partition, Region, Account, ID string
}

// ParseKeyARN parses arn:PARTITION:kms:REGION:ACCOUNT:key/ID. An alias is refused: what it points at can change
// after the log group was checked.
func ParseKeyARN(s string) (KeyARN, error) {
	a, err := arn.Parse(s)
	id, ok := strings.CutPrefix(a.Resource, "key/")
	if err != nil || a.Service != "kms" || !ok || id == "" || a.Region == "" || !isAccount(a.AccountID) {
		return KeyARN{}, fmt.Errorf("must be a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID), got %q", s)
	}
	return KeyARN{Partition: a.Partition, Region: a.Region, Account: a.AccountID, ID: id}, nil
}

// CheckKey applies the rule for a log group's key: the key must be in the trail's partition and region (CloudWatch
// Logs uses only a key of its own region), and in the trail's account unless crossAccount was asked for.
func CheckKey(key string, trail TrailARN, crossAccount bool) error {
	k, err := ParseKeyARN(key)
	if err != nil {
		return &FieldError{Field: "KmsKeyId", Rule: err.Error()}
	}
	if k.Partition != trail.Partition || k.Region != trail.Region {
		return &FieldError{Field: "KmsKeyId", Rule: fmt.Sprintf("key %s is in region %s; it must be in the trail's home region %s",
			key, k.Region, trail.Region)}
	}
	if k.Account != trail.Account && !crossAccount {
		return &FieldError{Field: "KmsKeyId", Rule: fmt.Sprintf("key %s belongs to account %s, not the trail's account %s; "+
			"set AllowCrossAccountKey to \"true\" to use another account's key", key, k.Account, trail.Account)}
	}
	return nil
}

// ShorterRetention says whether a retention of got days keeps events for less time than one of want days; 0 is
// forever. Only a shorter retention loses audit data: the remediator's drift check and the provider's consent rule
// both ask this.
func ShorterRetention(got, want int32) bool {
	switch {
	case want == 0:
		return got != 0
	case got == 0:
		return false
	}
	return got < want
}

// RetentionText is a retention in days as a person reads it: "forever" for 0.
func RetentionText(days int32) string {
	if days == 0 {
		return "forever"
	}
	return fmt.Sprintf("%d days", days)
}

// CheckRetention says whether days is a retention CloudWatch Logs allows; 0 means the events never expire.
func CheckRetention(days int32) error {
	if days == 0 || slices.Contains(RetentionValues, days) {
		return nil
	}
	return &FieldError{Field: "RetentionInDays", Rule: fmt.Sprintf("must be one of the values CloudWatch Logs allows (%s), got %d",
		joinInts(RetentionValues), days)}
}

// LogGroupARN is a parsed CloudWatch Logs log group ARN.
type LogGroupARN struct {
	Partition, Region, Account, Name string
}

// ParseLogGroupARN parses arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME, with or without the ":*" suffix that
// CloudTrail wants.
func ParseLogGroupARN(s string) (LogGroupARN, error) {
	a, err := arn.Parse(s)
	name, ok := strings.CutPrefix(a.Resource, "log-group:")
	name = strings.TrimSuffix(name, ":*")
	if err != nil || a.Service != "logs" || !ok || a.Region == "" || !isAccount(a.AccountID) || !IsLogGroupName(name) {
		return LogGroupARN{}, fmt.Errorf("%q is not a log group ARN (arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME)", s)
	}
	return LogGroupARN{Partition: a.Partition, Region: a.Region, Account: a.AccountID, Name: name}, nil
}

// RoleARN is a parsed IAM role ARN. IAM is global: it has no region.
type RoleARN struct {
	Partition, Account, Path, Name string
}

// ParseRoleARN parses arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
func ParseRoleARN(s string) (RoleARN, error) {
	a, err := arn.Parse(s)
	rest, ok := strings.CutPrefix(a.Resource, "role/")
	if err != nil || a.Service != "iam" || !ok || a.Region != "" || !isAccount(a.AccountID) {
		return RoleARN{}, fmt.Errorf("%q is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)", s)
	}
	path, name := "/", rest
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		path, name = "/"+rest[:i+1], rest[i+1:]
	}
	if !isRoleName(name) {
		return RoleARN{}, fmt.Errorf("%q is not an IAM role ARN: role name %q breaks IAM's naming rule", s, name)
	}
	return RoleARN{Partition: a.Partition, Account: a.AccountID, Path: path, Name: name}, nil
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func joinInts(v []int32) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(int(n))
	}
	return strings.Join(s, ", ")
}
