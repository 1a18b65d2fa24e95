// Command remediator is the EventBridge target that keeps registered trails delivering to CloudWatch Logs: it
// repairs drift when a trail, its log group or its role changes, and sweeps every trail on a schedule. The logic
// lives in internal/remediator.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/remediator"
	"github.com/trailguard/trailguard/internal/repair"
)

func main() {
	log, cfg := lambdaenv.Init()
	lambdaenv.ExitOnError(log, lambdaenv.CheckEnvironment(lambdaenv.Remediator))
	table := os.Getenv(lambdaenv.RegistryTable)
	if table == "" {
		lambdaenv.ExitOnError(log, errors.New(lambdaenv.RegistryTable+" is not set: the remediator repairs registered trails only"))
	}
	maxAge, err := lambdaenv.Duration(lambdaenv.DeliveryMaxAge)
	lambdaenv.ExitOnError(log, err)
	limit, err := lambdaenv.Int(lambdaenv.RepairLimit)
	lambdaenv.ExitOnError(log, err)
	window, err := lambdaenv.Duration(lambdaenv.RepairWindow)
	lambdaenv.ExitOnError(log, err)
	accountWide, err := lambdaenv.StrictBool(lambdaenv.AccountWide)
	lambdaenv.ExitOnError(log, err)
	topic := os.Getenv(lambdaenv.TopicARN)
	client, err := notify.NewSNSClient(cfg, topic)
	lambdaenv.ExitOnError(log, errWithVar(lambdaenv.TopicARN, err))
	opts := []remediator.Option{remediator.WithLogger(log), remediator.WithPolicy(repair.Policy{Limit: limit, Window: window})}
	events, err := lambdaenv.StrictBool(lambdaenv.DecisionEvents)
	lambdaenv.ExitOnError(log, err)
	if events {
		opts = append(opts, remediator.WithEvents(notify.NewEventSender(eventbridge.NewFromConfig(cfg))))
	}
	clients := delivery.NewRepairClients(cfg)
	engineOpts := []delivery.Option{delivery.WithLogger(log), delivery.WithMaxDeliveryAge(maxAge),
		delivery.WithManagementAccount(os.Getenv(lambdaenv.ManagementAccountID))}
	if accountWide {
		// Adoption resolves trails as the provider does: the Organizations client (an organization trail of this
		// account), the default delivery role and the boundary every role must carry.
		clients = delivery.NewClients(cfg)
		engineOpts = append(engineOpts, delivery.WithDeliveryRole(os.Getenv(lambdaenv.DeliveryRoleARN)),
			delivery.WithPermissionsBoundary(os.Getenv(lambdaenv.DeliveryBoundaryARN)),
			delivery.WithBoundaryOrganization(os.Getenv(lambdaenv.BoundaryOrganizationID)), delivery.WithPackTopic(topic))
		policy, err := remediator.NewAccountPolicy(os.Getenv(lambdaenv.AccountRetentionInDays),
			os.Getenv(lambdaenv.AccountKmsKeyID), os.Getenv(lambdaenv.AccountRemediation))
		lambdaenv.ExitOnError(log, err)
		lambdaenv.ExitOnError(log, errWithVar(lambdaenv.AccountDeletionProtection,
			policy.SetDeletionProtection(os.Getenv(lambdaenv.AccountDeletionProtection))))
		lambdaenv.ExitOnError(log, policy.WithMonitoringPack(os.Getenv(lambdaenv.AccountMonitoringPack), os.Getenv(lambdaenv.AccountAlarmTopicARN)))
		opts = append(opts, remediator.WithAccountPolicy(policy))
	}
	engine := delivery.New(clients, cfg.Region, engineOpts...)
	r := remediator.New(engine, registry.New(dynamodb.NewFromConfig(cfg), table), notify.NewNotifier(client, topic), opts...)
	lambda.Start(r.Handle)
}

func errWithVar(name string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
