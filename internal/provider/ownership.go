package provider

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/trailguard/trailguard/internal/delivery"
)

// TagStackID is the tag CloudFormation puts on every resource a stack creates: a trail declared in the same stack
// as its Custom::CloudTrailCloudWatchLogs carries the stack's id.
const TagStackID = "aws:cloudformation:stack-id"

// NotPermittedError means the requesting stack has not shown that it may manage the trail.
type NotPermittedError struct {
	Trail, Stack string
}

func (e *NotPermittedError) Error() string {
	return fmt.Sprintf("stack %s may not manage trail %s: the trail must say so (declare it in the same stack, or tag it "+
		"%s=<the stack id>), or the provider stack's allow-list (CDK context trailguard:allowedStacks) must name the stack",
		e.Stack, e.Trail, delivery.TagManagedBy)
}

// permitted applies the ownership rule: a stack may manage a trail only when the trail says so (consented),
// through the tag CloudFormation puts on a trail the stack itself declares or a trailguard:managed-by tag naming the
// stack by its id (the ARN with its UUID), or when the provider stack's allow-list admits the stack, or the
// managed-by tag names the stack by name only (allowed). First come is not enough: without this any stack in the
// account could take over or unlink a trail someone else wired. A stack name is not proof of identity (whoever
// creates a stack of that name first gets it, and a deleted stack's name is free again), so admission by name,
// the allow-list's or the tag's, is weaker: it may wire an unwired trail and no more (see needsConsent).
func (p *Provider) permitted(stackID string, tags map[string]string) (consented, allowed bool) {
	name := stackName(stackID)
	if tags[TagStackID] == stackID {
		return true, true
	}
	switch m := tags[delivery.TagManagedBy]; {
	case m == "":
	case m == stackID:
		return true, true
	case m == name:
		return false, true
	}
	for _, pattern := range p.allowed {
		if prefix, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasPrefix(name, prefix) || pattern == name {
			return false, true
		}
	}
	return false, false
}

// stackName is the name inside a stack ARN (arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID).
func stackName(stackID string) string {
	a, err := arn.Parse(stackID)
	if err != nil {
		return stackID
	}
	parts := strings.Split(a.Resource, "/")
	if len(parts) < 2 {
		return stackID
	}
	return parts[1]
}
