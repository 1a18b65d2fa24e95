// Command demo-org tells trailguard's organization story on this machine with no AWS account: one moto_server
// playing an AWS Organization of three accounts in two regions, the StackSet's member template deployed by moto's
// StackSets, every instance's real bootstrap binaries run locally as their own account, an undeclared trail
// adopted, an attack repaired and reported to the central topic, the organization trail wired with both prefixes
// and left alone by the members. It exits 1 if any step did not do what it says, 2 if moto_server is not installed.
package main

import (
	"os"

	"github.com/trailguard/trailguard/internal/dev/localrun"
)

func main() { os.Exit(localrun.Main("demo-org", localrun.DemoOrg, localrun.OrgNextSteps)) }
