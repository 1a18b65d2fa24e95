package benchrun

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// burstSamples are the events of the burst, in rotation: the attacker's unlink, the remediator's own repair echo,
// and a StopLogging.
var burstSamples = []string{"update-trail-cleared", "update-trail-own", "stop-logging"}

// throttledServices are the services the function calls; each gets throttling on every n-th call.
var throttledServices = []string{"CloudTrail", "CloudWatch Logs", "IAM", "DynamoDB", "SNS"}

// lambdaAttempts is how many times Lambda runs an asynchronous event that keeps failing: once, then two retries.
const lambdaAttempts = 3

// runBurst runs the burst burstRuns times of each kind, alternating so that the machine's load falls on both alike:
// without faults, as a baseline, then with every throttleEvery-th AWS call of each service throttled, every call
// delayed by the realistic latency. Each run gets fresh processes, as a burst scales Lambda out. The report has
// the median wall time of each kind.
func (h *harness) runBurst(ctx context.Context) error {
	h.proxy.SetLatency(h.cfg.latency)
	defer h.proxy.SetLatency(0)
	for range h.cfg.burstRuns {
		if err := h.burstOnce(ctx, 0, &h.rep.Baseline); err != nil {
			return fmt.Errorf("baseline burst: %w", err)
		}
		if err := h.burstOnce(ctx, h.cfg.throttleEvery, &h.rep.Burst); err != nil {
			return fmt.Errorf("throttled burst: %w", err)
		}
	}
	return nil
}

// burstOnce tampers with every trail, then delivers the burst's events as fast as the remediator processes take
// them, with every throttleEvery-th AWS call of each service throttled (none when 0), and checks that every trail
// ends compliant; it adds the run to b.
func (h *harness) burstOnce(ctx context.Context, throttleEvery int, b *Burst) error {
	b.Events, b.Processes, b.ThrottleEvery, b.Latency = h.cfg.burstEvents, h.cfg.burst, throttleEvery, h.cfg.latency
	for i, t := range h.trails {
		if err := h.tamper(ctx, t, i%2 == 1); err != nil {
			return err
		}
	}
	before, err := h.compliant(ctx)
	if err != nil {
		return err
	}
	b.CompliantBefore = compliantCount(before)
	events := make([][]byte, 0, h.cfg.burstEvents)
	for i := range h.cfg.burstEvents {
		raw, err := h.remediatorEvent(burstSamples[(i/len(h.trails))%len(burstSamples)], h.trails[i%len(h.trails)])
		if err != nil {
			return err
		}
		events = append(events, raw)
	}
	var workers []*localrun.Lambda
	defer func() {
		for _, w := range workers {
			w.Close()
		}
	}()
	for i := range h.cfg.burst {
		w, err := localrun.StartLambda(localrun.Remediator, h.env(localrun.Remediator),
			filepath.Join(h.cfg.logDir, fmt.Sprintf("burst-%d.log", i)))
		if err != nil {
			return err
		}
		workers = append(workers, w)
	}

	h.rec.Reset()
	injectedBefore := h.faults.Injected()
	if throttleEvery > 0 {
		for _, svc := range throttledServices {
			f := testbed.Throttle(svc, "", 0)
			f.Every = throttleEvery
			h.faults.Add(f)
		}
	}
	queue := make(chan []byte)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	t0 := time.Now()
	for _, w := range workers {
		wg.Go(func() {
			for raw := range queue {
				failed, last, err := deliver(ctx, w, raw)
				mu.Lock()
				b.FailedAttempts += failed
				if last != nil && len(b.Errors) < 5 {
					b.Errors = append(b.Errors, fmt.Sprintf("%.200s", last.Error()))
				}
				switch {
				case err != nil:
					errs = append(errs, err)
				case failed == lambdaAttempts:
					b.FailedPermanently++
				}
				mu.Unlock()
			}
		})
	}
	for _, raw := range events {
		queue <- raw
	}
	close(queue)
	wg.Wait()
	b.Runs++
	b.Walls = append(b.Walls, time.Since(t0))
	b.Wall = Summarize(b.Walls).Median
	h.faults.Clear()
	b.Throttles = h.faults.Injected() - injectedBefore
	b.Calls = Classify(h.rec)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, w := range workers {
		rss, err := w.PeakRSS()
		if err != nil {
			return err
		}
		b.PeakRSS = max(b.PeakRSS, rss)
	}
	if b.Trails, err = h.compliant(ctx); err != nil {
		return err
	}
	if compliantCount(b.Trails) != len(b.Trails) {
		b.NonCompliantRuns++
	}
	return nil
}

// deliver runs one event as Lambda runs an asynchronous invocation: again after an error, up to lambdaAttempts in
// all. It returns how many attempts failed and the last failure; err is set only when the process could not be
// invoked at all.
func deliver(ctx context.Context, w *localrun.Lambda, raw []byte) (failed int, last *testbed.FunctionError, err error) {
	for range lambdaAttempts {
		res, err := w.Invoke(ctx, raw)
		if err != nil {
			return failed, last, err
		}
		if res.Error == nil {
			return failed, last, nil
		}
		failed, last = failed+1, res.Error
	}
	return failed, last, nil
}
