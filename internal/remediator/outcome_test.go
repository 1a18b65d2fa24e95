package remediator_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/spec"
)

// A repair CloudTrail accepts but that does not hold when it is read back (a tamperer unlinked the trail again in
// between; here UpdateTrail answers as AWS does without changing anything) is told as failed and retried: the
// notification never says "repaired" for a trail that is still unlinked.
func TestARepairThatDoesNotHoldIsToldAsFailed(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	f.tamper(t)
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Reply: "{}"})
	err := f.deliver(t, "update-trail-cleared")
	require.Error(t, err, "Lambda must retry a repair that did not hold")
	assert.Contains(t, err.Error(), "still drifting after the repair")
	got := f.notifications(t, 1)
	assert.True(t, strings.HasPrefix(got[0].Subject, "trailguard FAILED to repair trail"), "subject: %s", got[0].Subject)
	assert.False(t, f.linked(t), "the fault kept the trail unlinked: the test is about telling it")
}
