// Command invoke runs one trailguard function on one event, as Lambda would: by default on moto with the demo's
// world, or with -target aws (and TRAILGUARD_I_MEAN_IT=yes) against the account of the caller's credentials. For a
// provider event the ResponseURL is always a local stand-in, whose answer is printed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func main() {
	os.Exit(run())
}

func run() int {
	var o localrun.InvokeOptions
	flag.StringVar(&o.Function, "fn", "", "function: provider or remediator")
	flag.StringVar(&o.EventPath, "event", "", "event file, e.g. events/remediator/sweep.json")
	flag.StringVar(&o.Target, "target", localrun.TargetLocal, "local (moto) or aws (the real account of your credentials; needs "+localrun.IMeanIt+"=yes)")
	flag.IntVar(&o.TailLines, "tail", 10, "log lines to show")
	flag.Parse()

	ctx, stop := localrun.Interruptible(context.Background())
	defer stop()
	res, err := localrun.Invoke(ctx, os.Stdout, o)
	switch {
	case errors.Is(err, testbed.ErrNoMoto):
		fmt.Fprintln(os.Stderr, testbed.InstallHint)
		return 2
	case err != nil:
		fmt.Fprintln(os.Stderr, "invoke:", err)
		return 1
	case res.Failed(o.Function):
		return 1
	}
	return 0
}
