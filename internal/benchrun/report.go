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

	"github.com/trailguard/trailguard/internal/testbed"
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
	ThrottleEvery  int
	Sizes          []Size
	Cold           []Latency
	Warm           []Path
	RSS            []RSS
	// Burst is the burst with throttling injected; Baseline the same burst without faults.
	Burst, Baseline Burst
	Problems        []Problem
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

// Latency is one function's cold start.
type Latency struct {
	Name  string
	Stats Stats
}

// Path is one warm path: its latency and the AWS calls of one run.
type Path struct {
	Name, Function, Note string
	Stats                Stats
	Calls                Calls
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

// Burst is the result of one burst.
type Burst struct {
	Events, Processes int
	// ThrottleEvery is n when every n-th call of each service was throttled, 0 without faults.
	ThrottleEvery int
	// CompliantBefore is how many trails were compliant after the tampering, before the burst.
	CompliantBefore int
	Wall            time.Duration
	// FailedAttempts are invocations that returned an error (Lambda would retry them); FailedPermanently are
	// events that failed all of Lambda's attempts.
	FailedAttempts, FailedPermanently int
	Errors                            []string
	Calls                             Calls
	Throttles                         int
	PeakRSS                           int64
	Trails                            []TrailState
}

// TrailState is a trail's state after the burst.
type TrailState struct {
	Trail           string
	Linked, Logging bool
}

// Compliant says whether the burst ran and every trail ended linked and logging.
func (b Burst) Compliant() bool {
	if len(b.Trails) == 0 {
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
