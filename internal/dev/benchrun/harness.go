package benchrun

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// TrailCount is how many registered trails the remediator paths and the burst work on.
const TrailCount = 5

// CreateTrailName is the trail the provider Create path wires and unwires on every run, apart from the registered
// ones so that its Deletes never disturb them.
const CreateTrailName = "bench-create-trail"

// SplitServices are the services that get a moto_server of their own while measuring (testbed.SplitServices), as
// each AWS service answers calls in parallel where one moto_server answers them one after another; the others
// (CloudTrail with the S3 buckets it checks) share one more. SNS can have its own since no benchmarked trail
// names an SNS topic, which CloudTrail would look for in its own process.
var SplitServices = [][]string{{"iam"}, {"logs"}, {"dynamodb"}, {"sns"}}

// trail is one registered trail and the link the provider gave it.
type trail struct {
	Name, ARN            string
	LogGroupARN, RoleARN string
}

// harness holds the running session: moto, the proxy every function's AWS calls go through, the registered trails
// and the two warm functions.
type harness struct {
	cfg      config
	rep      *Report
	session  *localrun.Session
	proxy    *testbed.FaultProxy
	faults   *testbed.Faults
	rec      *testbed.Recorder
	trails   []trail
	provider *localrun.Lambda
	remed    *localrun.Lambda
	seq      atomic.Int64
}

// start launches moto, creates the demo's world plus the other trails, puts the proxy in front of moto, starts the
// warm provider and remediator, and has the provider wire and register the trails.
func (h *harness) start(ctx context.Context) error {
	s, err := localrun.NewSession(h.cfg.logDir)
	if err != nil {
		return err
	}
	h.session = s
	if err := s.LaunchAWS(ctx, testbed.SplitServices(SplitServices...)); err != nil {
		return err
	}
	if err := s.CreateWorld(ctx); err != nil {
		return err
	}
	if err := h.unsubscribeInbox(ctx); err != nil {
		return err
	}
	h.faults, h.rec = testbed.NewFaults(), &testbed.Recorder{}
	if h.proxy, err = testbed.NewFaultProxy(s.MotoURL(), h.faults, h.rec); err != nil {
		return fmt.Errorf("start the AWS call proxy: %w", err)
	}
	w := s.World()
	names := []string{w.TrailName}
	for i := 2; i <= TrailCount; i++ {
		names = append(names, fmt.Sprintf("bench-trail-%d", i))
	}
	for _, n := range append(names[1:], CreateTrailName) {
		arn, err := s.AWS().CreateTrail(ctx, n, testbed.TrailOptions{})
		if err != nil {
			return err
		}
		if err := s.AWS().TagTrail(ctx, arn, delivery.TagManagedBy, testbed.SampleStackID); err != nil {
			return err
		}
	}
	if h.provider, err = s.StartFunction(localrun.Provider, h.pathEnv(localrun.Provider)); err != nil {
		return err
	}
	if h.remed, err = s.StartFunction(localrun.Remediator, h.pathEnv(localrun.Remediator)); err != nil {
		return err
	}
	for _, n := range names {
		got, err := h.providerRequest(ctx, "create", n, "")
		if err != nil {
			return fmt.Errorf("register trail %s with the provider: %w", n, err)
		}
		t := trail{Name: n, ARN: got.Body.PhysicalResourceID}
		if t.LogGroupARN, t.RoleARN, err = s.AWS().TrailLink(ctx, t.ARN); err != nil {
			return err
		}
		if t.LogGroupARN == "" || t.RoleARN == "" {
			return fmt.Errorf("the provider answered SUCCESS for trail %s but did not link it (log group %q, role %q)", n, t.LogGroupARN, t.RoleARN)
		}
		h.trails = append(h.trails, t)
	}
	return nil
}

// unsubscribeInbox leaves the notification topic without subscribers. AWS answers Publish once it has the message
// and delivers it afterwards; moto delivers to an HTTP subscriber (the world's inbox) within the Publish call, a
// few milliseconds of Python each, which a path that notifies would pay here and never on AWS. Nothing here reads
// the inbox.
func (h *harness) unsubscribeInbox(ctx context.Context) error {
	api := h.session.AWS().SNS
	out, err := api.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(h.session.World().TopicARN)})
	if err != nil {
		return fmt.Errorf("list the topic's subscriptions: %w", err)
	}
	for _, sub := range out.Subscriptions {
		if _, err := api.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn}); err != nil {
			return fmt.Errorf("unsubscribe %s: %w", aws.ToString(sub.Endpoint), err)
		}
	}
	return nil
}

// env is a function's environment on moto with its AWS calls sent through the proxy (the later
// AWS_ENDPOINT_URL wins), and a remediator's repair limit raised to RepairLimit.
func (h *harness) env(function string) []string {
	env := append(h.session.LocalEnv(function), "AWS_ENDPOINT_URL="+h.proxy.URL())
	if function == localrun.Remediator {
		env = append(env, lambdaenv.RepairLimit+"="+strconv.Itoa(RepairLimit))
	}
	return env
}

// pathEnv is env for the processes that run the paths: a remediator's repair window is also RepairWindow, since the
// paths repair the same trails hundreds of times. The burst keeps the product's window: it repairs each trail once
// or twice, and a window of a second would have every later event rewrite the record to forget its repairs.
func (h *harness) pathEnv(function string) []string {
	env := h.env(function)
	if function == localrun.Remediator {
		env = append(env, lambdaenv.RepairWindow+"="+RepairWindow.String())
	}
	return env
}

