package benchrun

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// Report is everything one harness run measured.
type Report struct {
	Started        time.Time
	Took           time.Duration
	Machine        Machine
	Quick          bool
	Runs, ColdRuns int
	BurstEvents    int
	BurstProcesses int
	BurstRuns      int
	ThrottleEvery  int
	// Latency is the per-call delay of the realistic measurements (the proxy's, standing for AWS's round trip);
	// Latencies are every delay the paths ran at, Latency first.
	Latency   time.Duration
	Latencies []time.Duration
	// CountLatency is the per-call delay of the runs that count each path's round trips and calls, CountRuns of
	// them (testbed.RoundTripLatency).
	CountLatency time.Duration
	CountRuns    int
	// LoadStart and LoadEnd are /proc/loadavg when the run began and ended: the machine is shared.
	LoadStart, LoadEnd string
	Sizes              []Size
	Cold               []ColdStart
	Paths              []Path
	RSS                []RSS
	// Burst is the burst with throttling injected; Baseline the same burst without faults.
	Burst, Baseline Burst
	// Quota is each QuotaSizes run under that memory size's CPU share; QuotaSkipped says why there is none.
	Quota        []QuotaRun
	QuotaSkipped string
	// Cost is internal/dev/cost's table for the templates as synthesized at this commit.
	Cost     []byte
	Problems []Problem
}

// Machine describes where the numbers come from.
type Machine struct {
	CPU, OS, Arch, Go, Moto string
	Cores                   int
}

// Size is one function's Lambda package.
type Size struct {
	Function                 string
	ZipBytes, BootstrapBytes int64
}

// Stats summarizes timed runs.
type Stats struct {
	N                     int
	Median, P90, Min, Max time.Duration
}

// ColdStart is one bootstrap's fresh processes: Init from exec to its first poll of the Runtime API (where
// Lambda's Init Duration ends), First from exec to its first answered invocation.
type ColdStart struct {
	Name        string
	Init, First Stats
}

// Path is one measured path: its AWS calls and critical path, its handler time at each latency, and the peak RSS of
// the process that ran it.
type Path struct {
	Name, Function, Note string
	// Fresh is set when every run was a new process (its init untimed): the registry snapshot starts empty.
	Fresh bool
	// Calls are the last counting run's, at Report.CountLatency.
	Calls Calls
	// CriticalPath is the round trips on the critical path (testbed.Recorder.CriticalPath) of the counting runs,
	// at Report.CountLatency.
	CriticalPath Rounds
	// Times are the handler times at each of Report.Latencies, in that order.
	Times []Timing
	// PeakRSS is VmHWM of the process after the path's runs (for a warm process, everything it ran before too;
	// for fresh processes, the largest of them).
	PeakRSS int64
}

// Rounds summarizes the critical paths of N runs; N is 0 when none was counted.
type Rounds struct{ N, Median, Max int }

// Within says whether round trips were counted and none of the runs took more than goal.
func (x Rounds) Within(goal int) bool { return x.N > 0 && x.Max <= goal }

// SummarizeRounds is the median (lower middle for an even count: round trips are whole) and the maximum.
func SummarizeRounds(n []int) Rounds {
	if len(n) == 0 {
		return Rounds{}
	}
	s := slices.Clone(n)
	slices.Sort(s)
	return Rounds{N: len(s), Median: s[(len(s)-1)/2], Max: s[len(s)-1]}
}

// Timing is a path's handler times at one per-call latency, and how long moto was busy answering during them.
type Timing struct {
	Latency time.Duration
	Stats   Stats
	// Moto summarizes, per run, the time moto spent answering (testbed.FaultProxy.UpstreamBusy); Rest the
	// handler time less that, per run: at 0 ms per call, what the code costs alone.
	Moto, Rest Stats
}

// EstimateOnAWS is what the path's handler time would be on AWS at latency per call: its round trips at that
// latency, plus its code's own time (the 0 ms run's handler time less moto's). false when it did not run at 0 ms
// or its round trips were not counted.
func (p Path) EstimateOnAWS(latency time.Duration) (time.Duration, bool) {
	code := p.timing(0)
	if code.Stats.N == 0 || p.CriticalPath.N == 0 {
		return 0, false
	}
	return time.Duration(p.CriticalPath.Median)*latency + code.Rest.Median, true
}

// At is the path's times at latency d, or zero Stats when it did not run at d.
func (p Path) At(d time.Duration) Stats { return p.timing(d).Stats }

