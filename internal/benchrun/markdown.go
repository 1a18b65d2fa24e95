package benchrun

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Section titles of BENCHMARKS.md, in order; tests check that each is present.
var Sections = []string{
	"## Machine", "## How to regenerate", "## Goals", "## Package size", "## Cold start", "## Warm latency",
	"## AWS calls per path", "## Peak memory", "## Burst",
}

// Markdown renders the report as BENCHMARKS.md.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("# trailguard benchmarks")
	p("")
	p("Generated %s by the whole-process harness (`internal/benchrun`), in %s. The real `bootstrap` binaries run as",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Took.Round(time.Second))
	p("separate processes through a local Lambda Runtime API, against moto behind a proxy that counts every AWS call.")
	p("Times are medians of %d runs (cold start: %d fresh processes); they are moto's, on a shared machine: read them", r.Runs, r.ColdRuns)
	p("as orders of magnitude, and the call counts as exact.")
	if r.Quick {
		p("")
		p("**Quick mode**: few runs and a reduced burst, only to prove the harness works. Not for comparison.")
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
	p("")
	p("## How to regenerate")
	p("")
	p("```")
	p("make bench        # make build, the Go benchmarks, then this harness writing BENCHMARKS.md")
	p("go run ./internal/benchrun/cmd/bench -runs 20 -cold 15 -burst 1000 -workers 4 -out BENCHMARKS.md")
	p("go run ./internal/benchrun/cmd/bench -quick   # CI: proves it runs, writes to a temporary file")
	p("```")
	r.goals(p)
	p("")
	p("## Package size")
	p("")
	p("`dist/<function>.zip` as `make build` makes it for Lambda (linux/arm64, `-tags lambda.norpc -trimpath -s -w`).")
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
	p("From exec of `bootstrap` to the first invocation answered through the Runtime API: process start, init (SDK")
	p("configuration, clients), the poll, a cheap event (provider: a Delete of an id it never issued, answered to the")
	p("local ResponseURL; remediator: an event it ignores, `update-trail-failed.json`). Lambda adds the download and")
	p("the sandbox start.")
	p("")
	p("| function | runs | median | p90 | min | max |")
	p("|---|---:|---:|---:|---:|---:|")
	for _, c := range r.Cold {
		p("| %s | %d | %s | %s | %s | %s |", c.Name, c.Stats.N, ms(c.Stats.Median), ms(c.Stats.P90), ms(c.Stats.Min), ms(c.Stats.Max))
	}
	p("")
	p("## Warm latency")
	p("")
	p("One warm process per function, invoked through its Runtime API; one untimed run first. The remediator runs with")
	p("`TRAILGUARD_REPAIR_LIMIT=%d` so that repeated repairs of one trail do not make it contested (the product's", RepairLimit)
	p("default is 5 an hour).")
	p("")
	p("| path | what | runs | median | p90 | min | max |")
	p("|---|---|---:|---:|---:|---:|---:|")
	for _, w := range r.Warm {
		p("| %s | %s | %d | %s | %s | %s | %s |", w.Name, w.Note, w.Stats.N, ms(w.Stats.Median), ms(w.Stats.P90), ms(w.Stats.Min), ms(w.Stats.Max))
	}
	p("")
	p("## AWS calls per path")
	p("")
	p("Every call the bootstrap made, as the proxy in front of moto saw it, in the last timed run. Reads are")
	p("Get/Describe/List/Head/Scan/Query calls; \"resource writes\" leave out the registry (DynamoDB) and the")
	p("notification (SNS).")
	p("")
	p("| path | total | reads | writes | resource writes | calls |")
	p("|---|---:|---:|---:|---|---|")
	for _, w := range r.Warm {
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
	if rss := max(r.Burst.PeakRSS, r.Baseline.PeakRSS); rss > 0 {
		p("| remediator | largest of the bursts' processes | %s |", mib(rss))
	}
	r.burst(p)
	return b.Bytes()
}

func (r *Report) burst(p func(string, ...any)) {
	b, base := r.Burst, r.Baseline
	p("")
	p("## Burst")
	p("")
	p("%d registered trails, each tampered with before the burst (unlinked; every other one also stopped logging),", TrailCount)
	p("then %d remediator events (%s, in rotation over the trails) delivered as fast", b.Events, strings.Join(burstSamples, ", "))
	p("as %d concurrent remediator processes take them (each its own Runtime API, like Lambda concurrency). The", b.Processes)
	p("throttled burst has every %d-th AWS call of each service answered by the proxy with throttling", r.ThrottleEvery)
	p("(`ThrottlingException`; `Throttling` for IAM and SNS); the baseline is the same burst without faults, on fresh")
	p("processes. An event whose invocation fails is run again, up to %d attempts, as Lambda does with asynchronous", lambdaAttempts)
	p("events. `TRAILGUARD_REPAIR_LIMIT=%d`.", RepairLimit)
	p("")
	p("| | baseline | throttled |")
	p("|---|---:|---:|")
	row := func(name string, f func(Burst) string) { p("| %s | %s | %s |", name, f(base), f(b)) }
	row("events", func(x Burst) string { return fmt.Sprint(x.Events) })
	row("processes", func(x Burst) string { return fmt.Sprint(x.Processes) })
	row("trails compliant before (after tampering)", func(x Burst) string {
		return fmt.Sprintf("%d of %d", x.CompliantBefore, TrailCount)
	})
	row("wall time", func(x Burst) string { return fmt.Sprintf("%.2f s", x.Wall.Seconds()) })
	row("events/s", func(x Burst) string {
		if x.Wall <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", float64(x.Events)/x.Wall.Seconds())
	})
	row("failed invocations (retried)", func(x Burst) string { return fmt.Sprint(x.FailedAttempts) })
	row("events failed permanently", func(x Burst) string { return fmt.Sprint(x.FailedPermanently) })
	row("AWS calls (throttled attempts and retries included)", func(x Burst) string {
		return fmt.Sprintf("%d (%d reads, %d writes)", x.Calls.Total, x.Calls.Reads, x.Calls.Writes)
	})
	row("throttles injected", func(x Burst) string { return fmt.Sprint(x.Throttles) })
	row("trails compliant after (linked as wired, logging)", func(x Burst) string {
		return fmt.Sprintf("%d of %d", compliantCount(x.Trails), len(x.Trails))
	})
	row("peak RSS of a process", func(x Burst) string { return mib(x.PeakRSS) })
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
			p("Calls during the %s burst: %s.", burstName(x), strings.Join(x.Calls.List, ", "))
		}
	}
}

