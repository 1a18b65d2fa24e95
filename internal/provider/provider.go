// Package provider implements the Custom::CloudTrailCloudWatchLogs resource: it turns CloudFormation's Create,
// Update and Delete into the delivery engine's resolve, reconcile and remove, and keeps the registry in step.
// The CloudFormation protocol itself (responses, deadlines, panics) is customresource's job.
package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/trailguard/trailguard/internal/customresource"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
)

// ResourceType is the CloudFormation type this provider serves.
const ResourceType = "Custom::CloudTrailCloudWatchLogs"

// Engine is the part of the delivery engine the provider drives.
type Engine interface {
	Region() string
	Resolve(context.Context, delivery.Caller, spec.Spec) (delivery.Target, error)
	Reconcile(context.Context, delivery.Target, delivery.Aspect) (delivery.Result, error)
	Remove(ctx context.Context, t delivery.Target, deleteLogGroup bool) ([]string, error)
	ReleaseRole(ctx context.Context, t delivery.Target) ([]string, error)
}

// Registry is the part of the registry the provider writes.
type Registry interface {
	Get(ctx context.Context, trailARN string) (registry.Record, bool, error)
	Claim(ctx context.Context, rec registry.Record) error
	Release(ctx context.Context, trailARN string, owner registry.Owner) error
}

// Provider handles the resource's requests.
type Provider struct {
	engine Engine
	reg    Registry
	log    *slog.Logger
}

// New returns a provider. reg may be nil when no registry is deployed: then nothing is registered for remediation.
func New(engine Engine, reg Registry, log *slog.Logger) *Provider {
	if log == nil {
		log = slog.Default()
	}
	return &Provider{engine: engine, reg: reg, log: log}
}

// Handle serves one CloudFormation request. Its PhysicalResourceId is the trail ARN.
func (p *Provider) Handle(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	switch req.RequestType {
	case "Create":
		return p.apply(ctx, req, nil)
	case "Update":
		return p.update(ctx, req)
	case "Delete":
		return p.delete(ctx, req)
	}
	return customresource.Result{}, fmt.Errorf("unknown RequestType %q: want Create, Update or Delete", req.RequestType)
}

// caller reads the account and partition from the stack ARN, so the provider needs no STS call.
func caller(req customresource.Request) (delivery.Caller, error) {
	a, err := arn.Parse(req.StackID)
	if err != nil || a.Service != "cloudformation" || a.AccountID == "" {
		return delivery.Caller{}, fmt.Errorf("StackId %q is not a CloudFormation stack ARN", req.StackID)
	}
	return delivery.Caller{Partition: a.Partition, Account: a.AccountID}, nil
}

func owner(req customresource.Request) registry.Owner {
	return registry.Owner{StackID: req.StackID, LogicalResourceID: req.LogicalResourceID}
}

