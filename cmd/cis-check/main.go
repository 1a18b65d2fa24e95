// Command cis-check evaluates an account the way AWS Security Hub documents CloudTrail.1, CloudTrail.5 and
// CloudWatch.1-14 (and CIS 4.15): PASSED, FAILED, NO_DATA or WARNING per control with the reason, as a table or
// as JSON (-json). It only reads.
//
//	cis-check                  on moto: a multi-Region trail wired by trailguard with the CIS monitoring pack
//	cis-check -target aws      the account and region of the exported credentials (AWS_REGION, AWS_ACCESS_KEY_ID, ...)
//
// It exits 0 when every control passed, 1 when one did not, 2 when it could not evaluate.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailguard/trailguard/internal/awsconfig"
	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/cischeck"
	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("cis-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", localrun.TargetLocal, "local (moto, with a wired example) or aws (the account of your exported credentials)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	set := fs.String("set", string(cis.SecurityHub), "controls: cis (CloudWatch.1-14 and CIS 4.15) or cis-v5 (also the CIS v5 variants)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *set != string(cis.SecurityHub) && *set != string(cis.CISv5) {
		fmt.Fprintf(stderr, "cis-check: -set %q: want cis or cis-v5\n", *set)
		return 2
	}
	ctx, stop := localrun.Interruptible(context.Background())
	defer stop()
	results, err := evaluate(ctx, *target, cis.Set(*set), stdout, getenv)
	switch {
	case errors.Is(err, testbed.ErrNoMoto):
		fmt.Fprintln(stderr, testbed.InstallHint)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "cis-check:", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return 2
		}
	} else {
		fmt.Fprint(stdout, cischeck.Table(results))
	}
	if !cischeck.AllPassed(results) {
		return 1
	}
	return 0
}

// evaluate runs the check on moto's example world or on the real account.
func evaluate(ctx context.Context, target string, set cis.Set, log io.Writer, getenv func(string) string) ([]cischeck.Result, error) {
	switch target {
	case localrun.TargetLocal:
		return onMoto(ctx, set, log)
	case localrun.TargetAWS:
		if getenv("AWS_ENDPOINT_URL") != "" {
			return nil, errors.New("-target aws: AWS_ENDPOINT_URL is set; unset it to reach the real AWS endpoints")
		}
		cfg, err := awsconfig.FromEnvironment(awsconfig.Environment{Region: getenv("AWS_REGION"),
			AccessKeyID: getenv("AWS_ACCESS_KEY_ID"), SecretKey: getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: getenv("AWS_SESSION_TOKEN")})
		if err != nil {
			return nil, fmt.Errorf("-target aws: %w (export your credentials first, e.g. "+
				"eval \"$(aws configure export-credentials --format env)\", and set AWS_REGION)", err)
		}
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, fmt.Errorf("who am I (sts:GetCallerIdentity): %w", err)
		}
		return cischeck.Evaluate(ctx, cischeck.NewClients(cfg), cfg.Region, aws.ToString(id.Account), set, time.Now())
	}
	return nil, fmt.Errorf("-target %q: want %s or %s", target, localrun.TargetLocal, localrun.TargetAWS)
}

// onMoto builds the example on moto (a multi-Region logging trail wired with the pack of set) and evaluates it.
func onMoto(ctx context.Context, set cis.Set, log io.Writer) ([]cischeck.Result, error) {
	s, err := testbed.Launch(ctx)
	if err != nil {
		return nil, err
	}
	defer s.Stop()
	a := testbed.NewAWS(s.Config(testbed.Region))
	if err := a.CreateDeliveryRole(ctx); err != nil {
		return nil, err
	}
	if _, err := a.CreateTrail(ctx, testbed.TrailName, testbed.TrailOptions{}); err != nil {
		return nil, err
	}
	t, err := a.WirePack(ctx, testbed.TrailName, string(set))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "on moto: trail %s wired to %s with the %s pack, alarms to %s\n\n", t.TrailARN, t.LogGroupName, set, t.Pack.TopicARN)
	return cischeck.Evaluate(ctx, cischeck.NewClients(a.Config), testbed.Region, testbed.Account, set, time.Now())
}
