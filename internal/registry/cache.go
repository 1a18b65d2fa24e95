package registry

import (
	"context"
	"sync"
	"time"
)

// Lister reads every record.
type Lister interface {
	List(ctx context.Context) ([]Record, error)
}

// Cache answers "which registered trails does this event touch?" from a snapshot of the whole registry, refreshed
// when older than its time to live. Most events the remediator receives concern resources nobody registered, or
// trails that are fine; the snapshot lets those cost no registry read at all. It is only a lookup: a decision that
// writes or alerts must re-read its record (Registry.Get is consistent), because another invocation or a stack
// update may have changed it. A trail registered after the snapshot is seen by LookupOrRefresh at once, and by
// Lookup after at most one time to live, or at the next sweep. Safe for concurrent use.
type Cache struct {
	src Lister
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	at   time.Time
	recs []Record
}

// NewCache caches src for ttl; now is the clock (time.Now outside tests).
func NewCache(src Lister, ttl time.Duration, now func() time.Time) *Cache {
	return &Cache{src: src, ttl: ttl, now: now}
}

// Lookup returns the records keep selects, from the snapshot, refreshing it first when it is stale.
//
// read says the records were just read from the table (a consistent scan) rather than taken from the snapshot: a
// decision may rest on them without reading again.
func (c *Cache) Lookup(ctx context.Context, keep func(Record) bool) (recs []Record, read bool, err error) {
	return c.lookup(ctx, keep)
}

// LookupOrRefresh is Lookup, but when nothing matches a snapshot that was not just read, it reads the registry again
// and looks once more. The remediator uses it for trail events, which are rare next to log group and role events
// and matter most: a trail registered seconds ago is guarded against its first tampering.
func (c *Cache) LookupOrRefresh(ctx context.Context, keep func(Record) bool) (recs []Record, read bool, err error) {
	recs, refreshed, err := c.lookup(ctx, keep)
	if err != nil || len(recs) > 0 || refreshed {
		return recs, refreshed, err
	}
	all, err := c.Refresh(ctx)
	if err != nil {
		return nil, false, err
	}
	return filter(all, keep), true, nil
}

// lookup filters the snapshot, reading the registry first when the snapshot is stale; refreshed says it did.
func (c *Cache) lookup(ctx context.Context, keep func(Record) bool) (recs []Record, refreshed bool, err error) {
	c.mu.Lock()
	all, fresh := c.recs, c.recs != nil && c.now().Sub(c.at) < c.ttl
	c.mu.Unlock()
	if !fresh {
		if all, err = c.Refresh(ctx); err != nil {
			return nil, false, err
		}
	}
	return filter(all, keep), !fresh, nil
}

func filter(recs []Record, keep func(Record) bool) []Record {
	var out []Record
	for _, rec := range recs {
		if keep(rec) {
			out = append(out, rec)
		}
	}
	return out
}

// Refresh reads the whole registry now and returns it.
func (c *Cache) Refresh(ctx context.Context) ([]Record, error) {
	recs, err := c.src.List(ctx)
	if err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []Record{} // an empty registry is a valid snapshot too
	}
	c.mu.Lock()
	c.recs, c.at = recs, c.now()
	c.mu.Unlock()
	return recs, nil
}

// Put replaces one record in the snapshot after the caller saved it, so this container's next lookup sees it.
func (c *Cache) Put(rec Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.recs {
		if c.recs[i].TrailARN == rec.TrailARN {
			c.recs[i] = rec
			return
		}
	}
}

// Selectors for Lookup.

// ByTrailARN selects the record of one trail.
func ByTrailARN(arn string) func(Record) bool {
	return func(r Record) bool { return r.TrailARN == arn }
}

// ByTrailName selects trails of this name (a region's table holds at most one).
func ByTrailName(name string) func(Record) bool {
	return func(r Record) bool { return r.Target.TrailName == name }
}

// ByLogGroup selects trails whose desired log group is name.
func ByLogGroup(name string) func(Record) bool {
	return func(r Record) bool { return r.Target.LogGroupName == name }
}

// ByRole selects trails whose desired role is name.
func ByRole(name string) func(Record) bool {
	return func(r Record) bool { return r.Target.RoleName == name }
}