// close stops everything start started.
func (h *harness) close() {
	if h.proxy != nil {
		h.proxy.Close()
	}
	if h.session != nil {
		h.session.Close()
	}
}

// providerRequest sends the warm provider a CloudFormation request from events/provider/<kind>.json for trail name
// (and physical id, for a Delete; "" means the trail's ARN from the sample rewritten), and returns what reached
// the ResponseURL. Anything but SUCCESS is an error.
func (h *harness) providerRequest(ctx context.Context, kind, name, physicalID string) (testbed.CFNResponse, error) {
	raw, id, err := h.providerEvent(kind, name, physicalID)
	if err != nil {
		return testbed.CFNResponse{}, err
	}
	res, err := h.provider.Invoke(ctx, raw)
	if err != nil {
		return testbed.CFNResponse{}, err
	}
	if res.Error != nil {
		return testbed.CFNResponse{}, fmt.Errorf("provider %s of %s: %w", kind, name, res.Error)
	}
	return h.cfnResponse(id)
}

// providerEvent rewrites a sample request for one trail, with a fresh RequestId and the local ResponseURL.
func (h *harness) providerEvent(kind, name, physicalID string) (raw []byte, requestID string, err error) {
	sample, err := localrun.ReadEvent(filepath.Join("events", "provider", kind+".json"))
	if err != nil {
		return nil, "", err
	}
	var ev map[string]any
	if err := json.Unmarshal(sample, &ev); err != nil {
		return nil, "", fmt.Errorf("read events/provider/%s.json: %w", kind, err)
	}
	requestID = fmt.Sprintf("00000000-0000-4000-9000-%012d", h.seq.Add(1))
	ev["RequestId"] = requestID
	ev["LogicalResourceId"] = "Delivery" + strings.ReplaceAll(name, "-", "")
	props, _ := ev["ResourceProperties"].(map[string]any)
	if props == nil {
		return nil, "", fmt.Errorf("events/provider/%s.json has no ResourceProperties", kind)
	}
	props["TrailName"] = name
	if _, has := ev["PhysicalResourceId"]; has {
		if physicalID == "" {
			physicalID = "arn:aws:cloudtrail:" + testbed.Region + ":" + testbed.Account + ":trail/" + name
		}
		ev["PhysicalResourceId"] = physicalID
	}
	if raw, err = json.Marshal(ev); err != nil {
		return nil, "", err
	}
	raw, err = localrun.WithLocalResponseURL(raw, h.session.Responses())
	return raw, requestID, err
}

// cfnResponse finds the response to one request at the ResponseURL. The provider returns to Lambda only after its
// PUT was accepted, so by the time its invocation has answered, the response is there.
func (h *harness) cfnResponse(requestID string) (testbed.CFNResponse, error) {
	got := h.session.Responses().Responses()
	for i := len(got) - 1; i >= 0; i-- {
		if got[i].Body.RequestID != requestID {
			continue
		}
		if got[i].Body.Status != "SUCCESS" {
			return got[i], fmt.Errorf("CloudFormation got %s: %s", got[i].Body.Status, got[i].Body.Reason)
		}
		return got[i], nil
	}
	return testbed.CFNResponse{}, fmt.Errorf("no response to request %s reached the ResponseURL", requestID)
}

// remediatorEvent rewrites a sample event (events/remediator/<name>.json) for one trail: requestParameters.name
// keeps the sample's form (name or ARN), and the event ids are made unique.
func (h *harness) remediatorEvent(sample string, t trail) ([]byte, error) {
	raw, err := localrun.ReadEvent(filepath.Join("events", "remediator", sample+".json"))
	if err != nil {
		return nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("read events/remediator/%s.json: %w", sample, err)
	}
	n := h.seq.Add(1)
	ev["id"] = fmt.Sprintf("00000000-0000-4000-a000-%012d", n)
	if detail, ok := ev["detail"].(map[string]any); ok {
		detail["eventID"] = fmt.Sprintf("00000000-0000-4000-b000-%012d", n)
		if params, ok := detail["requestParameters"].(map[string]any); ok {
			if old, _ := params["name"].(string); strings.HasPrefix(old, "arn:") {
				params["name"] = t.ARN
			} else if old != "" {
				params["name"] = t.Name
			}
		}
	}
	return json.Marshal(ev)
}

// tamper is what an attacker does between runs: unlink the trail from CloudWatch Logs and, if stop, stop logging.
func (h *harness) tamper(ctx context.Context, t trail, stop bool) error {
	ct := h.session.AWS().CloudTrail
	_, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(t.ARN),
		CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
	if err != nil {
		return fmt.Errorf("tamper with trail %s: %w", t.Name, err)
	}
	if stop {
		if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(t.Name)}); err != nil {
			return fmt.Errorf("stop logging of trail %s: %w", t.Name, err)
		}
	}
	return nil
}

// compliant checks that every trail is linked as the provider linked it and logging.
func (h *harness) compliant(ctx context.Context) ([]TrailState, error) {
	var out []TrailState
	for _, t := range h.trails {
		lg, role, err := h.session.AWS().TrailLink(ctx, t.ARN)
		if err != nil {
			return nil, err
		}
		logging, err := h.session.AWS().IsLogging(ctx, t.ARN)
		if err != nil {
			return nil, err
		}
		out = append(out, TrailState{Trail: t.Name, Linked: lg == t.LogGroupARN && role == t.RoleARN, Logging: logging})
	}
	return out, nil
}
