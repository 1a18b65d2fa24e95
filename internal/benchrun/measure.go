package benchrun

import (
	"archive/zip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/trailguard/trailguard/internal/localrun"
	"github.com/trailguard/trailguard/internal/testbed"
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
// SUCCESS without touching anything), and an event the remediator ignores (a failed call).
var coldEvents = map[string]string{localrun.Provider: "delete", localrun.Remediator: "update-trail-failed"}

// neverIssued is a CloudFormation-generated physical id, as a failed Create leaves.
const neverIssued = "trailguard-example-TrailDelivery-1NEVERISSUED"

// coldStarts starts coldRuns fresh processes per function, each with its own Runtime API, and times exec to the
// first answered invocation.
func (h *harness) coldStarts(ctx context.Context) error {
	for _, fn := range Functions {
		bootstrap, err := testbed.BuildFunction(fn)
		if err != nil {
			return err
		}
		var took []time.Duration
		for range h.cfg.coldRuns {
			d, err := h.coldStart(ctx, fn, bootstrap)
			if err != nil {
				return fmt.Errorf("cold start of %s: %w", fn, err)
			}
			took = append(took, d)
		}
		h.rep.Cold = append(h.rep.Cold, Latency{Name: fn, Stats: Summarize(took)})
	}
	return nil
}

func (h *harness) coldStart(ctx context.Context, fn, bootstrap string) (time.Duration, error) {
	var payload []byte
	var requestID string
	var err error
	if fn == localrun.Provider {
		payload, requestID, err = h.providerEvent(coldEvents[fn], h.trails[0].Name, neverIssued)
	} else {
		payload, err = h.remediatorEvent(coldEvents[fn], h.trails[0])
	}
	if err != nil {
		return 0, err
	}
	rt, err := testbed.StartRuntime()
	if err != nil {
		return 0, err
	}
	defer rt.Close()
	var logs testbed.Logs
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t0 := time.Now()
	proc, err := testbed.StartFunction(bootstrap, rt, h.env(fn), &logs)
	if err != nil {
		return 0, err
	}
	defer proc.Stop()
	res, err := rt.Invoke(ctx, payload, localrun.FunctionDeadline)
	took := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("%w; log:\n%s", err, logs.String())
	}
	if res.Error != nil {
		return 0, fmt.Errorf("the first invocation failed: %w", res.Error)
	}
	if requestID != "" {
		if _, err := h.cfnResponse(requestID); err != nil {
			return 0, err
		}
	}
	return took, nil
}

// warm times each path on the warm processes, one untimed run first, and records the AWS calls of the last run.
func (h *harness) warm(ctx context.Context) error {
	t := h.trails[0]
	created := false
	paths := []struct {
		name, function, note string
		arrange              func() error
		act                  func() error
		// cleanup runs after the path's last run, so that the next paths see only the registered trails.
		cleanup func() error
	}{
		{
			name: "provider Create", function: localrun.Provider,
			note: "wire a new trail: log group, role, policy, UpdateTrail, registry; the Delete between runs is untimed",
			act: func() error {
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
				_, err := h.providerRequest(ctx, "delete", CreateTrailName, "")
				return err
			},
		},
		{
			name: "remediator no-op", function: localrun.Remediator,
			note: "update-trail-own.json (the remediator's own UpdateTrail) on a compliant trail",
			act:  func() error { return h.remediate(ctx, "update-trail-own", t) },
		},
		{
			name: "remediator repair", function: localrun.Remediator,
			note:    "update-trail-cleared.json after the trail was unlinked (untimed tampering)",
			arrange: func() error { return h.tamper(ctx, t, false) },
			act:     func() error { return h.remediate(ctx, "update-trail-cleared", t) },
		},
		{
			name: "remediator sweep", function: localrun.Remediator,
			note: fmt.Sprintf("sweep.json: every one of the %d registered trails, delivery health included", TrailCount),
			act:  func() error { return h.remediate(ctx, "sweep", t) },
		},
	}
	for _, p := range paths {
		var took []time.Duration
		var calls Calls
		for i := 0; i <= h.cfg.runs; i++ {
			if p.arrange != nil {
				if err := p.arrange(); err != nil {
					return fmt.Errorf("%s: arrange run %d: %w", p.name, i, err)
				}
			}
			h.rec.Reset()
			t0 := time.Now()
			if err := p.act(); err != nil {
				return fmt.Errorf("%s: run %d: %w", p.name, i, err)
			}
			d := time.Since(t0)
			calls = Classify(h.rec)
			if i > 0 { // the first run is the warm-up
				took = append(took, d)
			}
		}
		h.rep.Warm = append(h.rep.Warm, Path{Name: p.name, Function: p.function, Note: p.note,
			Stats: Summarize(took), Calls: calls})
		if p.cleanup != nil {
			if err := p.cleanup(); err != nil {
				return fmt.Errorf("%s: clean up: %w", p.name, err)
			}
		}
	}
	return nil
}

// remediate invokes the warm remediator on a sample event for trail t; an error payload is an error.
func (h *harness) remediate(ctx context.Context, sample string, t trail) error {
	raw, err := h.remediatorEvent(sample, t)
	if err != nil {
		return err
	}
	res, err := h.remed.Invoke(ctx, raw)
	if err != nil {
		return err
	}
	if res.Error != nil {
		return fmt.Errorf("the remediator failed on %s: %w", sample, res.Error)
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
