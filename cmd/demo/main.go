// Command demo tells trailguard's whole story on this machine with no AWS account: moto as the embedded AWS, both
// real bootstrap binaries through the Lambda Runtime API, a CloudFormation Create, an attacker, the repairs, a sweep
// and a Delete. It exits 1 if any step did not do what it says, 2 if moto_server is not installed.
package main

import (
	"os"

	"github.com/trailguard/trailguard/internal/dev/localrun"
)

func main() { os.Exit(localrun.Main("demo", localrun.Demo, localrun.NextSteps)) }
