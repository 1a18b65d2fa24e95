package remediator

import (
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/trigger"
)

// destroyed is the drift a call that destroys audit events is (the catalogue's Destroys): what it took cannot be
// read back from AWS nor repaired, so it comes from the event itself and is alerted at once, naming the actor (the
// decision's), the log group, the stream and the trail.
func destroyed(trig trigger.Trigger, rec registry.Record) []delivery.Drift {
	if !trig.Destroys || trig.LogStream == "" {
		return nil
	}
	return []delivery.Drift{delivery.StreamDeleted(rec.Target, trig.LogStream)}
}
