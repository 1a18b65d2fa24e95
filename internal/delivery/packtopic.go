package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/trailguard/trailguard/internal/spec"
)

// The alarms' topic delivers nothing, while still looking subscribed, when its only subscribers filter every
// message out, when it is encrypted with a key CloudWatch may not use, or when its policy denies CloudWatch
// sns:Publish (docs/cis.md, "The topic"). checkTopic reads all three; it reports, never repairs: the topic and its
// subscriptions are their owner's.

// cloudWatchPrincipal is the service principal CloudWatch alarms publish to SNS as.
const cloudWatchPrincipal = "cloudwatch.amazonaws.com"

// checkTopic reports a deleted topic, one without a confirmed subscriber that receives the alarms (CIS: "at least
// one subscription should have a SubscriptionArn with a valid AWS ARN"; a subscription with a filter policy
// receives only the messages its policy matches, and an alarm notification carries no message attributes), and a
// topic CloudWatch cannot publish to.
func (e *Engine) checkTopic(ctx context.Context, t Target) ([]Drift, error) {
	topic := t.Pack.TopicARN
	attrs, err := e.c.Topics.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
	var nf *snstypes.NotFoundException
	switch {
	case errors.As(err, &nf):
		return []Drift{{Kind: PackTopicMissing, Want: topic}}, nil
	case err != nil:
		return nil, fmt.Errorf("read attributes of topic %s: %w", topic, err)
	}
	var drifts []Drift
	if why := unusableTopic(attrs.Attributes, t.Pack.TopicKey, topic); why != "" {
		drifts = append(drifts, Drift{Kind: PackTopicUnusable, Want: topic, Got: why})
	}
	got, err := e.receivingSubscriptions(ctx, topic)
	if errors.As(err, &nf) {
		return []Drift{{Kind: PackTopicMissing, Want: topic}}, nil
	}
	if err != nil {
		return nil, err
	}
	if got != "" {
		drifts = append(drifts, Drift{Kind: PackTopicUnsubscribed, Want: topic, Got: got})
	}
	return drifts, nil
}

// receivingSubscriptions says why no subscription of the topic receives the alarms, "" when one does.
func (e *Engine) receivingSubscriptions(ctx context.Context, topic string) (string, error) {
	in := &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)}
	filtered := 0
	for {
		page, err := e.c.Topics.ListSubscriptionsByTopic(ctx, in)
		if err != nil {
			return "", fmt.Errorf("read subscriptions of topic %s: %w", topic, err)
		}
		for _, sub := range page.Subscriptions {
			arn := aws.ToString(sub.SubscriptionArn)
			if !strings.HasPrefix(arn, "arn:") {
				continue
			}
			a, err := e.c.Topics.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
			var nf *snstypes.NotFoundException
			if errors.As(err, &nf) {
				continue // unsubscribed between the two reads
			}
			if err != nil {
				return "", fmt.Errorf("read attributes of subscription %s: %w", arn, err)
			}
			if strings.TrimSpace(a.Attributes["FilterPolicy"]) == "" {
				return "", nil
			}
			filtered++
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	if filtered > 0 {
		return fmt.Sprintf("%d confirmed subscription(s), each with a filter policy: an alarm notification carries no "+
			"message attributes, so a filter policy can match none", filtered), nil
	}
	return "no confirmed subscription", nil
}

// unusableTopic says why CloudWatch cannot publish to a topic with these attributes, "" when it can: a key other
// than none or the one recorded when the pack was registered, an AWS managed key (its key policy cannot grant
// cloudwatch.amazonaws.com), or a topic policy statement denying CloudWatch sns:Publish.
func unusableTopic(attrs map[string]string, recordedKey, topic string) string {
	var why []string
	switch key := attrs["KmsMasterKeyId"]; {
	case key == "":
	case awsManagedKey(key):
		why = append(why, fmt.Sprintf("encrypted with the AWS managed key %s, which CloudWatch may not use", key))
	case key != recordedKey:
		why = append(why, fmt.Sprintf("encrypted with key %s, not the key it had when the pack was registered (%s)", key, orNone(recordedKey)))
	}
	if sid, ok := deniesCloudWatch(attrs["Policy"], topic); ok {
		why = append(why, fmt.Sprintf("its policy denies %s sns:Publish (statement %q)", cloudWatchPrincipal, sid))
	}
	return strings.Join(why, "; ")
}

// awsManagedKey says a KmsMasterKeyId names an AWS managed key by its alias (alias/aws/sns, or its ARN). A key ARN
// of an AWS managed key cannot be told from a customer key without KMS; a change to one is still a change from the
// recorded key.
func awsManagedKey(key string) bool {
	return strings.HasPrefix(key, "alias/aws/") || strings.Contains(key, ":alias/aws/")
}

// topicKey reads the KmsMasterKeyId a pack's topic has when it is registered, and refuses a topic CloudWatch can
// never publish to. A topic that does not exist yet has none; the sweep reports it missing.
func (e *Engine) topicKey(ctx context.Context, p Pack) (string, error) {
	if !p.On() || e.c.Topics == nil {
		return "", nil
	}
	attrs, err := e.c.Topics.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(p.TopicARN)})
	var nf *snstypes.NotFoundException
	switch {
	case errors.As(err, &nf):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read attributes of topic %s: %w", p.TopicARN, err)
	}
	key := attrs.Attributes["KmsMasterKeyId"]
	if why := unusableTopic(attrs.Attributes, key, p.TopicARN); why != "" {
		return "", &spec.FieldError{Field: "AlarmTopicArn", Rule: fmt.Sprintf("must be a topic CloudWatch alarms can publish to; %s is %s",
			p.TopicARN, why)}
	}
	return key, nil
}

