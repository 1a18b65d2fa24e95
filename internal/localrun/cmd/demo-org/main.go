// Command demo-org tells trailguard's organization story on this machine with no AWS account: one moto_server
// playing an AWS Organization of three accounts in two regions, the StackSet's member template deployed by moto's
// StackSets, every instance's real bootstrap binaries run locally as their own account, an undeclared trail
// adopted, an attack repaired and reported to the central topic, the organization trail wired with both prefixes
// and left alone by the members. It exits 1 if any step did not do what it says, 2 if moto_server is not installed.
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
	sum := localrun.DemoOrg(ctx, os.Stdout)
	localrun.PrintSummary(os.Stdout, "demo-org", sum)
	if errors.Is(sum.Err(), testbed.ErrNoMoto) {
		fmt.Fprintln(os.Stderr, testbed.InstallHint)
		return 2
	}
	if !sum.OK() {
		return 1
	}
	for _, l := range localrun.OrgNextSteps {
		fmt.Println(l)
	}
	return 0
}
