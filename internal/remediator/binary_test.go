package remediator_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/spec"
)

// TestBinaryRepairsThroughTheRuntimeAPI runs the built remediator bootstrap as Lambda would, on the same events.
func TestBinaryRepairsThroughTheRuntimeAPI(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	b := f.startBinary(t)
	stdout := b.logs
	invoke := func(name string) testbed.Response { t.Helper(); return b.invoke(t, name) }

	// The remediator's own relink: state matches, nothing to say.
	require.Nil(t, invoke("update-trail-own").Error)

	f.tamper(t)
	require.Nil(t, invoke("update-trail-cleared").Error)
	assert.True(t, f.linked(t))
	got := f.notifications(t, 1)
	require.Len(t, got, 1, "only the repair is notified, not the no-op")
	assert.Contains(t, got[0].Message, tamperer)

	for _, tc := range tamperings[1:] {
		tc.do(f, t)
		require.Nil(t, invoke(tc.event).Error, tc.event)
		assert.True(t, tc.undone(f, t), tc.event)
	}
	require.Nil(t, invoke("sweep").Error)
	res := invoke("bad/truncated")
	require.NotNil(t, res.Error, "a malformed event is an error, so it ends in the on-failure queue")

	want := []string{"none", "repaired"}
	for range tamperings[1:] {
		want = append(want, "repaired")
	}
	want = append(want, "none")
	// The function's last lines can still be in the pipe when its answer has arrived: wait for them, generously.
	var actions []string
	var emf int
	read := func() {
		actions, emf = nil, 0
		for _, line := range stdout.Lines() {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m), "every stdout line is JSON: %s", line)
			if m["msg"] == "decision" {
				actions = append(actions, m["action"].(string))
			}
			if _, ok := m["_aws"]; ok {
				emf++
			}
		}
	}
	counted := 0 // decisions with something to count: all but "none" (notify.Counted)
	for _, a := range want {
		if a != "none" {
			counted++
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for read(); (len(actions) < len(want) || emf < counted) && time.Now().Before(deadline); read() {
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, want, actions)
	assert.Equal(t, counted, emf, "one embedded-metric line per decision that counts something, none for a compliant check")
	assert.False(t, strings.Contains(strings.Join(stdout.Lines(), "\n"), "panic"))
}
