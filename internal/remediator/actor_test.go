package remediator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/spec"
)

// Issue 19, case 8: an event sent straight to the built remediator, copied from a real one with another
// userIdentity, repairs what really drifted, but its alert names that identity only as the event's claim.
func TestAForgedActorIsShownAsTheEventsClaim(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	bootstrap, err := testbed.BuildFunction("remediator")
	require.NoError(t, err)
	rt, err := testbed.StartRuntime()
	require.NoError(t, err)
	defer rt.Close()
	env := append(f.moto.Env(testbed.Region), lambdaenv.RegistryTable+"="+testbed.RegistryTable, lambdaenv.TopicARN+"="+f.topicARN)
	fn, err := testbed.StartFunction(bootstrap, rt, env, &testbed.Logs{})
	require.NoError(t, err)
	defer fn.Stop()

	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "remediator", "update-trail-cleared.json"))
	require.NoError(t, err)
	forged := strings.ReplaceAll(string(raw), "assumed-role/Admin/alice", "assumed-role/Admin/bob")
	f.tamper(t)
	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	res, err := rt.Invoke(ctx, []byte(forged), 30*time.Second)
	require.NoError(t, err)
	require.Nil(t, res.Error)
	assert.True(t, f.linked(t), "what really drifted is repaired")

	got := f.notifications(t, 1)
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Subject, "(UpdateTrail by bob?)")
	assert.NotContains(t, got[0].Subject, "by bob)")
	assert.Contains(t, got[0].Message, "arn:aws:sts::123456789012:assumed-role/Admin/bob (as the event claims: not confirmed")
}
