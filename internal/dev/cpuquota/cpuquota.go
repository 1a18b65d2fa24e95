// Package cpuquota runs processes under a CPU cgroup quota, as Lambda gives a function a share of a vCPU in
// proportion to its memory. The benchmark (internal/dev/benchrun) runs the bootstraps inside such a group to measure
// them on the CPU a 128, 256 or 512 MB function gets. It needs root (or a delegated cgroup) and Linux: cgroup v1's
// cpu controller (cpu.cfs_quota_us, as on these machines) or cgroup v2's cpu.max.
package cpuquota

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FullCPUMemoryMB is the memory size at which a Lambda function has the equivalent of one vCPU; below it, the share
// is proportional (AWS Lambda Developer Guide, "Configuring Lambda function memory", read 2026-12-07).
const FullCPUMemoryMB = 1769

// LambdaPeriod is the scheduling period the share is enforced over. Lambda does not document it; users measured a
// function pausing at the end of 20 ms windows once its share of them was used (pwrdrvr/lambda-dispatch#246). A
// longer period lets a short burst such as a cold start run unthrottled, so 20 ms is the harsher, truer choice.
const LambdaPeriod = 20 * time.Millisecond

// Share is the fraction of one CPU a function of memoryMB gets.
func Share(memoryMB int) float64 { return float64(memoryMB) / FullCPUMemoryMB }

// Root is where the cgroup file systems are mounted.
var Root = "/sys/fs/cgroup"

// Group is one CPU cgroup with a quota, created by New and removed by Close.
type Group struct {
	dir    string // the group's directory
	v2     bool
	share  float64
	period time.Duration
}

// New creates the group name (a single path element) with share of one CPU per period. It fails, changing
// nothing, when cgroups are not writable here.
func New(name string, share float64, period time.Duration) (*Group, error) {
	if name == "" || strings.ContainsAny(name, "/.") {
		return nil, fmt.Errorf("cgroup name %q: want one path element without dots", name)
	}
	if share <= 0 || share > 64 {
		return nil, fmt.Errorf("CPU share %g: want more than 0 and at most 64 CPUs", share)
	}
	if period < time.Millisecond || period > time.Second {
		return nil, fmt.Errorf("period %s: want between 1ms and 1s (the kernel's bounds)", period)
	}
	quota := int64(share * float64(period.Microseconds()))
	if quota < 1000 {
		return nil, fmt.Errorf("quota %d µs per %s: the kernel's minimum is 1000 µs; use a longer period", quota, period)
	}
	g := &Group{share: share, period: period}
	v1 := filepath.Join(Root, "cpu")
	switch {
	case exists(filepath.Join(v1, "cpu.cfs_quota_us")):
		g.dir = filepath.Join(v1, name)
	case exists(filepath.Join(Root, "cgroup.controllers")):
		g.dir, g.v2 = filepath.Join(Root, name), true
		if err := enableV2CPU(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("no CPU cgroup controller under %s (cgroup v1 cpu or v2 cpu.max)", Root)
	}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	var err error
	if g.v2 {
		err = write(filepath.Join(g.dir, "cpu.max"), fmt.Sprintf("%d %d", quota, period.Microseconds()))
	} else {
		err = errors.Join(write(filepath.Join(g.dir, "cpu.cfs_period_us"), strconv.FormatInt(period.Microseconds(), 10)),
			write(filepath.Join(g.dir, "cpu.cfs_quota_us"), strconv.FormatInt(quota, 10)))
	}
	if err != nil {
		_ = os.Remove(g.dir)
		return nil, fmt.Errorf("set the CPU quota of %s: %w", g.dir, err)
	}
	return g, nil
}

// enableV2CPU makes the cpu controller available to the root's children (cgroup v2 delegates controllers
// explicitly).
func enableV2CPU() error {
	b, err := os.ReadFile(filepath.Join(Root, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("cgroup v2: %w", err)
	}
	if bytes.Contains(append([]byte(" "), b...), []byte(" cpu")) {
		return nil
	}
	return write(filepath.Join(Root, "cgroup.subtree_control"), "+cpu")
}

// Share is the group's quota as a fraction of one CPU.
func (g *Group) Share() float64 { return g.share }

// Dir is the group's cgroup directory.
func (g *Group) Dir() string { return g.dir }

// Wrap writes an executable at dir/<name>/bootstrap that moves itself into the group and then execs bootstrap, so
// that the bootstrap's first instruction already runs under the quota and keeps its process id (the harness reads
// its peak memory by pid). name keeps the function's name where the test bed derives it from the path.
func (g *Group) Wrap(bootstrap, dir, name string) (string, error) {
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(d, "bootstrap")
	script := "#!/bin/sh\necho $$ > " + quote(filepath.Join(g.dir, "cgroup.procs")) + " || exit 97\nexec " + quote(bootstrap) + " \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", err
	}
	return path, nil
}

// Command is exec.CommandContext for a program that runs inside the group from its start.
func (g *Group) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	script := "echo $$ > " + quote(filepath.Join(g.dir, "cgroup.procs")) + " || exit 97\nexec \"$@\""
	return exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", script, "sh", name}, args...)...)
}

// Throttled is how many periods the group has been throttled in so far (cpu.stat's nr_throttled): above zero, the
// quota has held a process back.
func (g *Group) Throttled() (int64, error) {
	f, err := os.Open(filepath.Join(g.dir, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == "nr_throttled" {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("%s/cpu.stat has no nr_throttled", g.dir)
}

// Measure runs a busy loop (a shell spinning) in the group for d and returns the CPU time it got over the wall
// time it ran: the share the quota really enforces. Above the quota means the quota does not hold; below it, the
// machine is too loaded to give even that.
func (g *Group) Measure(ctx context.Context, d time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cmd := g.Command(ctx, "/bin/sh", "-c", "while :; do :; done")
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start the busy loop: %w", err)
	}
	err := cmd.Wait()
	wall := time.Since(t0)
	if cmd.ProcessState == nil || ctx.Err() == nil {
		return 0, fmt.Errorf("the busy loop ended before its time: %v", err)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return cpu.Seconds() / wall.Seconds(), nil
}

// Close removes the group once its processes have ended, trying for a few seconds (a killed process leaves its
// cgroup a moment after its parent has reaped it).
func (g *Group) Close() error {
	var err error
	for range 50 {
		if err = os.Remove(g.dir); err == nil || os.IsNotExist(err) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", g.dir, err)
}

func write(path, value string) error { return os.WriteFile(path, []byte(value), 0o644) }

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// quote is s as one single-quoted shell word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
