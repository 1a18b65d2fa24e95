// Command provider is the Lambda behind Custom::CloudTrailCloudWatchLogs: it wires a CloudTrail trail to
// CloudWatch Logs and registers the wiring for the remediator. The logic lives in internal/provider; the
// CloudFormation protocol in internal/customresource.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/trailguard/trailguard/internal/customresource"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/provider"
	"github.com/trailguard/trailguard/internal/registry"
)

func main() {
	log, cfg := lambdaenv.Init()
	engine := delivery.New(delivery.NewClients(cfg), cfg.Region, delivery.WithLogger(log))
	var reg provider.Registry
	if table := os.Getenv(lambdaenv.RegistryTable); table != "" {
		reg = registry.New(dynamodb.NewFromConfig(cfg), table)
	}
	p := provider.New(engine, reg, log)
	lambda.Start(customresource.Wrap(p.Handle,
		customresource.WithLogger(log),
		customresource.WithLoopbackResponseURL(lambdaenv.Bool(lambdaenv.LocalRun)),
		customresource.WithRegion(cfg.Region),
	))
}
