package benchrun

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// Sections are the section titles of BENCHMARKS.md, in order; tests check that each is present.
var Sections = []string{
	"## Machine", "## How to regenerate", "## Goals", "## Package size", "## Cold start", "## Paths",
	"## AWS calls per path", "## Peak memory", "## Burst", "## Under Lambda's CPU share",
	"## Cost per account and region per month",
}

// Markdown renders the report as BENCHMARKS.md.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	var others []time.Duration
	if len(r.Latencies) > 1 {
		others = r.Latencies[1:]
	}
	p("# trailguard benchmarks")
	p("")
	p("Generated %s by the whole-process harness (`internal/dev/benchrun`), in %s. The real `bootstrap` binaries run as",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Took.Round(time.Second))
	p("separate processes through a local Lambda Runtime API, against moto behind a proxy that counts every AWS call")
	p("and makes each one take at least **%s**, standing for a round trip to an AWS control plane (moto itself answers", ms(r.Latency))
	p("in a few milliseconds). The paths also run at %s per call, which is what the code and moto cost alone.", latencies(others))
	p("Times are medians of %d runs (cold start: %d fresh processes of each bootstrap; bursts: %d of each kind).", r.Runs, r.ColdRuns, r.BurstRuns)
	p("")
	p("**The machine was shared while measuring**: other engineers' builds and test runs were using its %d cores", r.Machine.Cores)
	p("(load average %s at the start, %s at the end: 1, 5 and 15 minutes). Times are therefore noisy upward;", r.LoadStart, r.LoadEnd)
	p("call counts and round trips on the critical path do not depend on the machine.")
	if r.Quick {
		p("")
		p("**Quick mode**: few runs, no 0 ms run and a reduced burst, only to prove the harness works. Not for comparison.")
	}
	if len(r.Problems) > 0 {
		p("")
		p("**Some steps did not work; their sections are empty or partial:**")
		for _, pr := range r.Problems {
			p("- %s: %s", pr.Step, oneLine(pr.Err.Error()))
		}
	}
	m := r.Machine
	p("")
	p("## Machine")
	p("")
	p("| | |")
	p("|---|---|")
	p("| CPU | %s |", m.CPU)
	p("| cores | %d (shared with other work while measuring) |", m.Cores)
	p("| OS/arch | %s/%s |", m.OS, m.Arch)
	p("| Go | %s |", m.Go)
	p("| moto | %s |", m.Moto)
	p("| latency added per AWS call | %s (and %s) |", ms(r.Latency), latencies(others))
	p("")
	p("## How to regenerate")
	p("")
	p("```")
	p("make bench        # make build, the Go benchmarks, then this harness writing BENCHMARKS.md")
	p("go run ./cmd/bench -runs 20 -cold 15 -burst 1000 -workers 4 -burst-runs 3 -latency 25ms -out BENCHMARKS.md")
	p("go run ./cmd/bench -quick   # CI: proves it runs, writes dist/BENCHMARKS-quick.md")
	p("```")
	r.goals(p)
	p("")
	p("## Package size")
	p("")
	p("`dist/<function>.zip` as `make build` makes it for Lambda (linux/arm64, with the flags in `functions/lambda.flags`).")
	p("The processes measured below are builds for this machine (%s/%s) from `testbed.BuildFunction`.", m.OS, m.Arch)
	p("")
	p("| function | zip | bootstrap (unzipped) |")
	p("|---|---:|---:|")
	for _, s := range r.Sizes {
		p("| %s | %s (%d bytes) | %s |", s.Function, mib(s.ZipBytes), s.ZipBytes, mib(s.BootstrapBytes))
	}
	p("")
	p("## Cold start")
	p("")
	p("Fresh processes, each with its own Runtime API, the three bootstraps interleaved. **Init** is from exec of")
	p("`bootstrap` to its first poll of the Runtime API for an invocation, where Lambda's Init Duration ends: process")
	p("start, the Go runtime, package initialisation, SDK configuration and clients. **First answer** adds the poll and")
	p("a cheap event (provider: a Delete of an id it never issued, answered to the local ResponseURL; remediator: an")
	p("event it ignores, `update-trail-failed.json`). The floor is `%s`, a hello-world aws-lambda-go bootstrap", Hello)
	p("(`%s`) built with the functions' flags. Lambda adds the download and the sandbox start.", helloPackage)
	p("")
	p("| bootstrap | runs | init median | init p90 | init ÷ hello-world | first answer median | first answer p90 |")
	p("|---|---:|---:|---:|---:|---:|---:|")
	for _, c := range r.Cold {
		p("| %s | %d | %s | %s | %s | %s | %s |", c.Name, c.Init.N, ms(c.Init.Median), ms(c.Init.P90), r.initRatio(c),
			ms(c.First.Median), ms(c.First.P90))
	}
	p("")
	p("## Paths")
	p("")
	p("Handler time: from handing the event to the bootstrap through its Runtime API to its answer. One warm process per")
	p("function, one untimed run first; the fresh-process path starts a new remediator for every run and times only")
	p("its first invocation. **Round trips** is the longest chain of AWS calls that waited on each other")
	p("(`testbed.Recorder.CriticalPath`: a call extends a chain when it began after the chain's last call ended),")
	p("median (max) over %d more runs of each path at **%s** per call: far above moto's time for a call, so that calls", r.CountRuns, ms(r.CountLatency))
	p("made at once overlap and calls that wait on each other do not, whatever the machine (at %s, moto's queue", ms(r.Latency))
	p("staggers calls made at once and can make two look like a chain); the AWS calls per path below come from those")
	p("runs too. Peak RSS is the process's VmHWM after the")
	p("path: for the warm processes it includes the paths before. The remediator runs with `TRAILGUARD_REPAIR_LIMIT=%d` and", RepairLimit)
	p("`TRAILGUARD_REPAIR_WINDOW=%s` so that repeated repairs of one trail do not make it contested (the product's", RepairWindow)
	p("default is 5 an hour) and its registry item keeps the handful of repair times it keeps in a deployment.")
	p("")
	head, rule := "| path | AWS calls | round trips |", "|---|---:|---:|"
	for _, lat := range r.Latencies {
		head += fmt.Sprintf(" median at %s | p90 at %s | moto busy at %s |", ms(lat), ms(lat), ms(lat))
		rule += "---:|---:|---:|"
	}
	estimated := r.Latency > 0 && slices.Contains(r.Latencies, 0)
	if estimated {
		head += fmt.Sprintf(" code alone | estimate on AWS at %s |", ms(r.Latency))
		rule += "---:|---:|"
	}
	p("%s peak RSS |", head)
	p("%s---:|", rule)
	for _, w := range r.Paths {
		row := fmt.Sprintf("| %s | %d (%d writes) | %s |", w.Name, w.Calls.Total, w.Calls.Writes, rounds(w.CriticalPath))
		for _, lat := range r.Latencies {
			t := w.timing(lat)
			row += fmt.Sprintf(" %s | %s | %s |", ms(t.Stats.Median), ms(t.Stats.P90), ms(t.Moto.Median))
		}
		if estimated {
			est, _ := w.EstimateOnAWS(r.Latency)
			row += fmt.Sprintf(" %s | %s |", ms(w.timing(0).Rest.Median), ms(est))
		}
		p("%s %s |", row, mib(w.PeakRSS))
	}
	p("")
	p("The proxy forwards each call at once and holds its answer until the latency has passed since the call arrived,")
	p("as an AWS round trip includes the service's own time: moto's time shows in a handler time only where it exceeds")
	p("the latency. Each of %s has a moto_server of its own and the other services share one (`testbed.SplitServices`),", splitNames())
	p("as AWS's services answer in parallel; but one moto_server answers concurrent calls one after another (one Python")
	p("process, 3 to 50 ms of CPU a call on this machine, DynamoDB's nested items the slowest), where one AWS service")
	p("answers them in parallel within its round trip. Paths that make many calls at once pay that queue here, and would")
	p("not on AWS. **Moto busy** is the median time, within the handler time, during which moto was answering at least")
	p("one of the path's calls (`testbed.FaultProxy.UpstreamBusy`). **Code alone** is the median of the 0 ms runs'")
	p("handler time less moto busy: the bootstrap's own time, the proxy's included. **Estimate on AWS** is the round")
	p("trips × %s plus code alone; it leaves out what costs more on AWS: a 128 MB function's share of a vCPU (code", ms(r.Latency))
	p("alone is measured on a whole core here), new TLS connections (the proxy speaks plain HTTP), and a round of many")
	p("calls waiting for the slowest of them. The notification topic has no subscriber while measuring: moto delivers to an HTTP")
	p("subscriber within the Publish call, where AWS answers first and delivers afterwards.")
	p("")
	for _, w := range r.Paths {
		p("- **%s**: %s.", w.Name, w.Note)
	}
	p("")
	p("## AWS calls per path")
	p("")
	p("Every call the bootstrap made, as the proxy in front of moto saw it, in the last run counting round trips. Reads are")
	p("Get/Describe/List/Head/Scan/Query calls; \"resource writes\" leave out the registry (DynamoDB) and the")
	p("notification (SNS).")
	p("")
	p("| path | total | reads | writes | resource writes | calls |")
	p("|---|---:|---:|---:|---|---|")
	for _, w := range r.Paths {
		p("| %s | %d | %d | %d | %s | %s |", w.Name, w.Calls.Total, w.Calls.Reads, w.Calls.Writes,
			list(w.Calls.ResourceWrites), list(w.Calls.List))
	}
	p("")
	p("## Peak memory")
	p("")
	p("VmHWM (peak resident set) from `/proc/<pid>/status`. Lambda's smallest useful size is 128 MB.")
	p("")
	p("| function | process | peak RSS |")
	p("|---|---|---:|")
	for _, x := range r.RSS {
		p("| %s | %s | %s |", x.Function, x.Note, mib(x.Bytes))
	}
	for _, w := range r.Paths {
		if w.Fresh && w.PeakRSS > 0 {
			p("| %s | largest of the fresh processes of \"%s\" | %s |", w.Function, w.Name, mib(w.PeakRSS))
		}
	}
	if rss := max(r.Burst.PeakRSS, r.Baseline.PeakRSS); rss > 0 {
		p("| remediator | largest of the bursts' processes | %s |", mib(rss))
	}
	r.burst(p)
	r.quotaSection(p, lambdaenv.MemoryMB)
	p("")
	p("## Cost per account and region per month")
	p("")
	if len(r.Cost) == 0 {
		p("Not computed: the step did not work (see the problems above).")
	} else {
		b.Write(r.Cost)
	}
	return b.Bytes()
}

