package remediator_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/spec"
)

// Issue 19, case 8: an event sent straight to the built remediator, copied from a real one with another
// userIdentity, repairs what really drifted, but its alert names that identity only as the event's claim.
func TestAForgedActorIsShownAsTheEventsClaim(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	b := f.startBinary(t)

	forged := strings.ReplaceAll(string(sample(t, "update-trail-cleared")), "assumed-role/Admin/alice", "assumed-role/Admin/bob")
	f.tamper(t)
	require.Nil(t, b.invokeRaw(t, []byte(forged)).Error)
	assert.True(t, f.linked(t), "what really drifted is repaired")

	got := f.notifications(t, 1)
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Subject, "(UpdateTrail by bob?)")
	assert.NotContains(t, got[0].Subject, "by bob)")
	assert.Contains(t, got[0].Message, "arn:aws:sts::123456789012:assumed-role/Admin/bob (as the event claims: not confirmed")
}
