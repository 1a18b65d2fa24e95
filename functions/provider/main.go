// Command provider is the Lambda behind Custom::CloudTrailCloudWatchLogs: it wires a CloudTrail trail to
// CloudWatch Logs and registers the wiring for the remediator. The logic lives in internal/provider; the
// CloudFormation protocol in internal/customresource.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/trailguard/trailguard/internal/customresource"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/provider"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
)

func main() {
	log, cfg := lambdaenv.Init()
	lambdaenv.ExitOnError(log, lambdaenv.CheckEnvironment(lambdaenv.Provider))
	table := os.Getenv(lambdaenv.RegistryTable)
	if table == "" {
		lambdaenv.ExitOnError(log, errors.New(lambdaenv.RegistryTable+" is not set: every resource is registered, "+
			"because the registration is what proves at Delete that a resource wired a trail"))
	}
	allowed, err := spec.ParseAllowedStacks(os.Getenv(lambdaenv.AllowedStacks))
	lambdaenv.ExitOnError(log, err)
	engine := delivery.New(delivery.NewClients(cfg), cfg.Region, delivery.WithLogger(log),
		delivery.WithDeliveryRole(os.Getenv(lambdaenv.DeliveryRoleARN)),
		delivery.WithPermissionsBoundary(os.Getenv(lambdaenv.DeliveryBoundaryARN)),
		delivery.WithBoundaryOrganization(os.Getenv(lambdaenv.BoundaryOrganizationID)),
		delivery.WithManagementAccount(os.Getenv(lambdaenv.ManagementAccountID)),
		delivery.WithPackTopic(os.Getenv(lambdaenv.TopicARN)))
	opts := []provider.Option{provider.WithLogger(log), provider.WithAllowedStacks(allowed)}
	if !lambdaenv.Bool(lambdaenv.LocalRun) {
		// Local runs (tests, the demo) have no CloudFormation stack behind their requests.
		opts = append(opts, provider.WithStackCheck(cloudformation.NewFromConfig(cfg)))
	}
	if topic := os.Getenv(lambdaenv.TopicARN); topic != "" {
		client, err := notify.NewSNSClient(cfg, topic)
		if err != nil {
			lambdaenv.ExitOnError(log, fmt.Errorf("%s: %w", lambdaenv.TopicARN, err))
		}
		opts = append(opts, provider.WithNotifier(notify.NewNotifier(client, topic)))
	}
	p := provider.New(engine, registry.New(dynamodb.NewFromConfig(cfg), table), cfg.Region, opts...)
	lambda.Start(customresource.Wrap(p.Handle,
		customresource.WithLogger(log),
		customresource.WithLoopbackResponseURL(lambdaenv.Bool(lambdaenv.LocalRun)),
		customresource.WithRegion(cfg.Region),
	))
}
