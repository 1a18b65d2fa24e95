// Command infra is the trailguard CDK app: `cdk synth` (see cdk.json) runs it with `go run ./infra`. It reads its
// settings from CDK context (infra/README.md), builds the provider stack and the example consumer stack, and, when
// the organization settings are given, the organization deployment (docs/organizations.md); cdk-nag's AwsSolutions
// rules check every stack.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailguard/trailguard/infra/stacks"
)

func main() {
	err := run()
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "trailguard infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	cfg, err := stacks.ConfigFromContext(app)
	if err != nil {
		return err
	}
	if _, _, err := stacks.Build(app, cfg); err != nil {
		return err
	}
	if cfg.Org != nil {
		if _, err := stacks.BuildOrg(app, cfg); err != nil {
			return err
		}
	}
	app.Synth(nil)
	return nil
}
