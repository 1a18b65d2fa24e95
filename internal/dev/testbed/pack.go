package testbed

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/spec"
)

// AlarmTopicName is the topic CreateAlarmTopic makes for a CIS monitoring pack's alarms.
const AlarmTopicName = "cis-alarms"

// CreateAlarmTopic creates an SNS topic for a CIS pack's alarms, with one e-mail subscriber when subscribed, and
// returns its ARN.
func (a *AWS) CreateAlarmTopic(ctx context.Context, name string, subscribed bool) (string, error) {
	out, err := a.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create topic %s: %w", name, err)
	}
	if subscribed {
		if _, err := a.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: out.TopicArn, Protocol: aws.String("email"),
			Endpoint: aws.String("security@example.com")}); err != nil {
			return "", fmt.Errorf("subscribe to topic %s: %w", name, err)
		}
	}
	return aws.ToString(out.TopicArn), nil
}

// WirePack wires the trail to CloudWatch Logs with a CIS monitoring pack of set, as the provider's Create does
// (the delivery role must exist: CreateDeliveryRole), its alarms notifying a new subscribed topic. It returns the
// target.
func (a *AWS) WirePack(ctx context.Context, trailName, set string) (delivery.Target, error) {
	topic, err := a.CreateAlarmTopic(ctx, AlarmTopicName, true)
	if err != nil {
		return delivery.Target{}, err
	}
	engine := delivery.New(delivery.NewClients(a.Config), a.Config.Region, delivery.WithDeliveryRole(DeliveryRoleARN),
		delivery.WithPermissionsBoundary(DeliveryBoundaryARN), delivery.WithLogger(slog.New(slog.DiscardHandler)))
	s := spec.Spec{TrailName: trailName, MonitoringPack: set, AlarmTopicARN: topic, Remediation: spec.Enforce, EnforceLogging: true}
	t, _, err := engine.Resolve(ctx, delivery.Caller{Partition: "aws", Account: Account}, s, nil)
	if err != nil {
		return delivery.Target{}, err
	}
	res, err := engine.Reconcile(ctx, t, delivery.AspectAll)
	if err != nil {
		return delivery.Target{}, err
	}
	if !res.Converged(t) {
		return delivery.Target{}, fmt.Errorf("trail %s still drifts after wiring: %v", t.TrailARN, res.Remaining)
	}
	return t, nil
}