// initRatio is a bootstrap's median init over the hello-world's, or "-".
func (r *Report) initRatio(c ColdStart) string {
	if ratio, ok := r.InitRatio(c.Name); ok {
		return fmt.Sprintf("%.2f×", ratio)
	}
	return "-"
}

// InitRatio is a bootstrap's median init over the hello-world bootstrap's in the same run.
func (r *Report) InitRatio(name string) (float64, bool) {
	var of, hello time.Duration
	for _, c := range r.Cold {
		switch c.Name {
		case name:
			of = c.Init.Median
		case Hello:
			hello = c.Init.Median
		}
	}
	if of <= 0 || hello <= 0 {
		return 0, false
	}
	return float64(of) / float64(hello), true
}

// BurstRatio is the throttled burst's median wall time over the unthrottled one's.
func (r *Report) BurstRatio() (float64, bool) {
	if r.Baseline.Wall <= 0 || r.Burst.Wall <= 0 {
		return 0, false
	}
	return r.Burst.Wall.Seconds() / r.Baseline.Wall.Seconds(), true
}

func rounds(x Rounds) string {
	if x.N == 0 {
		return "not counted"
	}
	if x.Max == x.Median {
		return fmt.Sprint(x.Median)
	}
	return fmt.Sprintf("%d (%d)", x.Median, x.Max)
}

