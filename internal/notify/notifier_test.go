package notify_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/notify"
)

func TestMain(m *testing.M) { os.Exit(testbed.RunWithMoto(m)) }

func TestSubject(t *testing.T) {
	long := strings.Repeat("a-very-long-trail-name", 6) // 132 characters; CloudTrail allows 128
	tests := []struct {
		name string
		d    notify.Decision
		want string // "" means only the invariants are checked
	}{
		{"repaired", repaired(), "trailguard repaired trail management-trail (UpdateTrail by alice?) in 123456789012 us-east-1"},
		{"account and region given", notify.Decision{Trail: "t1", Account: "210987654321", Region: "eu-west-1", EventName: "Sweep", Action: "adopted"},
			"trailguard adopted trail t1 (Sweep) in 210987654321 eu-west-1"},
		{"sweep", notify.Decision{Trail: "management-trail", EventName: "Sweep", Action: "reported"},
			"trailguard found drift on trail management-trail (Sweep)"},
		{"root", notify.Decision{Trail: "t1", EventName: "StopLogging", Actor: "arn:aws:iam::123456789012:root", Action: "contested"},
			"trailguard alerts on contested trail t1 (StopLogging by root?)"},
		{"service", notify.Decision{Trail: "t1", EventName: "DeleteTrail", Actor: "cloudformation.amazonaws.com", Action: "gone"},
			"trailguard lost trail t1 (DeleteTrail by cloudformation.amazonaws.com?)"},
		{"no name", notify.Decision{TrailARN: trailARN, EventName: "UpdateTrail", Action: "failed"},
			"trailguard FAILED to repair trail management-trail (UpdateTrail) in 123456789012 us-east-1"},
		{"long name", notify.Decision{Trail: long, EventName: "UpdateTrail", Actor: alice, Action: "repaired"}, ""},
		{"long everything", notify.Decision{Trail: long, EventName: long, Actor: "arn:aws:sts::1:assumed-role/r/" + long, Action: "contested"}, ""},
		{"long everything with a place", notify.Decision{Trail: long, TrailARN: trailARN, EventName: long, Actor: long, Action: "invalid"}, ""},
		{"non-ASCII and control", notify.Decision{Trail: "trail-é\n😀\x07", EventName: "UpdateTrail",
			Actor: "arn:aws:sts::1:assumed-role/r/jürgen", Action: "repaired"},
			"trailguard repaired trail trail-???? (UpdateTrail by j?rgen?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := notify.Subject(tt.d)
			if tt.want != "" {
				assert.Equal(t, tt.want, got)
			}
			assert.LessOrEqual(t, len(got), 100)
			for i := 0; i < len(got); i++ {
				assert.True(t, got[i] >= 0x20 && got[i] <= 0x7e, "byte %d of %q is not printable ASCII", i, got)
			}
			assert.True(t, strings.HasPrefix(got, "trailguard "))
		})
	}
	// A long name is cut, visibly, and the event that caused it survives.
	got := notify.Subject(notify.Decision{Trail: long, EventName: "UpdateTrail", Actor: alice, Action: "repaired"})
	assert.Contains(t, got, "...")
	assert.True(t, strings.HasSuffix(got, " (UpdateTrail by alice?)"), got)
	got = notify.Subject(notify.Decision{Trail: long, TrailARN: trailARN, EventName: "UpdateTrail", Actor: alice, Action: "repaired"})
	assert.True(t, strings.HasSuffix(got, " (UpdateTrail by alice?) in 123456789012 us-east-1"), got)
	// Whatever else is cut, the account and region stay: the central topic of an organization mixes every member.
	got = notify.Subject(notify.Decision{Trail: long, TrailARN: trailARN, EventName: long, Actor: long, Action: "invalid"})
	assert.True(t, strings.HasSuffix(got, " in 123456789012 us-east-1"), got)
	assert.Contains(t, got, "trail a-very-long-trail... (", "the name keeps its first characters: %s", got)
}

func TestBody(t *testing.T) {
	d := repaired()
	d.Drift = append(d.Drift, "role policy trailguard-us-east-1-management-trail is missing")
	d.Repairs = []string{"PutRolePolicy", "UpdateTrail"}
	body := notify.Body(d)
	for _, want := range []string{
		alice, "203.0.113.45", "UpdateTrail", d.EventID, trailARN, "enforce", "repaired",
		"Account:       123456789012", "Region:        us-east-1",
		"PutRolePolicy", "trail is not linked to log group", "role policy trailguard-us-east-1-management-trail is missing",
		"1.235s",
	} {
		assert.Contains(t, body, want)
	}
	assert.True(t, utf8.ValidString(body))

	none := notify.Body(notify.Decision{Trail: "t", EventName: "Sweep", Action: "reported"})
	assert.Contains(t, none, "periodic sweep", "a sweep has no actor: say so rather than leave it blank")
	assert.Contains(t, none, "(none)")
}

func TestBodyBounded(t *testing.T) {
	d := repaired()
	d.Result = strings.Repeat("é", 300<<10) + "\xff"
	body := notify.Body(d)
	assert.Less(t, len(body), 256<<10, "SNS rejects messages over 256 KB")
	assert.True(t, utf8.ValidString(body))
	assert.Contains(t, body, "truncated")
}

// countingPublisher stands in for SNS only where no call must be made at all.
type countingPublisher struct{ calls int }

