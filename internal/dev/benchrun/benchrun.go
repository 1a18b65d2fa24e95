// Package benchrun is the whole-process benchmark harness behind `make bench`: it runs the real bootstrap binaries
// as separate processes through the Lambda Runtime API, against moto behind a recording, fault-injecting proxy, and
// writes BENCHMARKS.md. The Go benchmarks measure the code; this measures what Lambda would bill and wait for: zip
// size, cold start against a hello-world bootstrap, each path's AWS calls, round trips on its critical path and
// handler time, peak memory, and a throttled burst.
//
// moto answers in a millisecond or two, AWS's control planes in tens: the proxy delays every call by a realistic
// latency (WithLatency, 25 ms by default), so that a path's time is what its round trips would cost on AWS, and
// the paths also run without the delay, for what the code itself costs.
package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/trailguard/trailguard/internal/dev/cost"
	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// Functions are the functions measured, as in functions/<name>.
var Functions = []string{localrun.Provider, localrun.Remediator}

// Goals, from issues 5 and 13. They are reported as met or missed; missing one never fails the run. The time goals
// hold at GoalLatency per call, and are judged only when the run used that latency.
const (
	GoalZipBytes   = 3_500_000 // 3.5 MB, read strictly (decimal)
	GoalColdMedian = 50 * time.Millisecond
	GoalRSSBytes   = 40 << 20 // 40 MiB
	GoalNoOpReads  = 1

	GoalLatency      = 25 * time.Millisecond
	GoalSweepRounds  = 5 // a sweep of TrailCount drifted trails
	GoalSweepTime    = 200 * time.Millisecond
	GoalRepairRounds = 4 // a single tampering event, fresh process or warm
	GoalRepairTime   = 125 * time.Millisecond
	// GoalBurstRatio bounds the throttled burst's time over the unthrottled one's, at the same latency.
	GoalBurstRatio = 2.0
	// GoalInitRatio bounds a function's init over the hello-world bootstrap's, in the same run.
	GoalInitRatio = 2.0
)

// DefaultLatency is the per-call delay the proxy adds unless WithLatency says otherwise: a control-plane round trip
// within a region.
const DefaultLatency = GoalLatency

// RepairLimit is the TRAILGUARD_REPAIR_LIMIT the benchmark remediators run with: the product's 5 repairs an hour
// would mark a benchmarked trail contested after five runs and stop repairing it. RepairWindow is the
// TRAILGUARD_REPAIR_WINDOW of those that run the paths, which repair the same trails hundreds of times: within an
// hour each registry item would keep hundreds of repair times, which moto's DynamoDB takes tens of milliseconds to
// scan; within a second it keeps a handful, as it does in a deployment with the default policy.
const (
	RepairLimit  = 1000
	RepairWindow = time.Second
)

// config is what the options set.
type config struct {
	runs, coldRuns     int
	countRuns          int // runs of each path at testbed.RoundTripLatency, counting round trips
	burstEvents, burst int // events and concurrent processes
	burstRuns          int
	throttleEvery      int
	latency            time.Duration
	// zeroLatency runs the paths a second time without the delay.
	zeroLatency bool
	logDir      string
	log         *slog.Logger
	quick       bool
}

// Option configures Run.
type Option func(*config)

// WithRuns sets how many timed runs each warm path gets (median of these).
func WithRuns(n int) Option { return func(c *config) { c.runs = n } }

// WithColdRuns sets how many fresh processes each function gets for the cold start.
func WithColdRuns(n int) Option { return func(c *config) { c.coldRuns = n } }

// WithBurst sets the burst's number of events and of concurrent remediator processes.
func WithBurst(events, processes int) Option {
	return func(c *config) { c.burstEvents, c.burst = events, processes }
}

// WithBurstRuns sets how many times each burst (unthrottled, throttled) runs; the report gives the median.
func WithBurstRuns(n int) Option { return func(c *config) { c.burstRuns = n } }

// WithLatency sets the proxy's delay of every AWS call for the realistic measurements (the paths also run at 0 ms
// unless in quick mode).
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// WithLogDir sets where the functions' logs go (default dist/bench under the module root).
func WithLogDir(dir string) Option { return func(c *config) { c.logDir = dir } }