func burstName(b Burst) string {
	if b.ThrottleEvery > 0 {
		return "throttled"
	}
	return "baseline"
}

// goals is the table of issue 5's goals, met or missed.
func (r *Report) goals(p func(string, ...any)) {
	p("")
	p("## Goals")
	p("")
	p("| goal | target | measured | result |")
	p("|---|---|---|---|")
	for _, s := range r.Sizes {
		p("| %s zip size | ≤ 3.5 MB (%d bytes) | %d bytes | %s |", s.Function, int64(GoalZipBytes), s.ZipBytes, verdict(float64(s.ZipBytes) <= GoalZipBytes))
	}
	for _, c := range r.Cold {
		p("| %s cold start | median ≤ %s | %s | %s |", c.Name, ms(GoalColdMedian), ms(c.Stats.Median), verdict(c.Stats.Median <= GoalColdMedian))
	}
	for _, w := range r.Warm {
		switch w.Name {
		case "remediator no-op":
			p("| no-op event AWS calls | exactly %d read, no write | %d reads, %d writes | %s |", GoalNoOpReads,
				w.Calls.Reads, w.Calls.Writes, verdict(w.Calls.Reads == GoalNoOpReads && w.Calls.Writes == 0))
		case "remediator repair":
			ok := len(w.Calls.ResourceWrites) == 1 && w.Calls.ResourceWrites[0] == "CloudTrail.UpdateTrail"
			p("| repair writes (drift: trail unlinked) | only CloudTrail.UpdateTrail, once | %s | %s |", list(w.Calls.ResourceWrites), verdict(ok))
		}
	}
	for _, x := range r.RSS {
		p("| %s peak RSS | ≤ %s | %s | %s |", x.Function, mib(GoalRSSBytes), mib(x.Bytes), verdict(x.Bytes <= GoalRSSBytes))
	}
	if rss := max(r.Burst.PeakRSS, r.Baseline.PeakRSS); rss > 0 {
		p("| remediator peak RSS in the bursts | ≤ %s | %s | %s |", mib(GoalRSSBytes), mib(rss), verdict(rss <= GoalRSSBytes))
	}
	b := r.Burst
	p("| throttled burst: every trail compliant after | %d of %d | %d of %d | %s |", len(b.Trails), len(b.Trails),
		compliantCount(b.Trails), len(b.Trails), verdict(b.Compliant()))
	p("| throttled burst: no event fails permanently | 0 | %d | %s |", b.FailedPermanently, verdict(b.Compliant() && b.FailedPermanently == 0))
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
