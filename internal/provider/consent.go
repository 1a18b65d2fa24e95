package provider

import (
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
)

// ConsentError means the request would do something only a stack the trail itself names by its id may do, and the
// trail does not name this stack so (it was admitted by the allow-list, or by a tag naming it by name only).
type ConsentError struct {
	Trail, StackID string
	// Rule is what the request would do, e.g. "supersede the account policy's registration".
	Rule string
}

func (e *ConsentError) Error() string {
	return fmt.Sprintf("stack %s may not %s of trail %s: that needs the trail's own consent, which only a stack the trail "+
		"names by its id has (tag it %s=%s, or declare it in the same stack); the allow-list and a %s tag naming the "+
		"stack by name admit only wiring an unwired trail",
		stackName(e.StackID), e.Rule, e.Trail, delivery.TagManagedBy, e.StackID, delivery.TagManagedBy)
}

// needsConsent names the first thing the request would do that only a consented stack may, or "" when there is
// none. A stack name is the stack author's choice, so what a name (the allow-list's or a tag's) admits must not
// take anything from the trail's current guard: not another registration (the account policy's included), not a
// link, log group, role or key the trail already relies on, not retention, not the repair mode, not the log group's
// deletion protection, and not the monitoring pack or where its alarms go. prior is this
// resource's own registration (an Update), nil for a Create.
func needsConsent(s spec.Spec, t delivery.Target, prior *registry.Record, supersede bool) string {
	if supersede {
		return "supersede the account policy's registration"
	}
	if s.AllowCrossAccountKey && t.KmsKeyID != "" {
		if k, err := arn.Parse(t.KmsKeyID); err == nil && k.AccountID != t.Account {
			return fmt.Sprintf("use key %s of another account for the log group", t.KmsKeyID)
		}
	}
	if prior == nil || prior.Target.TrailARN != t.TrailARN {
		return ""
	}
	was := prior.Target
	switch {
	case was.LogGroupName != t.LogGroupName:
		return fmt.Sprintf("move the delivery from log group %s to %s", was.LogGroupName, t.LogGroupName)
	case was.RoleARN() != t.RoleARN():
		return fmt.Sprintf("change the delivery role from %s to %s", was.RoleARN(), t.RoleARN())
	case was.KmsKeyID != t.KmsKeyID:
		return fmt.Sprintf("change the log group's key from %q to %q", was.KmsKeyID, t.KmsKeyID)
	case spec.ShorterRetention(t.RetentionInDays, was.RetentionInDays):
		return fmt.Sprintf("lower RetentionInDays from %s to %s", spec.RetentionText(was.RetentionInDays), spec.RetentionText(t.RetentionInDays))
	case modeRank(s.Remediation) < modeRank(prior.Spec.Remediation):
		return fmt.Sprintf("weaken Remediation from %s to %s", prior.Spec.Remediation, s.Remediation)
	case was.EnforceLogging && !t.EnforceLogging:
		return "turn EnforceLogging off"
	case prior.Spec.RepairPosture && !s.RepairPosture:
		return "turn RepairPosture off"
	case !prior.Spec.DeletionProtectionOff && s.DeletionProtectionOff:
		return "turn DeletionProtection off"
	case packRank(s.MonitoringPack) < packRank(prior.Spec.MonitoringPack):
		return fmt.Sprintf("weaken MonitoringPack from %s to %s", packName(prior.Spec.MonitoringPack), packName(s.MonitoringPack))
	case s.MonitoringPack != "" && prior.Spec.MonitoringPack != "" && s.AlarmTopicARN != prior.Spec.AlarmTopicARN:
		return fmt.Sprintf("send the pack's alarms to %s instead of %s", topicName(s.AlarmTopicARN), topicName(prior.Spec.AlarmTopicARN))
	}
	return ""
}

// packRank orders the monitoring packs by how much they watch: cis.Sets lists them so, each adding to the one
// before (none, cis, cis-v5).
func packRank(p string) int { return slices.Index(cis.Sets, cis.Set(packName(p))) }

func packName(p string) string {
	if p == "" {
		return string(cis.None)
	}
	return p
}

func topicName(arn string) string {
	if arn == "" {
		return "the provider stack's topic"
	}
	return arn
}

// modeRank orders the repair modes by how much they guard.
func modeRank(m spec.Mode) int {
	switch m {
	case spec.Enforce:
		return 2
	case spec.Report:
		return 1
	}
	return 0
}
