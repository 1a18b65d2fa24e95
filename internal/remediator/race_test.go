package remediator_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/remediator"
	"github.com/trailguard/trailguard/internal/spec"
)

// barrier holds every UpdateTrail until n of them have arrived (or a generous deadline passes), so that racing
// invocations have all written before any of them saves its decision.
type barrier struct {
	next    aws.HTTPClient
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (b *barrier) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".UpdateTrail") {
		b.mu.Lock()
		if b.arrived++; b.arrived == b.n {
			close(b.all)
		}
		b.mu.Unlock()
		select {
		case <-b.all:
		case <-time.After(20 * time.Second):
		}
	}
	return b.next.Do(req)
}

// Issue 19, case 7: an event and a sweep, in two processes, repair the same unlink truly at once. Both wrote
// UpdateTrail, so both decision log lines name it and the repair history counts both writes.
func TestAnEventAndASweepRacingOnOneDriftCountEveryWrite(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	f.tamper(t)
	cfg := f.moto.Config(testbed.Region, testbed.WithRecorder(f.rec))
	b := &barrier{next: cfg.HTTPClient, n: 2, all: make(chan struct{})}
	cfg.HTTPClient = b
	logs := [2]*testbed.Logs{{}, {}}
	var procs [2]*remediator.Remediator
	for i := range procs {
		log := slog.New(slog.NewJSONHandler(logs[i], nil))
		engine := delivery.New(delivery.NewClients(cfg), testbed.Region, delivery.WithLogger(log),
			delivery.WithDeliveryRole(testbed.DeliveryRoleARN), delivery.WithPermissionsBoundary(testbed.DeliveryBoundaryARN))
		procs[i] = remediator.New(engine, f.reg, notify.NewNotifier(sns.NewFromConfig(cfg), f.topicARN),
			remediator.WithLogger(log), remediator.WithMetrics(&testbed.Logs{}), remediator.WithClock(func() time.Time { return f.now }))
	}
	f.rec.Reset()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"update-trail-cleared", "sweep"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "events", "remediator", name+".json"))
		require.NoError(t, err)
		wg.Go(func() { errs[i] = procs[i].Handle(f.ctx, raw) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, 2, f.rec.Count("CloudTrail", "UpdateTrail"), "both invocations wrote: the barrier held the first until the second")
	assert.True(t, f.linked(t))

	for i, l := range logs {
		var decision map[string]any
		for _, line := range l.Lines() {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m))
			if m["msg"] == "decision" {
				decision = m
			}
		}
		require.NotNil(t, decision, "process %d logged its decision", i)
		assert.Equal(t, "repaired", decision["action"], "process %d", i)
		assert.Contains(t, decision["repairs"], "UpdateTrail", "process %d: every write is in the decision log of the invocation that made it", i)
	}
	assert.Len(t, f.record(t).Repairs, 2, "the repair history counts both writes")
}
