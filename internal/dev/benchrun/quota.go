package benchrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/trailguard/trailguard/internal/dev/cpuquota"
	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// QuotaSizes are the Lambda memory sizes whose CPU share the bootstraps are measured under (issue 24).
var QuotaSizes = []int{128, 256, 512}

// Goals at the functions' default memory size, under its CPU share, at GoalLatency per call (issue 24).
const (
	GoalQuotaFirstAnswer = 100 * time.Millisecond // cold start to first answer, each function
	GoalQuotaRepair      = 150 * time.Millisecond // tampering repair handler time, fresh or warm process
)

// quotaPaths are the paths run under each quota, by name (pathDefs).
var quotaPaths = []string{
	"remediator no-op event", "tampering repair, fresh process", "tampering repair, warm process",
	fmt.Sprintf("sweep of %d drifted trails", TrailCount),
}

// QuotaRun is everything measured under one memory size's CPU share.
type QuotaRun struct {
	MemoryMB int
	// Share is the quota set (of one CPU); Measured what a busy loop in the group got, and Throttled the periods
	// the kernel held the group back in over the whole run: the proof that the quota held.
	Share, Measured float64
	Throttled       int64
	Cold            []ColdStart
	Paths           []QuotaPath
}

// QuotaPath is one path's handler times under a quota.
type QuotaPath struct {
	Name  string
	Stats Stats
}

// quota runs the cold starts and quotaPaths with each bootstrap inside a CPU cgroup of each QuotaSizes share, at
// the run's latency. Where cgroups cannot be written (not root, no cpu controller) it records why and skips.
func (h *harness) quota(ctx context.Context) error {
	probe, err := cpuquota.New(fmt.Sprintf("trailguard-bench-%d-probe", os.Getpid()), 0.5, cpuquota.LambdaPeriod)
	if err != nil {
		h.rep.QuotaSkipped = err.Error()
		return nil
	}
	if err := probe.Close(); err != nil {
		return err
	}
	h.proxy.SetLatency(h.cfg.latency)
	defer h.proxy.SetLatency(0)
	for _, mb := range QuotaSizes {
		run, err := h.quotaRun(ctx, mb)
		if err != nil {
			return fmt.Errorf("%d MB: %w", mb, err)
		}
		h.rep.Quota = append(h.rep.Quota, run)
	}
	return nil
}

func (h *harness) quotaRun(ctx context.Context, mb int) (run QuotaRun, err error) {
	run = QuotaRun{MemoryMB: mb, Share: cpuquota.Share(mb)}
	g, err := cpuquota.New(fmt.Sprintf("trailguard-bench-%d-%d", os.Getpid(), mb), run.Share, cpuquota.LambdaPeriod)
	if err != nil {
		return run, err
	}
	defer func() {
		if cerr := g.Close(); err == nil {
			err = cerr
		}
	}()
	if run.Measured, err = g.Measure(ctx, 2*time.Second); err != nil {
		return run, err
	}
	dir, err := os.MkdirTemp(filepath.Join(h.cfg.logDir), fmt.Sprintf("quota-%d-", mb))
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	wrapped := map[string]string{}
	for _, fn := range append(slices.Clone(Functions), Hello) {
		var bootstrap string
		if fn == Hello {
			bootstrap, err = testbed.BuildPackage(helloPackage, Hello)
		} else {
			bootstrap, err = testbed.BuildFunction(fn)
		}
		if err != nil {
			return run, err
		}
		if wrapped[fn], err = g.Wrap(bootstrap, dir, fn); err != nil {
			return run, err
		}
	}
	inits, firsts := map[string][]time.Duration{}, map[string][]time.Duration{}
	for range h.cfg.coldRuns {
		for _, fn := range append(slices.Clone(Functions), Hello) {
			init, first, err := h.coldStart(ctx, fn, wrapped[fn])
			if err != nil {
				return run, fmt.Errorf("cold start of %s: %w", fn, err)
			}
			inits[fn], firsts[fn] = append(inits[fn], init), append(firsts[fn], first)
		}
	}
	for _, fn := range append(slices.Clone(Functions), Hello) {
		run.Cold = append(run.Cold, ColdStart{Name: fn, Init: Summarize(inits[fn]), First: Summarize(firsts[fn])})
	}
	if run.Paths, err = h.quotaPaths(ctx, wrapped[localrun.Remediator]); err != nil {
		return run, err
	}
	run.Throttled, err = g.Throttled()
	return run, err
}

