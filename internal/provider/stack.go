package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/trailguard/trailguard/internal/customresource"
)

// Stacks is the part of the CloudFormation client the provider reads to confirm that a request comes from a real
// stack operation.
type Stacks interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	DescribeStackResource(context.Context, *cloudformation.DescribeStackResourceInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceOutput, error)
}

// WithStackCheck makes the provider confirm, before any write, that the request's stack exists, is in the middle of
// an operation, and declares the request's logical resource as a custom resource that is itself in the middle of
// the request's operation (and, for Update and Delete, has the request's physical id). Without it (local runs) the
// request's identity is taken as given.
func WithStackCheck(s Stacks) Option { return func(p *Provider) { p.stacks = s } }

// NotFromStackError means a request names a stack operation that is not happening: it was sent by someone who may
// invoke the function, not by CloudFormation.
type NotFromStackError struct {
	StackID, LogicalResourceID, Reason string
}

func (e *NotFromStackError) Error() string {
	return fmt.Sprintf("request refused: stack %s, resource %s: %s; only CloudFormation, during an operation of that "+
		"stack, may send it", e.StackID, e.LogicalResourceID, e.Reason)
}

// checkStack confirms the request's stack operation. The ownership rule trusts the stack the request names, so a
// request naming a stack that does not exist (one whose name the allow-list admits, or one a trail's tag names) must
// not reach it: its registration could never be deleted.
func (p *Provider) checkStack(ctx context.Context, req customresource.Request) error {
	if p.stacks == nil {
		return nil
	}
	refuse := func(format string, a ...any) error {
		return &NotFromStackError{StackID: req.StackID, LogicalResourceID: req.LogicalResourceID, Reason: fmt.Sprintf(format, a...)}
	}
	var (
		wg                sync.WaitGroup
		stacks            *cloudformation.DescribeStacksOutput
		resource          *cloudformation.DescribeStackResourceOutput
		stacksErr, resErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		stacks, stacksErr = p.stacks.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(req.StackID)})
	}()
	go func() {
		defer wg.Done()
		resource, resErr = p.stacks.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
			StackName: aws.String(req.StackID), LogicalResourceId: aws.String(req.LogicalResourceID)})
	}()
	wg.Wait()
	if err := errors.Join(stacksErr, resErr); err != nil {
		// CloudFormation answers ValidationError for a stack or a logical resource it does not know.
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "ValidationError" {
			return refuse("CloudFormation does not know it (%s)", api.ErrorMessage())
		}
		return fmt.Errorf("confirm stack %s: %w", req.StackID, err)
	}
	if len(stacks.Stacks) != 1 || aws.ToString(stacks.Stacks[0].StackId) != req.StackID {
		return refuse("CloudFormation does not know it")
	}
	if status := string(stacks.Stacks[0].StackStatus); !strings.HasSuffix(status, "_IN_PROGRESS") {
		return refuse("the stack is %s, not in the middle of an operation", status)
	}
	detail := resource.StackResourceDetail
	if detail == nil || aws.ToString(detail.StackId) != req.StackID {
		return refuse("the stack has no such resource")
	}
	if t := aws.ToString(detail.ResourceType); !strings.HasPrefix(t, "Custom::") && t != "AWS::CloudFormation::CustomResource" {
		return refuse("the resource is a %s, not a custom resource", t)
	}
	if reason := operationMismatch(req, string(stacks.Stacks[0].StackStatus), detail); reason != "" {
		return refuse("%s", reason)
	}
	return nil
}

// operationMismatch says why the resource CloudFormation describes is not in the middle of the request's own
// operation, or "" when it is. A stack mid-operation is not enough: a forged request would then need only some
// operation of its stack (any deploy of it), where it now needs this very resource to be mid-Create, mid-Update of
// the physical id it names, or mid-Delete of it.
//
// One Delete is not the resource's current operation: after an Update that replaced the resource (a new physical
// id), CloudFormation deletes the old one in the stack's cleanup phase, while the resource itself already reports
// the new id. Such a Delete is accepted only in a cleanup phase and only for an id that is no longer the resource's.
func operationMismatch(req customresource.Request, stackStatus string, detail *cftypes.StackResourceDetail) string {
	status, physical := string(detail.ResourceStatus), aws.ToString(detail.PhysicalResourceId)
	want := map[string]string{
		customresource.RequestCreate: "CREATE_IN_PROGRESS",
		customresource.RequestUpdate: "UPDATE_IN_PROGRESS",
		customresource.RequestDelete: "DELETE_IN_PROGRESS",
	}[req.RequestType]
	if req.RequestType == customresource.RequestDelete && strings.HasSuffix(stackStatus, "_CLEANUP_IN_PROGRESS") &&
		physical != req.PhysicalResourceID {
		return ""
	}
	switch {
	case status != want:
		return fmt.Sprintf("the resource is %s, not %s as a %s request needs", orNone(status), want, req.RequestType)
	case req.RequestType != customresource.RequestCreate && physical != req.PhysicalResourceID:
		return fmt.Sprintf("the resource's physical id is %s, not the request's %s", orNone(physical), req.PhysicalResourceID)
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
