package delivery

import (
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// CISFindings lists how a trail, as registered, falls short of what the CIS AWS Foundations Benchmark (v3 to v5,
// "Ensure CloudTrail is enabled in all regions") audits: a multi-Region trail recording management events with
// ReadWriteType All. It is a finding about the trail the owner registered, told once, not drift: trailguard guards
// what the trail recorded when registered, and a loss against that is drift of its own (trail-narrowed,
// posture-changed, logging-stopped). Logging is checked as drift (logging-stopped), so it is not repeated here.
func CISFindings(t Target) []string {
	var out []string
	if !t.MultiRegion {
		out = append(out, "CIS: the trail is not multi-Region (IsMultiRegionTrail false)")
	}
	if t.Posture != nil && t.Posture.ReadWriteType != string(cttypes.ReadWriteTypeAll) {
		out = append(out, "CIS: the trail's management events are "+orNone(t.Posture.ReadWriteType)+", not ReadWriteType All")
	}
	return out
}
