package remediator_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/customresource"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/provider"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
)

// Issue 19, case 1: in account-wide mode, a stack admitted only by the allow-list (security-*, a stack named
// security-x) names the log group the adopted trail already delivers to (so no rewire), with Remediation off or
// enforce. Superseding the account policy's registration needs the trail's own consent: refused, nothing written,
// and the sweep still guards the trail.
func TestTheAllowListAloneCannotSupersedeTheAccountPolicy(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	require.NoError(t, f.deliver(t, "sweep"))
	adopted := f.record(t)
	require.Equal(t, registry.AccountPolicy, adopted.Owner)

	p := provider.New(f.engine, f.reg, testbed.Region, provider.WithAllowedStacks([]string{"security-*"}))
	attacker := "arn:aws:cloudformation:us-east-1:" + testbed.Account + ":stack/security-x/2"
	for _, mode := range []string{"off", "enforce"} {
		f.rec.Reset()
		_, err := p.Handle(f.ctx, customresource.Request{RequestType: customresource.RequestCreate, StackID: attacker,
			LogicalResourceID: "Delivery", ResourceProperties: map[string]any{"TrailName": testbed.TrailName,
				"LogGroupArn": "arn:aws:logs:us-east-1:" + testbed.Account + ":log-group:" + adopted.Target.LogGroupName,
				"Remediation": mode}})
		var consent *provider.ConsentError
		require.ErrorAs(t, err, &consent, mode)
		assert.Contains(t, err.Error(), "supersede the account policy's registration", mode)
		assert.Empty(t, f.rec.Writes(), "%s: nothing written, registry included", mode)
		assert.Equal(t, registry.AccountPolicy, f.record(t).Owner, mode)
	}

	f.tamper(t)
	require.NoError(t, f.deliver(t, "sweep"))
	assert.True(t, f.linked(t), "still the account policy's: the sweep repairs the unlink")

	// The trail's owner consents by id: the same stack may now take it over.
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, attacker))
	_, err := p.Handle(f.ctx, customresource.Request{RequestType: customresource.RequestCreate, StackID: attacker,
		LogicalResourceID: "Delivery", ResourceProperties: map[string]any{"TrailName": testbed.TrailName}})
	require.NoError(t, err)
	assert.Equal(t, attacker, f.record(t).Owner.StackID)
}

// Issue 19, case 2's migration: a guarded trail whose consent tag names its stack by name is reported once, with
// the stack id to put there instead; once retagged, nothing more is said.
func TestTheSweepAsksOnceToReplaceAStackNameWithItsID(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, "s"))
	for range 2 {
		require.NoError(t, f.deliver(t, "sweep"))
	}
	got := f.notifications(t, 1)
	require.Len(t, got, 1, "told once, not at every sweep")
	assert.Contains(t, got[0].Subject, "asks to retag")
	assert.Contains(t, got[0].Message, `names stack "s" by name`)
	assert.Contains(t, got[0].Message, "tag the trail "+delivery.TagManagedBy+"="+owner.StackID)
	assert.Empty(t, f.rec.ResourceWrites(), "nothing in AWS changes")

	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, owner.StackID))
	require.NoError(t, f.deliver(t, "sweep"))
	assert.Len(t, f.notifications(t, 1), 1)
}
