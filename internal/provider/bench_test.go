package provider_test

import (
	"testing"
)

// BenchmarkCreate is a whole Create against moto, as CloudFormation sends it: resolve, claim, log group, role,
// policy, UpdateTrail, verify, and the response PUT. The Delete between iterations is not timed.
func BenchmarkCreate(b *testing.B) {
	f := newFixture(b)
	calls := 0
	for b.Loop() {
		f.rec.Reset()
		if got := f.send(b, f.event(b, "create", nil)); got.Body.Status != "SUCCESS" {
			b.Fatal(got.Body.Reason)
		}
		calls += len(f.rec.Calls())
		b.StopTimer()
		if got := f.send(b, f.event(b, "delete", nil)); got.Body.Status != "SUCCESS" {
			b.Fatal(got.Body.Reason)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
}