func (p Path) timing(d time.Duration) Timing {
	for _, t := range p.Times {
		if t.Latency == d {
			return t
		}
	}
	return Timing{}
}

// Calls are the AWS calls of one run, as the proxy saw them (retries and throttled attempts included).
type Calls struct {
	Total, Reads, Writes int
	// List is every distinct "Service.Operation" with its count, in first-call order.
	List []string
	// ResourceWrites are the writes to the trail, log group or role: Writes without the registry (DynamoDB) and
	// the notification (SNS).
	ResourceWrites []string
}

// RSS is one process's peak resident set size.
type RSS struct {
	Function, Note string
	Bytes          int64
}

// Burst is the result of one kind of burst, run Runs times on fresh processes.
type Burst struct {
	Events, Processes, Runs int
	// ThrottleEvery is n when every n-th call of each service was throttled, 0 without faults.
	ThrottleEvery int
	// Latency is the proxy's per-call delay during the burst.
	Latency time.Duration
	// CompliantBefore is how many trails were compliant after the tampering, before the last run.
	CompliantBefore int
	// Walls are each run's wall time; Wall is their median.
	Walls []time.Duration
	Wall  time.Duration
	// FailedAttempts are invocations that returned an error (Lambda would retry them); FailedPermanently are
	// events that failed all of Lambda's attempts; both summed over the runs.
	FailedAttempts, FailedPermanently int
	Errors                            []string
	// Calls and Throttles are the last run's.
	Calls     Calls
	Throttles int
	PeakRSS   int64
	// Trails are the trails' states after the last run; NonCompliantRuns counts the runs after which any trail
	// was not compliant.
	Trails           []TrailState
	NonCompliantRuns int
}

// TrailState is a trail's state after the burst.
type TrailState struct {
	Trail           string
	Linked, Logging bool
}

// Compliant says whether the burst ran and every trail ended linked and logging after every run.
func (b Burst) Compliant() bool {
	if len(b.Trails) == 0 || b.NonCompliantRuns > 0 {
		return false
	}
	for _, t := range b.Trails {
		if !t.Linked || !t.Logging {
			return false
		}
	}
	return true
}

// Summarize computes the median (mean of the middle two for an even count), the nearest-rank 90th percentile, the
// minimum and the maximum.
func Summarize(d []time.Duration) Stats {
	if len(d) == 0 {
		return Stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	p90 := s[int(math.Ceil(0.9*float64(n)))-1]
	return Stats{N: n, Median: med, P90: p90, Min: s[0], Max: s[n-1]}
}

// Classify counts the recorder's calls.
func Classify(rec *testbed.Recorder) Calls {
	all, writes := rec.Calls(), rec.Writes()
	c := Calls{Total: len(all), Writes: len(writes), Reads: len(all) - len(writes)}
	c.List = countDistinct(all)
	c.ResourceWrites = countDistinct(rec.ResourceWrites())
	return c
}

// countDistinct lists each distinct entry once, in first-seen order, with "×n" when it occurs n > 1 times.
func countDistinct(calls []string) []string {
	var order []string
	count := map[string]int{}
	for _, c := range calls {
		if count[c] == 0 {
			order = append(order, c)
		}
		count[c]++
	}
	out := make([]string, 0, len(order))
	for _, c := range order {
		if count[c] > 1 {
			c = fmt.Sprintf("%s ×%d", c, count[c])
		}
		out = append(out, c)
	}
	return out
}

// ReadMachine describes this machine: CPU model, cores, OS, Go, and moto's version (from the Python that runs
// moto_server).
func ReadMachine(ctx context.Context) Machine {
	m := Machine{CPU: "unknown", OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version(), Cores: runtime.NumCPU(), Moto: "unknown"}
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	m.Moto = motoVersion(ctx)
	return m
}

// motoVersion asks the Python interpreter of the moto_server script for moto's version: moto_server itself has no
// --version flag.
func motoVersion(ctx context.Context) string {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return "not installed"
	}
	python := "python3"
	if head, err := os.ReadFile(bin); err == nil {
		if first, _, _ := bytes.Cut(head, []byte("\n")); bytes.HasPrefix(first, []byte("#!")) {
			if f := strings.Fields(string(first[2:])); len(f) == 1 {
				python = f[0]
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import moto; print(moto.__version__)").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// loadAvg is the first three fields of /proc/loadavg (1, 5 and 15 minutes), or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// WriteFile writes data to path atomically: a temporary file in the same directory, renamed over path, so that a
// reader never sees half a report.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
