// Command bench runs trailguard's whole-process benchmarks (the real bootstraps, against moto) and writes
// BENCHMARKS.md. It exits 1 when a step did not work and 2 when moto_server is missing, never because a goal was
// missed: goals are reported, not enforced.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/trailguard/trailguard/internal/dev/benchrun"
	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func main() {
	os.Exit(run())
}

func run() int {
	runs := flag.Int("runs", 20, "timed runs of each warm path")
	cold := flag.Int("cold", 15, "fresh processes per function for the cold start")
	burst := flag.Int("burst", 1000, "remediator events in the burst")
	workers := flag.Int("workers", 4, "concurrent remediator processes in the burst")
	burstRuns := flag.Int("burst-runs", 3, "runs of each burst (unthrottled, throttled); the median is reported")
	latency := flag.Duration("latency", benchrun.DefaultLatency, "delay the proxy adds to every AWS call, standing for AWS's round trip (the paths also run at 0 unless -quick)")
	out := flag.String("out", "", "report path (default BENCHMARKS.md at the module root; with -quick, dist/BENCHMARKS-quick.md)")
	quick := flag.Bool("quick", false, "few runs, no 0 ms run, one burst of 50 of each kind: proves the harness works (CI), not for comparison")
	flag.Parse()
	log := slog.New(newLineHandler(os.Stderr))

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opts := []benchrun.Option{benchrun.WithLogger(log), benchrun.WithLatency(*latency)}
	if *quick {
		opts = append(opts, benchrun.Quick())
	}
	// Explicit flags win over -quick's defaults.
	if set["runs"] || !*quick {
		opts = append(opts, benchrun.WithRuns(*runs))
	}
	if set["cold"] || !*quick {
		opts = append(opts, benchrun.WithColdRuns(*cold))
	}
	if set["burst"] || set["workers"] || !*quick {
		opts = append(opts, benchrun.WithBurst(*burst, *workers))
	}
	if set["burst-runs"] || !*quick {
		opts = append(opts, benchrun.WithBurstRuns(*burstRuns))
	}
	path, err := outPath(*out, *quick)
	if err != nil {
		log.Error("cannot choose the report path", "error", err.Error())
		return 1
	}

	ctx, stop := localrun.Interruptible(context.Background())
	defer stop()
	rep, err := benchrun.Run(ctx, opts...)
	if errors.Is(err, testbed.ErrNoMoto) {
		fmt.Fprintln(os.Stderr, testbed.InstallHint)
		return 2
	}
	if rep == nil {
		log.Error("benchmark harness failed", "error", err.Error())
		return 1
	}
	if werr := benchrun.WriteFile(path, rep.Markdown()); werr != nil {
		log.Error("cannot write the report", "error", werr.Error())
		return 1
	}
	for _, l := range summary(rep.Markdown()) {
		fmt.Println(l)
	}
	fmt.Println("wrote", localrun.ShowPath(path))
	if err != nil {
		log.Error("some benchmark steps did not work", "error", err.Error())
		return 1
	}
	return 0
}

// outPath is where the report goes: -out, else in quick mode dist/BENCHMARKS-quick.md (build output, ignored by
// git: CI never dirties the tree, and nothing is left outside the repository), else BENCHMARKS.md at the module root.
func outPath(out string, quick bool) (string, error) {
	if out != "" {
		return out, nil
	}
	root, err := testbed.ModuleRoot()
	if err != nil {
		return "", err
	}
	if quick {
		if err := os.MkdirAll(filepath.Join(root, "dist"), 0o755); err != nil {
			return "", err
		}
		return filepath.Join(root, "dist", "BENCHMARKS-quick.md"), nil
	}
	return filepath.Join(root, "BENCHMARKS.md"), nil
}
