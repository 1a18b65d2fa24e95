package remediator_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/spec"
)

// The alarms' topic made to deliver nothing while it still looks subscribed (review finding 4): re-encrypted with
// a key CloudWatch cannot use, or its subscribers given a filter policy no alarm matches. The built bootstrap
// reports each at its event, naming the actor, and never touches the topic. By default the pack's topic is the
// provider's alert topic, so the SNS alert about it may be filtered out with the alarms: the decision's log line
// (level WARN) carries it whatever SNS delivers, and that is what this test reads.
func TestBinaryReportsATopicThatDeliversNothing(t *testing.T) {
	f := newFixture(t, spec.Spec{MonitoringPack: "cis", AlarmTopicARN: packTopic})
	require.Equal(t, packTopic, f.topicARN, "the pack shares the provider's alert topic, as by default")
	b := f.startBinary(t)
	setTopic := func(name, value string) {
		_, err := f.aws.SNS.SetTopicAttributes(f.ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(packTopic),
			AttributeName: aws.String(name), AttributeValue: aws.String(value)})
		require.NoError(t, err)
	}
	filterAll := func() {
		subs, err := f.aws.SNS.ListSubscriptionsByTopic(f.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(packTopic)})
		require.NoError(t, err)
		require.NotEmpty(t, subs.Subscriptions)
		for _, s := range subs.Subscriptions {
			_, err := f.aws.SNS.SetSubscriptionAttributes(f.ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: s.SubscriptionArn,
				AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(`{"never":["matches"]}`)})
			require.NoError(t, err)
		}
	}
	for _, tc := range []struct {
		event, want string
		do, undo    func()
	}{
		{"set-topic-attributes", "AWS managed key alias/aws/sns", func() { setTopic("KmsMasterKeyId", "alias/aws/sns") },
			func() { setTopic("KmsMasterKeyId", "") }},
		{"set-subscription-attributes", "filter policy", filterAll, func() {}},
	} {
		tc.do()
		raw := sample(t, tc.event)
		require.Nil(t, b.invokeRaw(t, raw).Error, tc.event)
		d := b.decision(t, eventNameOf(t, raw))
		assert.Equal(t, "WARN", d["level"], tc.event)
		assert.Equal(t, "reported", d["action"], tc.event)
		assert.Equal(t, tamperer, d["actor"], tc.event)
		assert.Contains(t, fmt.Sprint(d["drift"]), tc.want, tc.event)
		assert.Empty(t, d["repairs"], "%s: the topic is its owner's", tc.event)
		tc.undo()
	}
}

// decisionIn finds the decision line of an event, or nil.
func decisionIn(lines []string, eventName string) map[string]any {
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "decision" && m["event_name"] == eventName {
			return m
		}
	}
	return nil
}

func eventNameOf(t *testing.T, raw []byte) string {
	t.Helper()
	var e struct {
		Detail struct {
			EventName string `json:"eventName"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(raw, &e))
	return e.Detail.EventName
}
