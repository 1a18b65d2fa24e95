package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/notify"
)

// The decision event carries the metrics record the embedded-metric-format line carries, from the function's own
// account and region, with the source and detail type the member stack's forwarding rule matches: a rule with that
// pattern (as the member stack declares it) delivers it, here to a log group, as the central bus's rule does.
func TestDecisionEventsCarryTheMetricsFromTheAccountAndRegion(t *testing.T) {
	m := testbed.StartMoto(t)
	ctx := context.Background()
	cfg := m.Config("eu-west-1")
	logs, eb := cloudwatchlogs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)
	group := "/trailguard/decisions"
	_, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	pattern, err := json.Marshal(map[string]any{"source": []string{notify.EventSource}, "detail-type": []string{notify.EventDetailType}})
	require.NoError(t, err)
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("decisions"), EventPattern: aws.String(string(pattern))})
	require.NoError(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("decisions"), Targets: []ebtypes.Target{{
		Id: aws.String("logs"), Arn: aws.String("arn:aws:logs:eu-west-1:" + testbed.Account + ":log-group:" + group),
		// The whole event, as AWS writes it to a log group (moto's default leaves the account out).
		InputTransformer: &ebtypes.InputTransformer{InputTemplate: aws.String("<aws.events.event.json>")},
	}}})
	require.NoError(t, err)

	at := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	d := repaired()
	d.Account, d.Region = "210987654321", "eu-west-1" // a member's decision names its own account and region
	require.NoError(t, notify.NewEventSender(eb).Send(ctx, at, d))

	out, err := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	require.Len(t, out.Events, 1, "one decision, one event")
	var ev struct {
		Source     string         `json:"source"`
		DetailType string         `json:"detail-type"`
		Account    string         `json:"account"`
		Region     string         `json:"region"`
		Resources  []string       `json:"resources"`
		Detail     map[string]any `json:"detail"`
	}
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(out.Events[0].Message)), &ev))
	assert.Equal(t, notify.EventSource, ev.Source)
	assert.Equal(t, notify.EventDetailType, ev.DetailType)
	assert.Equal(t, testbed.Account, ev.Account, "EventBridge stamps the caller's account")
	assert.Equal(t, "eu-west-1", ev.Region, "and the region the event was put in")
	assert.Equal(t, []string{trailARN}, ev.Resources)
	assert.Equal(t, map[string]any{
		"Trail": "management-trail", "TrailArn": trailARN, "Account": "210987654321", "Region": "eu-west-1",
		"DriftDetected": 1.0, "Repaired": 1.0, "RepairFailed": 0.0, "Contested": 0.0,
		"Action": notify.ActionRepaired, "EventId": d.EventID,
	}, ev.Detail, "the embedded-metric-format line's fields, without its metadata")

	var nothing *notify.EventSender
	assert.NoError(t, nothing.Send(ctx, at, d), "no sender, nothing sent")
}

// PutEvents answers 200 and lists the entries it refused: a refused entry is an error naming the reason.
func TestARefusedDecisionEventIsAnError(t *testing.T) {
	refused := `{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}`
	eb := eventbridge.New(eventbridge.Options{
		Region: "eu-west-1", Credentials: aws.AnonymousCredentials{},
		HTTPClient: &http.Client{Transport: answer(http.StatusOK, refused)},
	})
	err := notify.NewEventSender(eb).Send(context.Background(), time.Unix(0, 0), repaired())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "InternalFailure try again")
	assert.Contains(t, err.Error(), "management-trail")
}

// answer is a transport that answers every request with status and body, as EventBridge's JSON protocol does.
func answer(status int, body string) http.RoundTripper { return fixedAnswer{status, body} }

type fixedAnswer struct {
	status int
	body   string
}

func (a fixedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: a.status, Status: http.StatusText(a.status), Request: r,
		Header: http.Header{"Content-Type": []string{"application/x-amz-json-1.1"}},
		Body:   io.NopCloser(strings.NewReader(a.body)),
	}, nil
}

// A decision event is one attempt within EventTimeout: a throttled PutEvents (the account's quota is shared) is
// not retried, so it cannot hold a sweep's repairs.
func TestADecisionEventIsOneBoundedAttempt(t *testing.T) {
	throttled := &counted{RoundTripper: answer(http.StatusBadRequest, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)}
	eb := eventbridge.New(eventbridge.Options{
		Region: "eu-west-1", Credentials: aws.AnonymousCredentials{}, HTTPClient: &http.Client{Transport: throttled},
	})
	err := notify.NewEventSender(eb).Send(context.Background(), time.Unix(0, 0), repaired())
	require.Error(t, err)
	assert.Equal(t, 1, throttled.n, "requests: a throttled decision event is not retried")
	require.True(t, throttled.hadDeadline, "the request runs under a deadline")
	assert.LessOrEqual(t, throttled.budget, notify.EventTimeout)
}

// counted counts requests and records the first one's time budget.
type counted struct {
	http.RoundTripper
	n           int
	hadDeadline bool
	budget      time.Duration
}

func (c *counted) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	if d, ok := r.Context().Deadline(); ok && c.n == 1 {
		c.hadDeadline, c.budget = true, time.Until(d)
	}
	return c.RoundTripper.RoundTrip(r)
}