// policyDocument is the part of an SNS topic policy deniesCloudWatch reads.
type policyDocument struct {
	Statement oneOrMany[policyStatement]
}

type policyStatement struct {
	Sid          string
	Effect       string
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Action       oneOrMany[string]
	NotAction    oneOrMany[string]
	Resource     oneOrMany[string]
	NotResource  oneOrMany[string]
	Condition    map[string]map[string]json.RawMessage
}

// oneOrMany reads a policy field that is a single value or a list.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	var one T
	if err := json.Unmarshal(b, &one); err == nil {
		*o = []T{one}
		return nil
	}
	var many []T
	err := json.Unmarshal(b, &many)
	*o = many
	return err
}

// deniesCloudWatch finds a Deny statement of a topic policy that applies to CloudWatch publishing to the topic:
// principal * (or AWS *) or the CloudWatch service, or a NotPrincipal that leaves CloudWatch out; an action or
// NotAction that covers sns:Publish; a resource that covers the topic. A conditioned Deny counts, unless its only
// condition is aws:SecureTransport false (CloudWatch publishes over TLS): whether another condition holds for
// CloudWatch cannot be told from here, and an alarm that may be refused must be heard of. A policy that cannot be
// read counts too (its Sid is "(unreadable policy)").
func deniesCloudWatch(policy, topic string) (string, bool) {
	if strings.TrimSpace(policy) == "" {
		return "", false
	}
	var doc policyDocument
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return "(unreadable policy)", true
	}
	for _, s := range doc.Statement {
		if !strings.EqualFold(s.Effect, "Deny") || onlySecureTransport(s.Condition) {
			continue
		}
		principal := len(s.Principal) > 0 && principalCovers(s.Principal) || len(s.NotPrincipal) > 0 && !principalCovers(s.NotPrincipal)
		action := len(s.Action) > 0 && anyMatch(s.Action, "sns:publish") || len(s.NotAction) > 0 && !anyMatch(s.NotAction, "sns:publish")
		resource := len(s.Resource) > 0 && anyMatch(s.Resource, topic) || len(s.NotResource) > 0 && !anyMatch(s.NotResource, topic) ||
			len(s.Resource) == 0 && len(s.NotResource) == 0
		if principal && action && resource {
			return orNone(s.Sid), true
		}
	}
	return "", false
}

// principalCovers says a Principal element names CloudWatch: "*", {"AWS": "*"} or {"Service": cloudwatch}.
func principalCovers(raw json.RawMessage) bool {
	var all string
	if json.Unmarshal(raw, &all) == nil {
		return all == "*"
	}
	var m map[string]oneOrMany[string]
	if json.Unmarshal(raw, &m) != nil {
		return true // unreadable: count it
	}
	for kind, vs := range m {
		for _, v := range vs {
			if v == "*" && (kind == "AWS" || kind == "Service") || kind == "Service" && strings.EqualFold(v, cloudWatchPrincipal) {
				return true
			}
		}
	}
	return false
}

// anyMatch says one of the policy's patterns (with * and ? wildcards, actions case-insensitively) matches s.
func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if strings.HasPrefix(s, "sns:") {
			p = strings.ToLower(p)
		}
		if ok, err := path.Match(p, s); ok || err != nil {
			return true
		}
	}
	return false
}

// onlySecureTransport says a condition block is exactly {"Bool": {"aws:SecureTransport": "false"}}.
func onlySecureTransport(c map[string]map[string]json.RawMessage) bool {
	if len(c) != 1 || len(c["Bool"]) != 1 {
		return false
	}
	for k, v := range c["Bool"] {
		var vs oneOrMany[string]
		return strings.EqualFold(k, "aws:SecureTransport") && json.Unmarshal(v, &vs) == nil && len(vs) == 1 && strings.EqualFold(vs[0], "false")
	}
	return false
}