// apply wires the trail the request's properties name, registers it, and answers with the trail ARN. old is the
// target the resource had before an Update, if any: its role policy is removed once the new wiring works.
func (p *Provider) apply(ctx context.Context, req customresource.Request, old *delivery.Target) (customresource.Result, error) {
	s, err := spec.Parse(req.ResourceProperties)
	if err != nil {
		return customresource.Result{}, err
	}
	who, err := caller(req)
	if err != nil {
		return customresource.Result{}, err
	}
	t, err := p.engine.Resolve(ctx, who, s)
	if err != nil {
		return customresource.Result{}, err
	}
	claimed, err := p.claim(ctx, req, s, t)
	if err != nil {
		return customresource.Result{}, err
	}
	res, err := p.engine.Reconcile(ctx, t, aspectsFor(t))
	if err == nil && !res.Converged(t) {
		err = fmt.Errorf("trail %s still drifts after the repair: %s", t.TrailARN, describe(res.Remaining))
	}
	if err != nil {
		if claimed && req.RequestType == "Create" {
			// CloudFormation answers a failed Create with a Delete that must change nothing, so give the claim back now.
			if rerr := p.reg.Release(ctx, t.TrailARN, owner(req)); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return customresource.Result{}, err
	}
	p.log.InfoContext(ctx, "trail delivers to CloudWatch Logs", "request_type", req.RequestType, "trail", t.TrailARN,
		"log_group", t.LogGroupName, "role", t.RoleName, "drift_found", describe(res.Found), "actions", res.Actions)
	if old != nil && old.TrailARN == t.TrailARN && old.RoleName != t.RoleName {
		if _, err := p.engine.ReleaseRole(ctx, *old); err != nil {
			return customresource.Result{}, fmt.Errorf("trail %s now uses role %s; removing its policy from the old role %s: %w",
				t.TrailARN, t.RoleName, old.RoleName, err)
		}
	}
	return customresource.Result{PhysicalResourceID: t.TrailARN, Data: data(t)}, nil
}

// aspectsFor is what Create and Update reconcile: everything, but logging only when the spec enforces it, because
// starting a trail the author deliberately stopped is not the provider's call.
func aspectsFor(t delivery.Target) delivery.Aspect {
	if t.EnforceLogging {
		return delivery.AspectAll
	}
	return delivery.AspectAll &^ delivery.AspectLogging
}

// claim registers the desired state for this resource, or, with Remediation off, makes sure this resource holds no
// registration. It reports whether it wrote a registration. Another owner's registration fails the request.
func (p *Provider) claim(ctx context.Context, req customresource.Request, s spec.Spec, t delivery.Target) (bool, error) {
	if p.reg == nil {
		return false, nil
	}
	if s.Remediation == spec.Off {
		rec, found, err := p.reg.Get(ctx, t.TrailARN)
		if err != nil {
			return false, err
		}
		if found && rec.Owner != owner(req) {
			return false, &registry.OwnedError{Trail: t.TrailARN, Owner: rec.Owner}
		}
		return false, p.reg.Release(ctx, t.TrailARN, owner(req))
	}
	err := p.reg.Claim(ctx, registry.Record{TrailArn: t.TrailARN, Owner: owner(req), Spec: s, Target: t})
	return err == nil, err
}

func (p *Provider) update(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	var old *delivery.Target
	if trail, err := spec.ParseTrailARN(req.PhysicalResourceID); err == nil {
		if t, _, known := targetFor(trail, req.OldResourceProperties); known {
			old = &t
		}
	}
	res, err := p.apply(ctx, req, old)
	if err == nil && res.PhysicalResourceID != req.PhysicalResourceID {
		// A different trail: CloudFormation replaces the resource and sends Delete for the old id, which unwires it.
		p.log.InfoContext(ctx, "trail changed: replacing the resource", "old_trail", req.PhysicalResourceID, "trail", res.PhysicalResourceID)
	}
	return res, err
}

// delete unwires the trail this resource wired. An id the provider never issued (a failed Create, a
// CloudFormation-generated id) and a trail another resource owns are left alone.
func (p *Provider) delete(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	done := customresource.Result{PhysicalResourceID: req.PhysicalResourceID}
	trail, err := spec.ParseTrailARN(req.PhysicalResourceID)
	if err != nil {
		p.log.InfoContext(ctx, "delete of a resource that was never created: nothing to do", "physical_id", req.PhysicalResourceID)
		return done, nil
	}
	t, deleteLogGroup, known := targetFor(trail, req.ResourceProperties)
	registered := false
	if p.reg != nil {
		rec, found, err := p.reg.Get(ctx, trail.String())
		if err != nil {
			return customresource.Result{}, err
		}
		if found && rec.Owner != owner(req) {
			p.log.InfoContext(ctx, "delete of a trail another resource owns: nothing to do", "trail", trail.String(), "owner", rec.Owner.String())
			return done, nil
		}
		if found {
			// The registered target knows what Resolve found: the role's real path, the organization id.
			t, known, registered = rec.Target, true, true
		}
	}
	if !known {
		p.log.WarnContext(ctx, "delete with properties that never described a resource: nothing to do", "physical_id", req.PhysicalResourceID)
		return done, nil
	}
	actions, err := p.engine.Remove(ctx, t, deleteLogGroup)
	if err != nil {
		return customresource.Result{}, err
	}
	if registered {
		if err := p.reg.Release(ctx, t.TrailARN, owner(req)); err != nil {
			return customresource.Result{}, err
		}
	}
	p.log.InfoContext(ctx, "trail unwired", "trail", t.TrailARN, "actions", actions, "delete_log_group", deleteLogGroup)
	return done, nil
}

// targetFor rebuilds, without calling AWS, the target a resource had for this trail and these properties. known is
// false when the properties do not parse: the resource could never have been created with them.
func targetFor(trail spec.TrailARN, props map[string]any) (t delivery.Target, deleteLogGroup, known bool) {
	s, err := spec.Parse(props)
	if err != nil {
		return delivery.Target{}, false, false
	}
	t, err = delivery.TargetFor(trail, s)
	return t, s.DeleteLogGroupOnDelete, err == nil
}

func data(t delivery.Target) map[string]any {
	return map[string]any{
		"TrailArn":     t.TrailARN,
		"HomeRegion":   t.HomeRegion,
		"LogGroupName": t.LogGroupName,
		"LogGroupArn":  t.LogGroupARN(),
		"RoleName":     t.RoleName,
		"RoleArn":      t.RoleARN(),
		"PolicyName":   t.PolicyName,
	}
}

func describe(drifts []delivery.Drift) []string {
	out := make([]string, len(drifts))
	for i, d := range drifts {
		out[i] = d.String()
	}
	return out
}