func latencies(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no other latency"
	}
	var out []string
	for _, d := range ds {
		out = append(out, ms(d))
	}
	return strings.Join(out, ", ")
}

func (r *Report) burst(p func(string, ...any)) {
	b, base := r.Burst, r.Baseline
	p("")
	p("## Burst")
	p("")
	p("%d registered trails, each tampered with before the burst (unlinked; every other one also stopped logging),", TrailCount)
	p("then %d remediator events (%s, in rotation over the trails) delivered as fast", b.Events, strings.Join(burstSamples, ", "))
	p("as %d concurrent remediator processes take them (each its own Runtime API, like Lambda concurrency), every AWS", b.Processes)
	p("call delayed by %s. The throttled burst has every %d-th AWS call of each service answered by the proxy with", ms(b.Latency), r.ThrottleEvery)
	p("throttling (`ThrottlingException`; `Throttling` for IAM and SNS); the baseline is the same burst without faults.")
	p("Each kind ran %d times, alternating, each run on fresh processes; wall time is the median. An event whose", b.Runs)
	p("invocation fails is run again, up to %d attempts, as Lambda does with asynchronous events.", lambdaAttempts)
	p("`TRAILGUARD_REPAIR_LIMIT=%d` (the product's one-hour window).", RepairLimit)
	p("")
	p("| | baseline | throttled |")
	p("|---|---:|---:|")
	row := func(name string, f func(Burst) string) { p("| %s | %s | %s |", name, f(base), f(b)) }
	row("events", func(x Burst) string { return fmt.Sprint(x.Events) })
	row("processes", func(x Burst) string { return fmt.Sprint(x.Processes) })
	row("runs", func(x Burst) string { return fmt.Sprint(x.Runs) })
	row("trails compliant before (after tampering)", func(x Burst) string {
		return fmt.Sprintf("%d of %d", x.CompliantBefore, TrailCount)
	})
	row("wall time, median", func(x Burst) string { return fmt.Sprintf("%.2f s", x.Wall.Seconds()) })
	row("wall time of each run", func(x Burst) string {
		var out []string
		for _, w := range x.Walls {
			out = append(out, fmt.Sprintf("%.2f", w.Seconds()))
		}
		return strings.Join(out, ", ") + " s"
	})
	row("events/s", func(x Burst) string {
		if x.Wall <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", float64(x.Events)/x.Wall.Seconds())
	})
	row("failed invocations (retried), all runs", func(x Burst) string { return fmt.Sprint(x.FailedAttempts) })
	row("events failed permanently, all runs", func(x Burst) string { return fmt.Sprint(x.FailedPermanently) })
	row("AWS calls in the last run (throttled attempts and retries included)", func(x Burst) string {
		return fmt.Sprintf("%d (%d reads, %d writes)", x.Calls.Total, x.Calls.Reads, x.Calls.Writes)
	})
	row("throttles injected in the last run", func(x Burst) string { return fmt.Sprint(x.Throttles) })
	row("trails compliant after the last run (linked as wired, logging)", func(x Burst) string {
		return fmt.Sprintf("%d of %d", compliantCount(x.Trails), len(x.Trails))
	})
	row("runs that left a trail not compliant", func(x Burst) string { return fmt.Sprint(x.NonCompliantRuns) })
	row("peak RSS of a process", func(x Burst) string { return mib(x.PeakRSS) })
	if ratio, ok := r.BurstRatio(); ok {
		p("")
		p("The throttled burst took %.2f× the baseline's time.", ratio)
	}
	for _, x := range []Burst{base, b} {
		if len(x.Errors) > 0 {
			p("")
			p("First failures (%s):", burstName(x))
			for _, e := range x.Errors {
				p("- `%s`", oneLine(e))
			}
		}
	}
	for _, x := range []Burst{base, b} {
		if len(x.Calls.List) > 0 {
			p("")
			p("Calls during the last %s burst: %s.", burstName(x), strings.Join(x.Calls.List, ", "))
		}
	}
}

