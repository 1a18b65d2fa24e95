package provider_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkCreate is a whole Create against moto, as CloudFormation sends it: resolve, claim, log group, role,
// policy, UpdateTrail, verify, and the response PUT. The Delete between iterations is not timed.
func BenchmarkCreate(b *testing.B) {
	f := newFixture(b)
	calls := 0
	for b.Loop() {
		f.rec.Reset()
		got := f.send(b, f.event(b, "create", nil))
		require.Equal(b, "SUCCESS", got.Body.Status, got.Body.Reason)
		calls += len(f.rec.Calls())
		b.StopTimer()
		got = f.send(b, f.event(b, "delete", nil))
		require.Equal(b, "SUCCESS", got.Body.Status, got.Body.Reason)
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
}