func (p *countingPublisher) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	p.calls++
	return &sns.PublishOutput{}, nil
}

func TestNotifyWithoutTopic(t *testing.T) {
	p := &countingPublisher{}
	require.NoError(t, notify.NewNotifier(p, "").Notify(context.Background(), repaired()))
	assert.Zero(t, p.calls)
	var nilNotifier *notify.Notifier
	require.NoError(t, nilNotifier.Notify(context.Background(), repaired()))
}

func TestNotifyThroughSNS(t *testing.T) {
	m := testbed.StartMoto(t)
	ctx := context.Background()
	client := sns.NewFromConfig(m.Config("us-east-1"))

	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("trailguard-notifications")})
	require.NoError(t, err)
	box := testbed.NewInbox()
	defer box.Close()

	// One subscriber takes everything; one filters on the action attribute, one on the trail attribute: what
	// reaches them proves the attributes are set.
	topicARN := aws.ToString(topic.TopicArn)
	require.NoError(t, box.Subscribe(ctx, client, topicARN, "/all", ""))
	require.NoError(t, box.Subscribe(ctx, client, topicARN, "/alerts", `{"action": ["contested", "gone", "failed"]}`))
	require.NoError(t, box.Subscribe(ctx, client, topicARN, "/other-trail", `{"trail": ["other-trail"]}`))
	require.NoError(t, box.Subscribe(ctx, client, topicARN, "/this-account", `{"account": ["123456789012"], "region": ["us-east-1"]}`))
	require.NoError(t, box.Subscribe(ctx, client, topicARN, "/other-region", `{"region": ["eu-west-1"]}`))

	n := notify.NewNotifier(client, aws.ToString(topic.TopicArn))
	require.NoError(t, n.Notify(ctx, repaired()))
	contested := repaired()
	contested.Action, contested.Repairs, contested.Result = "contested", nil, "repaired 5 times within 1h0m0s"
	require.NoError(t, n.Notify(ctx, contested))

	require.NoError(t, box.WaitFor(5, 10*time.Second), "/all and /this-account twice, /alerts once")
	all := box.Messages("/all")
	require.Len(t, all, 2)
	assert.Equal(t, "Notification", all[0].Type)
	assert.Equal(t, aws.ToString(topic.TopicArn), all[0].TopicArn)
	assert.Equal(t, "trailguard repaired trail management-trail (UpdateTrail by alice?) in 123456789012 us-east-1", all[0].Subject)
	assert.Equal(t, notify.Body(repaired()), all[0].Message)
	assert.Contains(t, all[0].Message, alice)
	assert.Contains(t, all[0].Message, "203.0.113.45")

	alerts := box.Messages("/alerts")
	require.Len(t, alerts, 1, "the action attribute must let subscribers keep only alerts")
	assert.Equal(t, notify.Subject(contested), alerts[0].Subject)
	assert.Empty(t, box.Messages("/other-trail"), "the trail attribute must let subscribers filter by trail")
	assert.Len(t, box.Messages("/this-account"), 2, "the account and region attributes must let subscribers filter by them")
	assert.Empty(t, box.Messages("/other-region"), "the region attribute is the trail's region")
}

// In an organization the central topic is in the deploying account's home region while a member function runs in
// its own: the client must publish in the topic's region, or SNS does not find the topic.
func TestTheSNSClientIsBuiltForTheTopicsRegion(t *testing.T) {
	m := testbed.StartMoto(t)
	ctx := context.Background()
	central, err := sns.NewFromConfig(m.Config("eu-west-1")).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("central")})
	require.NoError(t, err)
	topicARN := aws.ToString(central.TopicArn)
	require.Contains(t, topicARN, ":eu-west-1:")

	client, err := notify.NewSNSClient(m.Config("ap-southeast-2"), topicARN)
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", client.Options().Region)
	require.NoError(t, notify.NewNotifier(client, topicARN).Notify(ctx, repaired()), "published in the topic's region")

	wrong := sns.NewFromConfig(m.Config("ap-southeast-2"))
	assert.Error(t, notify.NewNotifier(wrong, topicARN).Notify(ctx, repaired()),
		"the function's own region does not find the topic: this is what NewSNSClient prevents")

	none, err := notify.NewSNSClient(m.Config("ap-southeast-2"), "")
	require.NoError(t, err)
	assert.Equal(t, "ap-southeast-2", none.Options().Region, "no topic: the function's region")
	for _, bad := range []string{"not-an-arn", "arn:aws:sqs:eu-west-1:123456789012:q", "arn:aws:sns::123456789012:t"} {
		_, err := notify.NewSNSClient(m.Config("ap-southeast-2"), bad)
		assert.ErrorContains(t, err, "want an SNS topic ARN", bad)
	}
}

func TestNotifyError(t *testing.T) {
	m := testbed.StartMoto(t)
	client := sns.NewFromConfig(m.Config("us-east-1"))
	missing := "arn:aws:sns:us-east-1:" + testbed.Account + ":no-such-topic"
	err := notify.NewNotifier(client, missing).Notify(context.Background(), repaired())
	require.Error(t, err)
	assert.Contains(t, err.Error(), missing, "the error names the topic to fix")
	assert.Contains(t, err.Error(), trailARN)
	var apiErr interface{ ErrorCode() string }
	assert.True(t, errors.As(err, &apiErr), "the SNS error stays inspectable: %v", err)
}