func burstName(b Burst) string {
	if b.ThrottleEvery > 0 {
		return "throttled"
	}
	return "baseline"
}

// splitNames lists the services that had a moto_server of their own (SplitServices).
func splitNames() string {
	var out []string
	for _, g := range SplitServices {
		out = append(out, "`"+strings.Join(g, "+")+"`")
	}
	return strings.Join(out, ", ")
}

// goals is the table of issues 5's and 13's goals, met or missed. A time goal is judged only at GoalLatency.
func (r *Report) goals(p func(string, ...any)) {
	p("")
	p("## Goals")
	p("")
	p("| goal | target | measured | result |")
	p("|---|---|---|---|")
	atGoal := r.Latency == GoalLatency
	timeVerdict := func(ok bool) string {
		if !atGoal {
			return fmt.Sprintf("not judged (measured at %s)", ms(r.Latency))
		}
		return verdict(ok)
	}
	for _, s := range r.Sizes {
		p("| %s zip size | ≤ 3.5 MB (%d bytes) | %d bytes | %s |", s.Function, int64(GoalZipBytes), s.ZipBytes, verdict(float64(s.ZipBytes) <= GoalZipBytes))
	}
	for _, c := range r.Cold {
		if c.Name == Hello {
			continue
		}
		p("| %s cold start, exec to first answer | median ≤ %s | %s | %s |", c.Name, ms(GoalColdMedian), ms(c.First.Median), verdict(c.First.Median <= GoalColdMedian))
		if ratio, ok := r.InitRatio(c.Name); ok {
			p("| %s init | < %.0f× the hello-world bootstrap's | %.2f× (%s against %s) | %s |", c.Name, GoalInitRatio, ratio,
				ms(c.Init.Median), ms(r.cold(Hello).Init.Median), verdict(ratio < GoalInitRatio))
		}
	}
	for _, w := range r.Paths {
		at := w.At(GoalLatency).Median
		measured := ms(at)
		if est, ok := w.EstimateOnAWS(GoalLatency); ok {
			measured += fmt.Sprintf(" (estimate on AWS: %s)", ms(est))
		}
		switch {
		case w.Name == "remediator no-op event":
			p("| no-op event AWS calls | exactly %d read, no write | %d reads, %d writes | %s |", GoalNoOpReads,
				w.Calls.Reads, w.Calls.Writes, verdict(w.Calls.Reads == GoalNoOpReads && w.Calls.Writes == 0))
		case strings.HasPrefix(w.Name, "tampering repair"):
			ok := len(w.Calls.ResourceWrites) == 1 && w.Calls.ResourceWrites[0] == "CloudTrail.UpdateTrail"
			p("| %s: writes | only CloudTrail.UpdateTrail, once | %s | %s |", w.Name, list(w.Calls.ResourceWrites), verdict(ok))
			p("| %s: round trips | ≤ %d | %s | %s |", w.Name, GoalRepairRounds, rounds(w.CriticalPath), verdict(w.CriticalPath.Within(GoalRepairRounds)))
			p("| %s: handler time at %s per call | < %s | %s | %s |", w.Name, ms(GoalLatency), ms(GoalRepairTime), measured, timeVerdict(at < GoalRepairTime))
		case strings.Contains(w.Name, "drifted"):
			p("| %s: round trips | ≤ %d | %s | %s |", w.Name, GoalSweepRounds, rounds(w.CriticalPath), verdict(w.CriticalPath.Within(GoalSweepRounds)))
			p("| %s: handler time at %s per call | < %s | %s | %s |", w.Name, ms(GoalLatency), ms(GoalSweepTime), measured, timeVerdict(at < GoalSweepTime))
		}
	}
	for _, x := range r.RSS {
		p("| %s peak RSS | ≤ %s | %s | %s |", x.Function, mib(GoalRSSBytes), mib(x.Bytes), verdict(x.Bytes <= GoalRSSBytes))
	}
	if rss := max(r.Burst.PeakRSS, r.Baseline.PeakRSS); rss > 0 {
		p("| remediator peak RSS in the bursts | ≤ %s | %s | %s |", mib(GoalRSSBytes), mib(rss), verdict(rss <= GoalRSSBytes))
	}
	b := r.Burst
	if ratio, ok := r.BurstRatio(); ok {
		p("| throttled burst time over the baseline's, at %s per call | ≤ %.0f× | %.2f× (%.2f s against %.2f s) | %s |", ms(b.Latency),
			GoalBurstRatio, ratio, b.Wall.Seconds(), r.Baseline.Wall.Seconds(), timeVerdict(ratio <= GoalBurstRatio))
	}
	p("| throttled burst: every trail compliant after every run | %d of %d | %d of %d | %s |", len(b.Trails), len(b.Trails),
		compliantCount(b.Trails), len(b.Trails), verdict(b.Compliant()))
	p("| throttled burst: no event fails permanently | 0 | %d | %s |", b.FailedPermanently, verdict(b.Compliant() && b.FailedPermanently == 0))
	p("")
	p("Handler-time goals are judged on the handler time as measured here, moto's own time included; round-trip goals on")
	p("the slowest of the runs that count them. In brackets, the estimate on AWS: round trips × %s plus the code's own", ms(GoalLatency))
	p("time (see Paths), without the queue in which moto_server answers parallel calls one after another.")
}

// cold is one bootstrap's cold start, or zero.
func (r *Report) cold(name string) ColdStart {
	for _, c := range r.Cold {
		if c.Name == name {
			return c
		}
	}
	return ColdStart{}
}

func compliantCount(ts []TrailState) int {
	n := 0
	for _, t := range ts {
		if t.Linked && t.Logging {
			n++
		}
	}
	return n
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

func list(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
