package stacks

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// newStandaloneStack is the stack `cdk deploy` deploys in one account and region: the function code from
// AssetDir, the settings from props, the stack's own topic, and what adoption calls granted only when account-wide
// mode is on.
func newStandaloneStack(scope constructs.Construct, id string, p ProviderStackProps) (*ProviderStack, error) {
	zips := map[string]string{}
	for _, fn := range []string{"provider", "remediator"} {
		path := filepath.Join(p.AssetDir, fn+".zip")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("function package %s: %w (run `make build` first)", path, err)
		}
		zips[fn] = path
	}
	s := &ProviderStack{Stack: awscdk.NewStack(scope, jsii.String(id), &p.StackProps), managementAccount: p.ManagementAccountID}

	values := maps.Clone(p.Settings)
	if values == nil {
		values = map[string]string{}
	}
	// The typed props win over Settings.
	values[lambdaenv.AllowedStacks] = strings.Join(p.AllowedStacks, ",")
	values[lambdaenv.LogLevel] = p.LogLevel
	values[lambdaenv.AccountWide] = strconv.FormatBool(p.AccountWide)
	if p.ManagementAccountID != "" {
		values[lambdaenv.ManagementAccountID] = p.ManagementAccountID
	}
	var orgID *string
	if p.OrganizationID != "" {
		orgID = jsii.String(p.OrganizationID)
	}
	remediatorRole, _ := s.core(p, shape{
		code:     func(fn string) awslambda.Code { return awslambda.Code_FromAsset(jsii.String(zips[fn]), nil) },
		values:   values,
		orgID:    orgID,
		schedule: awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(p.SweepInterval.Minutes()))),
	})
	if p.AccountWide {
		s.grantAdoption(remediatorRole, nil)
	}
	return s, nil
}
