// Command demo tells trailguard's whole story on this machine with no AWS account: moto as the embedded AWS, both
// real bootstrap binaries through the Lambda Runtime API, a CloudFormation Create, an attacker, the repairs, a sweep
// and a Delete. It exits 1 if any step did not do what it says, 2 if moto_server is not installed.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/trailguard/trailguard/internal/localrun"
	"github.com/trailguard/trailguard/internal/testbed"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := localrun.Interruptible(context.Background())
	defer stop()
	sum := localrun.Demo(ctx, os.Stdout)
	localrun.PrintSummary(os.Stdout, "demo", sum)
	if errors.Is(sum.Err(), testbed.ErrNoMoto) {
		fmt.Fprintln(os.Stderr, testbed.InstallHint)
		return 2
	}
	if !sum.OK() {
		return 1
	}
	for _, l := range localrun.NextSteps {
		fmt.Println(l)
	}
	return 0
}
