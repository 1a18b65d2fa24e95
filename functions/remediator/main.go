// Command remediator is the EventBridge target that keeps registered trails delivering to CloudWatch Logs: it
// repairs drift when a trail, its log group or its role changes, and sweeps every trail on a schedule. The logic
// lives in internal/remediator.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/remediator"
)

func main() {
	log := lambdaenv.Logger()
	cfg, err := lambdaenv.AWSConfig()
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	table := os.Getenv(lambdaenv.RegistryTable)
	if table == "" {
		log.Error("cannot start: " + lambdaenv.RegistryTable + " is not set")
		os.Exit(1)
	}
	maxAge, err := lambdaenv.Duration(lambdaenv.DeliveryMaxAge, 24*time.Hour)
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	limit, err := lambdaenv.Int(lambdaenv.RepairLimit, 5)
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	engine := delivery.New(delivery.NewClients(cfg), cfg.Region, delivery.WithLogger(log), delivery.WithMaxDeliveryAge(maxAge))
	notifier := notify.NewNotifier(sns.NewFromConfig(cfg), os.Getenv(lambdaenv.TopicARN))
	r := remediator.New(engine, registry.New(dynamodb.NewFromConfig(cfg), table), notifier,
		remediator.WithLogger(log), remediator.WithRepairLimit(limit, time.Hour))
	lambda.Start(r.Handle)
}
