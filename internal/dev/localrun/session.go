// Package localrun runs trailguard's real bootstrap binaries on this machine, as Lambda would, against moto's
// server as the embedded AWS: `make demo` tells the whole story step by step, `make invoke` runs one function on one
// event. It exists so that a fresh clone can see the product work, and CI can smoke-test it, without an AWS account.
package localrun

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// Mailbox is the inbox path subscribed to the notification topic, as a person's e-mail would be. The rest of the
// world a local run sets up is the test bed's sample world (testbed.Region, RegistryTable, TopicName, TrailName),
// which the events in events/ describe.
const Mailbox = "/ops"

// Function names, as in functions/<name>.
const (
	Provider   = "provider"
	Remediator = "remediator"
)

// World is what Session.CreateWorld made: the resources a deployed trailguard and its user would already have.
type World struct {
	Table, TopicARN, Bucket, TrailName, TrailARN string
}

// Session owns everything a local run starts: moto, the stand-in for CloudFormation's pre-signed ResponseURL, the
// SNS inbox, and the functions with their Runtime APIs. Close stops all of it, whatever state the run is in.
type Session struct {
	logDir    string
	moto      *testbed.Server
	aws       *testbed.AWS
	world     World
	responses *testbed.ResponseServer
	inbox     *testbed.Inbox
	lambdas   map[string]*Lambda
	// closers stop what a story started besides the above (proxies), before moto stops.
	closers []func()
}

// NewSession prepares a session whose function logs go to logDir (created if missing). It starts nothing yet.
func NewSession(logDir string) (*Session, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("create the log directory: %w", err)
	}
	return &Session{logDir: logDir, responses: testbed.NewResponseServer(), lambdas: map[string]*Lambda{}}, nil
}

// LaunchAWS starts moto_server on a free loopback port (or several: testbed.SplitServices). Without moto the error
// wraps testbed.ErrNoMoto.
func (s *Session) LaunchAWS(ctx context.Context, opts ...testbed.LaunchOption) error {
	m, err := testbed.Launch(ctx, opts...)
	if err != nil {
		return fmt.Errorf("start the embedded AWS: %w", err)
	}
	s.moto = m
	s.aws = testbed.NewAWS(m.Config(testbed.Region))
	return nil
}

// MotoURL is moto's endpoint, or "" before LaunchAWS.
func (s *Session) MotoURL() string {
	if s.moto == nil {
		return ""
	}
	return s.moto.URL()
}

// AWS is the SDK clients on moto, for arranging and inspecting the account (nil before LaunchAWS).
func (s *Session) AWS() *testbed.AWS { return s.aws }

// World is what CreateWorld made.
func (s *Session) World() World { return s.world }

// Responses is the stand-in for CloudFormation's pre-signed ResponseURLs.
func (s *Session) Responses() *testbed.ResponseServer { return s.responses }

// Inbox is the SNS subscriber that receives the notifications (nil before CreateWorld).
func (s *Session) Inbox() *testbed.Inbox { return s.inbox }

// CreateWorld creates, on moto, the registry table and notification topic a deployment has, subscribes the inbox
// to the topic, and makes a bucket and a logging trail that is not yet sending anything to CloudWatch Logs.
func (s *Session) CreateWorld(ctx context.Context) error {
	if s.aws == nil {
		return errors.New("create the world: the embedded AWS is not running")
	}
	if err := s.aws.CreateRegistryTable(ctx, testbed.RegistryTable); err != nil {
		return err
	}
	if err := s.aws.CreateDeliveryRole(ctx); err != nil {
		return err
	}
	topic, err := s.aws.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(testbed.TopicName)})
	if err != nil {
		return fmt.Errorf("create topic %s: %w", testbed.TopicName, err)
	}
	s.inbox = testbed.NewInbox()
	if err := s.inbox.Subscribe(ctx, s.aws.SNS, aws.ToString(topic.TopicArn), Mailbox, ""); err != nil {
		return err
	}
	trailARN, err := s.aws.CreateTrail(ctx, testbed.TrailName, testbed.TrailOptions{})
	if err != nil {
		return err
	}
	// The trail's owner lets the sample stack manage it, as a security team would before adopting trailguard.
	if err := s.aws.TagTrail(ctx, trailARN, delivery.TagManagedBy, testbed.SampleStackID); err != nil {
		return err
	}
	s.world = World{Table: testbed.RegistryTable, TopicARN: aws.ToString(topic.TopicArn), Bucket: testbed.TrailBucket(testbed.TrailName),
		TrailName: testbed.TrailName, TrailARN: trailARN}
	return nil
}

// LocalEnv is the environment of a function running on moto: moto's endpoint and credentials, the settings the
// stack would deploy (lambdaenv.Environment: the registry, the topic, the delivery role and boundary, the
// defaults), and for the provider the permission to answer the loopback ResponseURL.
func (s *Session) LocalEnv(function string) []string {
	fn := lambdaenv.Remediator
	if function == Provider {
		fn = lambdaenv.Provider
	}
	settings := lambdaenv.Environment(fn, map[string]string{lambdaenv.RegistryTable: s.world.Table, lambdaenv.TopicARN: s.world.TopicARN,
		lambdaenv.DeliveryRoleARN: testbed.DeliveryRoleARN, lambdaenv.DeliveryBoundaryARN: testbed.DeliveryBoundaryARN})
	env := s.moto.Env(testbed.Region)
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		env = append(env, k+"="+settings[k])
	}
	if function == Provider {
		env = append(env, lambdaenv.LocalRun+"=true")
	}
	return env
}

// StartFunction builds functions/<name> and runs it with env through its own Runtime API, logging to
// <logDir>/<name>.log. A session runs at most one instance of each function.
func (s *Session) StartFunction(name string, env []string) (*Lambda, error) {
	if _, dup := s.lambdas[name]; dup {
		return nil, fmt.Errorf("function %s is already running", name)
	}
	l, err := StartLambda(name, env, filepath.Join(s.logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	s.lambdas[name] = l
	return l, nil
}

// StartInstance starts one more instance of functions/<name> as the function functionARN names (an organization
// member's, in its account and region), under key, logging to <logDir>/<key>.log. Keys are unique in a session.
func (s *Session) StartInstance(key, name, functionARN string, env []string) (*Lambda, error) {
	if _, dup := s.lambdas[key]; dup {
		return nil, fmt.Errorf("function %s is already running", key)
	}
	l, err := StartLambdaAs(name, functionARN, env, filepath.Join(s.logDir, key+".log"))
	if err != nil {
		return nil, err
	}
	s.lambdas[key] = l
	return l, nil
}

// Function is a started function (by name, or by key for StartInstance), or nil.
func (s *Session) Function(name string) *Lambda { return s.lambdas[name] }

// OnClose has Close run stop too, before it stops moto.
func (s *Session) OnClose(stop func()) { s.closers = append(s.closers, stop) }

// Moto is the embedded AWS, or nil before LaunchAWS.
func (s *Session) Moto() *testbed.Server { return s.moto }

// Close stops the functions, the local servers and moto. It is safe to call on a partly started session, and twice.
func (s *Session) Close() {
	for name, l := range s.lambdas {
		l.Close()
		delete(s.lambdas, name)
	}
	if s.inbox != nil {
		s.inbox.Close()
		s.inbox = nil
	}
	if s.responses != nil {
		s.responses.Close()
		s.responses = nil
	}
	for _, c := range s.closers {
		c()
	}
	s.closers = nil
	if s.moto != nil {
		s.moto.Stop()
		s.moto = nil
	}
}
