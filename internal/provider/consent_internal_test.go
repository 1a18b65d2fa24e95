package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
)

// The monitoring pack is part of the guard: an Update that lowers it or sends its alarms elsewhere takes from the
// trail, so it needs the trail's consent; raising it or keeping it does not. (Through the provider, the rule's
// mechanism is TestAnUpdateThatTakesFromTheGuardNeedsTheTrailsConsent; a pack needs a topic with a subscriber.)
func TestLoweringTheMonitoringPackNeedsConsent(t *testing.T) {
	const trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/t"
	const mine, theirs = "arn:aws:sns:us-east-1:123456789012:mine", "arn:aws:sns:us-east-1:123456789012:theirs"
	target := delivery.Target{TrailARN: trail, Account: "123456789012"}
	for _, c := range []struct {
		name              string
		wasPack, wasTopic string
		pack, topic       string
		rule              string
	}{
		{"cis-v5 to cis", "cis-v5", mine, "cis", mine, "weaken MonitoringPack from cis-v5 to cis"},
		{"cis to none", "cis", "", "", "", "weaken MonitoringPack from cis to none"},
		{"another topic", "cis", mine, "cis", theirs, "send the pack's alarms to " + theirs + " instead of " + mine},
		{"the provider's topic instead", "cis", mine, "cis", "", "send the pack's alarms to the provider stack's topic"},
		{"none to cis", "", "", "cis", mine, ""},
		{"cis to cis-v5", "cis", mine, "cis-v5", mine, ""},
		{"unchanged", "cis", mine, "cis", mine, ""},
	} {
		prior := &registry.Record{Target: target, Spec: spec.Spec{MonitoringPack: c.wasPack, AlarmTopicARN: c.wasTopic}}
		got := needsConsent(spec.Spec{MonitoringPack: c.pack, AlarmTopicARN: c.topic}, target, prior, false)
		if c.rule == "" {
			assert.Empty(t, got, c.name)
		} else {
			assert.Contains(t, got, c.rule, c.name)
		}
	}
}
