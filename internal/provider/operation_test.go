package provider_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// Issue 19: a forged request needs this very resource to be in the middle of the request's own operation, not just
// its stack: a Delete or Update sent while the stack deploys something else, or while the resource does something
// else, is refused before any write.
func TestAForgedRequestNeedsTheResourceItselfMidOperation(t *testing.T) {
	for name, tc := range map[string]struct {
		kind             string
		status, physical string
	}{
		"a Delete while another resource of the stack updates": {"delete", "UPDATE_COMPLETE", testbed.TrailARN},
		"a Delete while the resource updates":                  {"delete", "UPDATE_IN_PROGRESS", testbed.TrailARN},
		"an Update while the resource is at rest":              {"update", "CREATE_COMPLETE", testbed.TrailARN},
		"an Update of another physical id":                     {"update", "UPDATE_IN_PROGRESS", "arn:aws:cloudtrail:us-east-1:123456789012:trail/other"},
		"a Create while the resource updates":                  {"create", "UPDATE_IN_PROGRESS", testbed.TrailARN},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
			forged := f.event(t, tc.kind, func(ev map[string]any) { props(ev)["RetentionInDays"] = "1" })
			f.stacks.set(stackID, "TrailDelivery", tc.status, tc.physical)
			f.rec.Reset()
			got := f.send(t, forged)
			assert.Equal(t, "FAILED", got.Body.Status)
			assert.Contains(t, got.Body.Reason, "only CloudFormation, during an operation of that stack, may send it")
			assert.Empty(t, f.rec.Writes(), "refused before any write, registry included")
			group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
			require.NoError(t, err)
			assert.NotEmpty(t, group, "the trail stays wired")
		})
	}
}

// The one Delete that is not the resource's own current operation: after an Update replaced the resource, the
// stack's cleanup phase deletes the old physical id while the resource reports the new one.
func TestTheCleanupDeleteOfAReplacedResourceIsServed(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
	del := f.event(t, "delete", nil)
	f.stacks.status[stackID] = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
	f.stacks.set(stackID, "TrailDelivery", "UPDATE_COMPLETE", "arn:aws:cloudtrail:us-east-1:123456789012:trail/new-trail")
	got := f.send(t, del)
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	_, registered, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.False(t, registered, "the old trail is given back")

	// In a cleanup phase, the resource's current id is still not deletable.
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
	del = f.event(t, "delete", nil)
	f.stacks.status[stackID] = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
	f.stacks.set(stackID, "TrailDelivery", "UPDATE_COMPLETE", testbed.TrailARN)
	assert.Equal(t, "FAILED", f.send(t, del).Body.Status)
}
