package benchrun

import (
	"archive/zip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// sizes reads dist/<fn>.zip, what `make build` made for Lambda (linux/arm64), and the bootstrap inside it.
func (h *harness) sizes(root string) error {
	for _, fn := range Functions {
		path := filepath.Join(root, "dist", fn+".zip")
		info, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("%s is missing: run `make build` first (make bench does): %w", path, err)
		}
		r, err := zip.OpenReader(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		sz := Size{Function: fn, ZipBytes: info.Size()}
		for _, f := range r.File {
			if f.Name == "bootstrap" {
				sz.BootstrapBytes = int64(f.UncompressedSize64)
			}
		}
		r.Close()
		if sz.BootstrapBytes == 0 {
			return fmt.Errorf("%s holds no bootstrap", path)
		}
		h.rep.Sizes = append(h.rep.Sizes, sz)
	}
	return nil
}

// coldEvents are the cheap first events of the cold starts: a Delete of an id the provider never issued (it answers
// SUCCESS without touching anything), and an event the remediator ignores (a failed call). The hello-world
// bootstrap answers anything.
var coldEvents = map[string]string{localrun.Provider: "delete", localrun.Remediator: "update-trail-failed", Hello: "update-trail-failed"}

// Hello is the name of the hello-world aws-lambda-go bootstrap (cmd/hello) the functions' init is compared with.
const Hello = "hello-world"

// helloPackage is its source, relative to the module root.
const helloPackage = "cmd/hello"

// neverIssued is a CloudFormation-generated physical id, as a failed Create leaves.
const neverIssued = "trailguard-example-TrailDelivery-1NEVERISSUED"

// coldStarts starts coldRuns fresh processes of each function and of the hello-world bootstrap, interleaved so
// that the machine's load falls on all alike, and times each one's init and first answered invocation.
func (h *harness) coldStarts(ctx context.Context) error {
	names := append(slices.Clone(Functions), Hello)
	bootstraps := map[string]string{}
	for _, fn := range names {
		var err error
		if fn == Hello {
			bootstraps[fn], err = testbed.BuildPackage(helloPackage, Hello)
		} else {
			bootstraps[fn], err = testbed.BuildFunction(fn)
		}
		if err != nil {
			return err
		}
	}
	inits, firsts := map[string][]time.Duration{}, map[string][]time.Duration{}
	for range h.cfg.coldRuns {
		for _, fn := range names {
			init, first, err := h.coldStart(ctx, fn, bootstraps[fn])
			if err != nil {
				return fmt.Errorf("cold start of %s: %w", fn, err)
			}
			inits[fn], firsts[fn] = append(inits[fn], init), append(firsts[fn], first)
		}
	}
	for _, fn := range names {
		h.rep.Cold = append(h.rep.Cold, ColdStart{Name: fn, Init: Summarize(inits[fn]), First: Summarize(firsts[fn])})
	}
	return nil
}

func (h *harness) coldStart(ctx context.Context, fn, bootstrap string) (init, first time.Duration, err error) {
	var payload []byte
	var requestID string
	switch fn {
	case localrun.Provider:
		payload, requestID, err = h.providerEvent(coldEvents[fn], h.trails[0].Name, neverIssued)
	default:
		payload, err = h.remediatorEvent(coldEvents[fn], h.trails[0])
	}
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	env := h.env(fn)
	if fn == Hello {
		env = nil
	}
	f, err := startFresh(bootstrap, env)
	if err != nil {
		return 0, 0, err
	}
	defer f.close()
	if err := f.invoke(ctx, payload); err != nil {
		return 0, 0, err
	}
	first = time.Since(f.started)
	if init, err = f.initDone(ctx); err != nil {
		return 0, 0, err
	}
	if requestID != "" {
		if _, err := h.cfnResponse(requestID); err != nil {
			return 0, 0, err
		}
	}
	return init, first, nil
}

// path is one measured path: arrange (untimed) before each run, act timed.
type path struct {
	name, function, note string
	// fresh runs act in a new process each time (its init untimed), started before arrange.
	fresh   bool
	arrange func() error
	act     func(remed invoker) error
	// cleanup runs after the path's last run, so that the next paths see only the registered trails.
	cleanup func() error
}

// invoker is a remediator process, warm or fresh.
type invoker func(ctx context.Context, payload []byte) error

// pathDefs are the measured paths, in report order.
func (h *harness) pathDefs(ctx context.Context) []path {
	t := h.trails[0]
	created := false
	unlinkAll := func() error {
		for _, tr := range h.trails {
			if err := h.tamper(ctx, tr, false); err != nil {
				return err
			}
		}
		return nil
	}
	return []path{
		{
			name: "provider Create", function: localrun.Provider,
			note: "wire a new trail: log group, role, policy, UpdateTrail, registry; the Delete between runs is untimed",
			act: func(invoker) error {
				_, err := h.providerRequest(ctx, "create", CreateTrailName, "")
				return err
			},
			arrange: func() error {
				// Every run but the first follows a Create: undo it, untimed. The first finds the trail unwired.
				if !created {
					created = true
					return nil
				}
				_, err := h.providerRequest(ctx, "delete", CreateTrailName, "")
				return err
			},
			cleanup: func() error {
				created = false
				_, err := h.providerRequest(ctx, "delete", CreateTrailName, "")
				return err
			},
		},
		{
			name: "remediator no-op event", function: localrun.Remediator,
			note: "update-trail-own.json (the remediator's own UpdateTrail) on a compliant trail, warm process",
			act:  func(remed invoker) error { return h.remediate(ctx, remed, "update-trail-own", t) },
		},
		{
			name: "tampering repair, fresh process", function: localrun.Remediator, fresh: true,
			note:    "update-trail-cleared.json after the trail was unlinked, in a new process (init untimed; empty registry snapshot)",
			arrange: func() error { return h.tamper(ctx, t, false) },
			act:     func(remed invoker) error { return h.remediate(ctx, remed, "update-trail-cleared", t) },
		},
		{
			name: "tampering repair, warm process", function: localrun.Remediator,
			note:    "update-trail-cleared.json after the trail was unlinked (untimed tampering)",
			arrange: func() error { return h.tamper(ctx, t, false) },
			act:     func(remed invoker) error { return h.remediate(ctx, remed, "update-trail-cleared", t) },
		},
		{
			name: fmt.Sprintf("sweep of %d drifted trails", TrailCount), function: localrun.Remediator,
			note:    fmt.Sprintf("sweep.json after all %d registered trails were unlinked (untimed): every one repaired", TrailCount),
			arrange: unlinkAll,
			act:     func(remed invoker) error { return h.remediate(ctx, remed, "sweep", t) },
		},
		{
			name: fmt.Sprintf("sweep of %d compliant trails", TrailCount), function: localrun.Remediator,
			note: fmt.Sprintf("sweep.json: every one of the %d registered trails checked, delivery health included", TrailCount),
			act:  func(remed invoker) error { return h.remediate(ctx, remed, "sweep", t) },
		},
	}
}

// paths times every path at each latency, one untimed run first on a warm process, then counts each path's AWS
// calls and round trips at testbed.RoundTripLatency.
func (h *harness) paths(ctx context.Context) error {
	paths := h.pathDefs(ctx)
	for _, p := range paths {
		h.rep.Paths = append(h.rep.Paths, Path{Name: p.name, Function: p.function, Note: p.note, Fresh: p.fresh})
	}
	defer h.proxy.SetLatency(0)
	for _, lat := range h.rep.Latencies {
		h.proxy.SetLatency(lat)
		for i, p := range paths {
			var took, moto, rest []time.Duration
			err := h.runPath(ctx, p, h.cfg.runs, &h.rep.Paths[i], func(d, busy time.Duration) {
				took, moto, rest = append(took, d), append(moto, busy), append(rest, d-busy)
			})
			if err != nil {
				return fmt.Errorf("%s at %s per call: %w", p.name, lat, err)
			}
			h.rep.Paths[i].Times = append(h.rep.Paths[i].Times,
				Timing{Latency: lat, Stats: Summarize(took), Moto: Summarize(moto), Rest: Summarize(rest)})
		}
	}
	h.proxy.SetLatency(h.rep.CountLatency)
	for i, p := range paths {
		out := &h.rep.Paths[i]
		var rounds []int
		err := h.runPath(ctx, p, h.cfg.countRuns, out, func(time.Duration, time.Duration) {
			rounds, out.Calls = append(rounds, h.rec.CriticalPath()), Classify(h.rec)
		})
		if err != nil {
			return fmt.Errorf("%s, counting its round trips at %s per call: %w", p.name, h.rep.CountLatency, err)
		}
		out.CriticalPath = SummarizeRounds(rounds)
	}
	return nil
}

// runPath runs one path n+1 times at the proxy's latency, the first a warm-up, and gives each later run's handler
// time and moto's busy time meanwhile to each; the recorder then holds that run's calls. It records the peak RSS in
// out.
func (h *harness) runPath(ctx context.Context, p path, n int, out *Path, each func(took, busy time.Duration)) error {
	remedBootstrap, err := testbed.BuildFunction(localrun.Remediator)
	if err != nil {
		return err
	}
	for i := 0; i <= n; i++ {
		d, busy, err := h.runOnce(ctx, p, remedBootstrap, out)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		if i > 0 { // not the warm-up
			each(d, busy)
		}
	}
	if !p.fresh {
		rss, err := h.session.Function(p.function).PeakRSS()
		if err != nil {
			return err
		}
		out.PeakRSS = max(out.PeakRSS, rss)
	}
	if p.cleanup != nil {
		if err := p.cleanup(); err != nil {
			return fmt.Errorf("clean up: %w", err)
		}
	}
	return nil
}

// runOnce arranges and times one run of a path, in a new remediator process when the path says so (its peak RSS
// then goes to out). It returns the handler time and how long moto was busy meanwhile; the recorder holds the
// run's calls afterwards.
func (h *harness) runOnce(ctx context.Context, p path, remedBootstrap string, out *Path) (took, moto time.Duration, err error) {
	remed := invoker(func(ctx context.Context, payload []byte) error {
		res, err := h.remed.Invoke(ctx, payload)
		if err == nil && res.Error != nil {
			err = fmt.Errorf("the remediator failed: %w", res.Error)
		}
		return err
	})
	if p.fresh {
		f, err := startFresh(remedBootstrap, h.pathEnv(localrun.Remediator))
		if err != nil {
			return 0, 0, err
		}
		defer f.close()
		if _, err := f.initDone(ctx); err != nil {
			return 0, 0, err
		}
		remed = f.invoke
		defer func() {
			if rss, err := f.fn.PeakRSS(); err == nil {
				out.PeakRSS = max(out.PeakRSS, rss)
			}
		}()
	}
	if p.arrange != nil {
		if err := p.arrange(); err != nil {
			return 0, 0, fmt.Errorf("arrange: %w", err)
		}
	}
	h.rec.Reset()
	t0 := time.Now()
	if err := p.act(remed); err != nil {
		return 0, 0, err
	}
	took = time.Since(t0)
	return took, h.proxy.UpstreamBusy(t0), nil
}

// remediate invokes a remediator on a sample event for trail t.
func (h *harness) remediate(ctx context.Context, remed invoker, sample string, t trail) error {
	raw, err := h.remediatorEvent(sample, t)
	if err != nil {
		return err
	}
	if err := remed(ctx, raw); err != nil {
		return fmt.Errorf("%s: %w", sample, err)
	}
	return nil
}

// peakRSS reads VmHWM of the warm processes, after all their warm runs.
func (h *harness) peakRSS() error {
	for _, fn := range Functions {
		rss, err := h.session.Function(fn).PeakRSS()
		if err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
		h.rep.RSS = append(h.rep.RSS, RSS{Function: fn, Note: "warm process, after every warm path", Bytes: rss})
	}
	return nil
}
