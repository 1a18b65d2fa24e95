package remediator_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/spec"
)

// BenchmarkNoOpEvent is the common case: an event (often the remediator's own) for a trail that already matches.
// It reports the AWS calls per event; wall time is moto's, a lower bound for the real thing's call count.
func BenchmarkNoOpEvent(b *testing.B) {
	f := newFixture(b, spec.Spec{})
	b.ResetTimer()
	for b.Loop() {
		require.NoError(b, f.deliver(b, "update-trail-own"))
	}
	b.ReportMetric(float64(len(f.rec.Calls()))/float64(b.N), "calls/op")
	b.ReportMetric(float64(len(f.rec.Writes()))/float64(b.N), "writes/op")
}

// BenchmarkRepairEvent is a tampering UpdateTrail and its repair. The repair limit would make the trail contested
// after five repairs an hour, so the fake clock moves an hour between events.
func BenchmarkRepairEvent(b *testing.B) {
	f := newFixture(b, spec.Spec{})
	calls := 0
	for b.Loop() {
		b.StopTimer()
		f.tamper(b)
		f.rec.Reset()
		f.now = f.now.Add(time.Hour)
		b.StartTimer()
		require.NoError(b, f.deliver(b, "update-trail-cleared"))
		calls += len(f.rec.Calls())
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
}

// BenchmarkSweep checks one registered, compliant trail, delivery health included.
func BenchmarkSweep(b *testing.B) {
	f := newFixture(b, spec.Spec{})
	for b.Loop() {
		require.NoError(b, f.deliver(b, "sweep"))
	}
	b.ReportMetric(float64(len(f.rec.Calls()))/float64(b.N), "calls/op")
}