// quotaPaths times quotaPaths with a remediator under the quota: one warm process for the warm paths (one untimed
// run of each first), a new one for every run of a fresh-process path.
func (h *harness) quotaPaths(ctx context.Context, remediator string) ([]QuotaPath, error) {
	warm, err := startFresh(remediator, h.pathEnv(localrun.Remediator))
	if err != nil {
		return nil, err
	}
	defer warm.close()
	if _, err := warm.initDone(ctx); err != nil {
		return nil, err
	}
	var out []QuotaPath
	for _, p := range h.pathDefs(ctx) {
		if !slices.Contains(quotaPaths, p.name) {
			continue
		}
		var took []time.Duration
		for i := 0; i <= h.cfg.runs; i++ {
			d, err := h.quotaOnce(ctx, p, remediator, warm)
			if err != nil {
				return nil, fmt.Errorf("%s, run %d: %w", p.name, i, err)
			}
			if i > 0 {
				took = append(took, d)
			}
		}
		if p.cleanup != nil {
			if err := p.cleanup(); err != nil {
				return nil, err
			}
		}
		out = append(out, QuotaPath{Name: p.name, Stats: Summarize(took)})
	}
	return out, nil
}

func (h *harness) quotaOnce(ctx context.Context, p path, remediator string, warm *fresh) (time.Duration, error) {
	remed := warm.invoke
	if p.fresh {
		f, err := startFresh(remediator, h.pathEnv(localrun.Remediator))
		if err != nil {
			return 0, err
		}
		defer f.close()
		if _, err := f.initDone(ctx); err != nil {
			return 0, err
		}
		remed = f.invoke
	}
	if p.arrange != nil {
		if err := p.arrange(); err != nil {
			return 0, fmt.Errorf("arrange: %w", err)
		}
	}
	t0 := time.Now()
	if err := p.act(remed); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// QuotaVerdict says, for one run, whether the issue-24 goals hold at that size: every function's cold start to
// first answer within GoalQuotaFirstAnswer and both tampering repairs within GoalQuotaRepair (medians).
func (q QuotaRun) QuotaVerdict() bool {
	if len(q.Cold) == 0 || len(q.Paths) == 0 {
		return false
	}
	for _, c := range q.Cold {
		if c.Name != Hello && c.First.Median > GoalQuotaFirstAnswer {
			return false
		}
	}
	for _, p := range q.Paths {
		if (p.Name == quotaPaths[1] || p.Name == quotaPaths[2]) && p.Stats.Median > GoalQuotaRepair {
			return false
		}
	}
	return true
}

// quotaSection renders the runs under Lambda's CPU share.
func (r *Report) quotaSection(p func(string, ...any), defaultMB int) {
	p("")
	p("## Under Lambda's CPU share")
	p("")
	if r.QuotaSkipped != "" {
		p("Not measured on this machine: %s. It needs root and a CPU cgroup controller (v1 `cpu.cfs_quota_us` or v2 `cpu.max`).", oneLine(r.QuotaSkipped))
		return
	}
	if len(r.Quota) == 0 {
		p("Not measured: the step did not work (see the problems above).")
		return
	}
	p("Lambda gives a function CPU in proportion to its memory, one vCPU at %d MB. Each bootstrap here runs inside a CPU", cpuquota.FullCPUMemoryMB)
	p("cgroup (`internal/dev/cpuquota`, created and removed by the bench) whose quota is that share of one CPU per %s", ms(cpuquota.LambdaPeriod))
	p("period, the window users measured Lambda enforcing it in. A wrapper joins the group and then execs the bootstrap, so")
	p("its init runs under the quota from the first instruction; the hello-world bootstrap gets the same wrapper. **Quota")
	p("held** is what a busy loop in the group got of one CPU over 2 s, and how many periods the kernel throttled the")
	p("group in over the whole run. At %s per AWS call; medians of %d runs (cold: %d fresh processes of each bootstrap).", ms(r.Latency), r.Runs, r.ColdRuns)
	p("This machine's cores are not Lambda's Graviton cores (see Machine), and moto's time is not under the quota.")
	p("")
	head, rule := "| |", "|---|"
	for _, q := range r.Quota {
		mark := ""
		if q.MemoryMB == defaultMB {
			mark = " (default)"
		}
		head += fmt.Sprintf(" %d MB%s |", q.MemoryMB, mark)
		rule += "---:|"
	}
	p("%s", head)
	p("%s", rule)
	row := func(name string, cell func(QuotaRun) string) {
		line := "| " + name + " |"
		for _, q := range r.Quota {
			line += " " + cell(q) + " |"
		}
		p("%s", line)
	}
	row("CPU share (quota)", func(q QuotaRun) string { return fmt.Sprintf("%.1f %%", q.Share*100) })
	row("quota held: busy loop got, periods throttled", func(q QuotaRun) string {
		return fmt.Sprintf("%.1f %%, %d", q.Measured*100, q.Throttled)
	})
	for _, name := range append(slices.Clone(Functions), Hello) {
		row(name+" init", func(q QuotaRun) string { return ms(q.cold(name).Init.Median) })
		row(name+" cold start to first answer", func(q QuotaRun) string { return ms(q.cold(name).First.Median) })
	}
	for _, name := range quotaPaths {
		row(name, func(q QuotaRun) string { return ms(q.path(name).Median) })
	}
	row(fmt.Sprintf("goals (first answer ≤ %s, repairs ≤ %s)", ms(GoalQuotaFirstAnswer), ms(GoalQuotaRepair)),
		func(q QuotaRun) string { return verdict(q.QuotaVerdict()) })
	row("GB-s billed per fresh repair (memory × first answer + repair)", func(q QuotaRun) string {
		return fmt.Sprintf("%.4f", q.BilledGBs())
	})
	row("GB-s billed per sweep of 5 drifted trails (memory × handler time)", func(q QuotaRun) string {
		return fmt.Sprintf("%.4f", q.SweepGBs())
	})
}

// SweepGBs is what Lambda would bill for the sweep of drifted trails at this size: the periodic sweep is most of the
// functions' invocations, so its GB-s weigh most in the choice of the default size.
func (q QuotaRun) SweepGBs() float64 {
	return float64(q.MemoryMB) / 1024 * q.path(quotaPaths[3]).Median.Seconds()
}

// BilledGBs is what Lambda would bill for a tampering repair in a fresh environment: init and the invocation are
// both billed on provided runtimes, so the remediator's cold start to first answer plus a fresh repair, at this
// memory size. The default size is chosen on it beside the goals (docs/organizations.md, "Memory size").
func (q QuotaRun) BilledGBs() float64 {
	d := q.cold(localrun.Remediator).First.Median + q.path(quotaPaths[1]).Median
	return float64(q.MemoryMB) / 1024 * d.Seconds()
}

func (q QuotaRun) cold(name string) ColdStart {
	for _, c := range q.Cold {
		if c.Name == name {
			return c
		}
	}
	return ColdStart{}
}

func (q QuotaRun) path(name string) Stats {
	for _, p := range q.Paths {
		if p.Name == name {
			return p.Stats
		}
	}
	return Stats{}
}