// WithLogger sets where progress is logged (default: nowhere).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Quick is the few-runs mode CI uses to prove the harness works on a loaded machine: 3 runs of every path at the
// realistic latency only (no 0 ms run), one to count its round trips, 3 cold starts, one burst of each kind of 50
// events on 2 processes. Options after it still apply.
func Quick() Option {
	return func(c *config) {
		c.quick, c.runs, c.countRuns, c.coldRuns, c.burstEvents, c.burst, c.burstRuns, c.zeroLatency = true, 3, 1, 3, 50, 2, 1, false
	}
}

// Run measures everything and returns the report. A step that could not be done is recorded in Report.Problems
// and also returned as an error, with whatever the other steps measured; a missed goal is not an error.
func Run(ctx context.Context, opts ...Option) (*Report, error) {
	c := config{runs: 20, countRuns: 3, coldRuns: 15, burstEvents: 1000, burst: 4, burstRuns: 3, throttleEvery: 10,
		latency: DefaultLatency, zeroLatency: true, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&c)
	}
	if c.runs < 1 || c.coldRuns < 1 || c.burstEvents < 1 || c.burst < 1 || c.burstRuns < 1 {
		return nil, fmt.Errorf("runs (%d), cold runs (%d), burst events (%d), processes (%d) and burst runs (%d) must all be at least 1",
			c.runs, c.coldRuns, c.burstEvents, c.burst, c.burstRuns)
	}
	if c.latency < 0 || c.latency > 10*time.Second {
		return nil, fmt.Errorf("latency %s: want between 0 and 10s per AWS call", c.latency)
	}
	root, err := testbed.ModuleRoot()
	if err != nil {
		return nil, err
	}
	if c.logDir == "" {
		c.logDir = filepath.Join(root, "dist", "bench")
	}
	rep := &Report{Started: time.Now(), Machine: ReadMachine(ctx), Runs: c.runs, ColdRuns: c.coldRuns,
		BurstEvents: c.burstEvents, BurstProcesses: c.burst, BurstRuns: c.burstRuns, ThrottleEvery: c.throttleEvery,
		Quick: c.quick, Latency: c.latency, Latencies: []time.Duration{c.latency},
		CountLatency: testbed.RoundTripLatency, CountRuns: c.countRuns, LoadStart: loadAvg()}
	if c.zeroLatency && c.latency > 0 {
		rep.Latencies = append(rep.Latencies, 0)
	}
	h := &harness{cfg: c, rep: rep}
	defer func() { rep.Took, rep.LoadEnd = time.Since(rep.Started), loadAvg() }()

	h.step("sizes", func() error { return h.sizes(root) })
	h.step("cost", func() (err error) { rep.Cost, err = cost.Table(root); return err })
	if err := h.start(ctx); err != nil {
		rep.fail("start", err)
		h.close()
		return rep, rep.Err()
	}
	defer h.close()
	h.step("cold start", func() error { return h.coldStarts(ctx) })
	h.step("paths", func() error { return h.paths(ctx) })
	h.step("cpu quota", func() error { return h.quota(ctx) })
	h.step("peak RSS", h.peakRSS)
	h.step("burst", func() error { return h.runBurst(ctx) })
	return rep, rep.Err()
}

// step runs one measurement, logging how long it took and recording its failure.
func (h *harness) step(name string, f func() error) {
	t0 := time.Now()
	h.cfg.log.Info("step", "name", name)
	if err := f(); err != nil {
		h.rep.fail(name, err)
		h.cfg.log.Error("step failed", "name", name, "error", err.Error())
		return
	}
	h.cfg.log.Info("step done", "name", name, "took", time.Since(t0).Round(time.Millisecond).String())
}

// Problem is a step that did not work.
type Problem struct {
	Step string
	Err  error
}

func (r *Report) fail(step string, err error) { r.Problems = append(r.Problems, Problem{step, err}) }

// Err joins the problems, or is nil.
func (r *Report) Err() error {
	var errs []error
	for _, p := range r.Problems {
		errs = append(errs, fmt.Errorf("%s: %w", p.Step, p.Err))
	}
	return errors.Join(errs...)
}
