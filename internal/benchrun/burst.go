package benchrun

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/trailguard/trailguard/internal/localrun"
	"github.com/trailguard/trailguard/internal/testbed"
)

// burstSamples are the events of the burst, in rotation: the attacker's unlink, the remediator's own repair echo,
// and a StopLogging.
var burstSamples = []string{"update-trail-cleared", "update-trail-own", "stop-logging"}

// throttledServices are the services the function calls; each gets throttling on every n-th call.
var throttledServices = []string{"CloudTrail", "CloudWatch Logs", "IAM", "DynamoDB", "SNS"}

// lambdaAttempts is how many times Lambda runs an asynchronous event that keeps failing: once, then two retries.
const lambdaAttempts = 3

// runBurst runs the burst twice: without faults, as a baseline, then with every throttleEvery-th AWS call of each
// service throttled. Each run gets fresh processes, so that the SDK's adaptive rate limiter starts anew.
func (h *harness) runBurst(ctx context.Context) error {
	base, err := h.burstOnce(ctx, 0)
	h.rep.Baseline = base
	if err != nil {
		return fmt.Errorf("baseline burst: %w", err)
	}
	h.rep.Burst, err = h.burstOnce(ctx, h.cfg.throttleEvery)
	return err
}

// burstOnce tampers with every trail, then delivers the burst's events as fast as the remediator processes take
// them, with every throttleEvery-th AWS call of each service throttled (none when 0), and checks that every trail
// ends compliant.
func (h *harness) burstOnce(ctx context.Context, throttleEvery int) (b Burst, err error) {
	b.Events, b.Processes, b.ThrottleEvery = h.cfg.burstEvents, h.cfg.burst, throttleEvery
	for i, t := range h.trails {
		if err := h.tamper(ctx, t, i%2 == 1); err != nil {
			return b, err
		}
	}
	before, err := h.compliant(ctx)
	if err != nil {
		return b, err
	}
	b.CompliantBefore = compliantCount(before)
	events := make([][]byte, 0, h.cfg.burstEvents)
	for i := range h.cfg.burstEvents {
		raw, err := h.remediatorEvent(burstSamples[(i/len(h.trails))%len(burstSamples)], h.trails[i%len(h.trails)])
		if err != nil {
			return b, err
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
			return b, err
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
	b.Wall = time.Since(t0)
	h.faults.Clear()
	b.Throttles = h.faults.Injected() - injectedBefore
	b.Calls = Classify(h.rec)
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	for _, w := range workers {
		rss, err := w.PeakRSS()
		if err != nil {
			return b, err
		}
		b.PeakRSS = max(b.PeakRSS, rss)
	}
	b.Trails, err = h.compliant(ctx)
	return b, err
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
