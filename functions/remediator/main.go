// Command remediator is the EventBridge target that keeps registered trails delivering to CloudWatch Logs: it
// repairs drift when a trail, its log group or its role changes, and sweeps every trail on a schedule. The logic
// lives in internal/remediator.
package main

import (
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/remediator"
	"github.com/trailguard/trailguard/internal/repair"
)

func main() {
	log, cfg := lambdaenv.Init()
	table := os.Getenv(lambdaenv.RegistryTable)
	if table == "" {
		lambdaenv.ExitOnError(log, errors.New(lambdaenv.RegistryTable+" is not set: the remediator repairs registered trails only"))
	}
	maxAge, err := lambdaenv.Duration(lambdaenv.DeliveryMaxAge, delivery.DefaultMaxDeliveryAge)
	lambdaenv.ExitOnError(log, err)
	limit, err := lambdaenv.Int(lambdaenv.RepairLimit, repair.DefaultLimit)
	lambdaenv.ExitOnError(log, err)
	window, err := lambdaenv.Duration(lambdaenv.RepairWindow, repair.DefaultWindow)
	lambdaenv.ExitOnError(log, err)
	engine := delivery.New(delivery.NewRepairClients(cfg), cfg.Region, delivery.WithLogger(log), delivery.WithMaxDeliveryAge(maxAge))
	notifier := notify.NewNotifier(sns.NewFromConfig(cfg), os.Getenv(lambdaenv.TopicARN))
	r := remediator.New(engine, registry.New(dynamodb.NewFromConfig(cfg), table), notifier,
		remediator.WithLogger(log), remediator.WithPolicy(repair.Policy{Limit: limit, Window: window}))
	lambda.Start(r.Handle)
}
