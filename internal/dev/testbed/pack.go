package testbed

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
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
