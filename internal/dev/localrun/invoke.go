package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trailguard/trailguard/internal/awsconfig"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// Targets of an invocation.
const (
	// TargetLocal runs the function on moto, with the demo's world.
	TargetLocal = "local"
	// TargetAWS runs the function on this machine against the account of the caller's credentials.
	TargetAWS = "aws"
)

// IMeanIt is the variable that must be "yes" for TargetAWS: a second, deliberate step before a function may change
// a real account.
const IMeanIt = "TRAILGUARD_I_MEAN_IT"

// ErrNotMeant is the refusal to touch a real account without IMeanIt=yes.
var ErrNotMeant = errors.New("-target aws runs the function against the real AWS account of your credentials, " +
	"where it may change trails, log groups and roles; to do that, also set " + IMeanIt + "=yes")

// InvokeOptions says which function to run on which event, and where.
type InvokeOptions struct {
	Function  string // Provider or Remediator
	EventPath string // e.g. events/remediator/sweep.json
	Target    string // TargetLocal (default) or TargetAWS
	// Getenv reads the caller's environment (os.Getenv when nil); TargetAWS takes credentials and settings from it.
	Getenv func(string) string
	// LogDir receives <function>.log; dist/invoke when empty.
	LogDir string
	// TailLines is how many log lines to show; 10 when zero.
	TailLines int
}

// InvokeResult is what one invocation produced.
type InvokeResult struct {
	Response testbed.Response
	// CFN is what reached the ResponseURL for a provider event (nil if nothing did).
	CFN           *testbed.CFNResponse
	Notifications []testbed.SNSMessage
	LogPath       string
	LogTail       []string
}

// Failed reports whether the function returned an error, or a provider event got no SUCCESS to CloudFormation.
func (r InvokeResult) Failed(function string) bool {
	if r.Response.Error != nil {
		return true
	}
	return function == Provider && (r.CFN == nil || r.CFN.Body.Status != "SUCCESS")
}

// passThrough are the caller's variables a function gets with TargetAWS: credentials, region and trailguard's
// settings, never AWS_ENDPOINT_URL (the point is the real endpoints).
var passThrough = append([]string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
}, lambdaenv.Settings...)

// Invoke runs one built function on one event, printing to out what it answered, what CloudFormation received for
// a provider event (its ResponseURL always rewritten to a local stand-in), the notifications (local only) and the
// end of its log.
func Invoke(ctx context.Context, out io.Writer, o InvokeOptions) (InvokeResult, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Target == "" {
		o.Target = TargetLocal
	}
	if o.TailLines == 0 {
		o.TailLines = 10
	}
	if o.Function != Provider && o.Function != Remediator {
		return InvokeResult{}, fmt.Errorf("-fn %q: want %s or %s", o.Function, Provider, Remediator)
	}
	if o.Target != TargetLocal && o.Target != TargetAWS {
		return InvokeResult{}, fmt.Errorf("-target %q: want %s or %s", o.Target, TargetLocal, TargetAWS)
	}
	if o.Target == TargetAWS && o.Getenv(IMeanIt) != "yes" {
		return InvokeResult{}, ErrNotMeant
	}
	raw, err := ReadEvent(o.EventPath)
	if err != nil {
		return InvokeResult{}, err
	}
	if o.LogDir == "" {
		root, err := testbed.ModuleRoot()
		if err != nil {
			return InvokeResult{}, err
		}
		o.LogDir = filepath.Join(root, "dist", "invoke")
	}
	var env []string
	if o.Target == TargetAWS {
		if env, err = awsEnv(o.Function, o.Getenv); err != nil {
			return InvokeResult{}, err
		}
	}

	s, err := NewSession(o.LogDir)
	if err != nil {
		return InvokeResult{}, err
	}
	defer s.Close()
	if o.Target == TargetLocal {
		if env, err = localSetup(ctx, out, s, o.Function); err != nil {
			return InvokeResult{}, err
		}
	} else {
		fmt.Fprintf(out, "target aws: region %s, the account of your credentials; no world is created\n", o.Getenv("AWS_REGION"))
	}
	if o.Function == Provider {
		if raw, err = WithLocalResponseURL(raw, s.Responses()); err != nil {
			return InvokeResult{}, err
		}
	}
	// Locally, the function reaches moto through a recording proxy, so the summary can say what it changed.
	rec := &testbed.Recorder{}
	if o.Target == TargetLocal {
		proxy, err := testbed.NewFaultProxy(s.MotoURL(), nil, rec)
		if err != nil {
			return InvokeResult{}, err
		}
		defer proxy.Close()
		env = append(env, "AWS_ENDPOINT_URL="+proxy.URL()) // the last value of a variable wins
	}
	l, err := s.StartFunction(o.Function, env)
	if err != nil {
		return InvokeResult{}, err
	}
	fmt.Fprintf(out, "invoke: %s on %s …\n", o.Function, o.EventPath)
	t0 := time.Now()
	res := InvokeResult{LogPath: l.LogPath}
	res.Response, err = l.Invoke(ctx, raw)
	if err != nil {
		return res, err
	}
	took := time.Since(t0)
	if o.Function == Provider {
		if got := s.Responses().Responses(); len(got) > 0 {
			res.CFN = &got[len(got)-1]
		}
	}
	if inbox := s.Inbox(); inbox != nil {
		_ = inbox.WaitFor(1, time.Second) // moto posts to the inbox as it publishes; this is only slack
		res.Notifications = inbox.Messages(Mailbox)
	}
	if res.LogTail, err = l.Tail(o.TailLines); err != nil {
		return res, err
	}

	fmt.Fprintf(out, "\n%s\n\n", Headline(o.Function, raw, res, o.Target, rec.Writes(), took))
	if res.Response.Error != nil {
		fmt.Fprintf(out, "the function returned an error: %s\n", res.Response.Error.Message)
	} else if p := strings.TrimSpace(string(res.Response.Payload)); p != "" && p != "null" {
		fmt.Fprintf(out, "the function returned: %s\n", p)
	}
	if res.CFN != nil {
		fmt.Fprintln(out, "CloudFormation received at the ResponseURL:")
		printIndented(out, ShowCFNResponse(*res.CFN))
	}
	if o.Target == TargetLocal {
		writes := rec.Writes()
		if len(writes) == 0 {
			writes = []string{"none"}
		}
		fmt.Fprintln(out, "write calls, in order:")
		printIndented(out, Wrap(strings.Join(writes, ", "), Width-2))
	}
	if s.Inbox() != nil {
		fmt.Fprintf(out, "notifications: %d\n", len(res.Notifications))
		for _, m := range res.Notifications {
			printIndented(out, ShowMessage(m, true))
		}
	}
	fmt.Fprintf(out, "log %s\nits last %d lines (level, message, fields):\n", ShowPath(l.LogPath), len(res.LogTail))
	for _, line := range res.LogTail {
		fmt.Fprintf(out, "  %s\n", LogLine(line, Width-2))
	}
	return res, nil
}

// Headline is the one line, at most Width columns, a person reads first: what was asked, what was answered (for a
// provider event, what CloudFormation received), and which write calls the function made in AWS.
func Headline(function string, event []byte, res InvokeResult, target string, writes []string, took time.Duration) string {
	var ev struct {
		RequestType        string
		ResourceProperties struct{ TrailName string }
		DetailType         string `json:"detail-type"`
		Detail             struct{ EventName string }
	}
	_ = json.Unmarshal(event, &ev)
	asked := function + " on " + ev.DetailType
	switch {
	case ev.RequestType != "":
		asked = fmt.Sprintf("provider %s of trail %s", ev.RequestType, ev.ResourceProperties.TrailName)
	case ev.Detail.EventName != "":
		asked = fmt.Sprintf("%s on event %s", function, ev.Detail.EventName)
	case ev.DetailType == "Scheduled Event":
		asked = function + " sweep"
	}
	var answered string
	switch {
	case res.Response.Error != nil:
		answered = "error: " + firstLine(res.Response.Error.Message)
	case function == Provider && res.CFN == nil:
		answered = "nothing reached CloudFormation"
	case function == Provider:
		answered = res.CFN.Body.Status
		if res.CFN.Body.Reason != "" {
			answered += ": " + res.CFN.Body.Reason
		}
	default:
		answered = "ok"
	}
	var changed string
	switch {
	case target != TargetLocal:
		changed = "AWS writes not recorded with -target aws (see the log)"
	case len(writes) == 0:
		changed = "nothing changed in AWS"
	default:
		ops := make([]string, len(writes))
		for i, w := range writes {
			ops[i] = strings.Replace(w, ".", " ", 1) // "IAM PutRolePolicy"
		}
		changed = "changed in AWS: " + strings.Join(ops, ", ")
	}
	line := func() string { return fmt.Sprintf("%s → %s; %s (%s)", asked, answered, changed, Duration(took)) }
	if utf8.RuneCountInString(line()) > Width && len(writes) > 0 && target == TargetLocal {
		changed = fmt.Sprintf("changed in AWS: %d writes, listed below", len(writes))
	}
	return cut(line(), Width)
}

// LogLine shows a JSON log line as "LEVEL message key=value …", cut to width runes: the log file has it in full.
func LogLine(line string, width int) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return cut(line, width)
	}
	var parts []string
	for _, k := range []string{"level", "msg"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprint(v))
		}
	}
	if _, ok := m["_aws"]; ok {
		parts = append(parts, "metrics") // an embedded-metric-format line
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "time" && k != "level" && k != "msg" && k != "_aws" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fmt.Sprint(m[k])
		if s, ok := m[k].(string); ok && strings.HasPrefix(s, "arn:") {
			v = ShortARN(s)
		}
		parts = append(parts, k+"="+v)
	}
	return cut(strings.Join(parts, " "), width)
}

func cut(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// localSetup starts moto with the demo's world and, for the remediator, has the provider wire and register the
// trail first, so that remediator events concern a trail trailguard guards. It returns the function's environment.
func localSetup(ctx context.Context, out io.Writer, s *Session, function string) ([]string, error) {
	if err := s.LaunchAWS(ctx); err != nil {
		return nil, err
	}
	if err := s.CreateWorld(ctx); err != nil {
		return nil, err
	}
	w := s.World()
	fmt.Fprintf(out, "set up: moto on %s\n", s.MotoURL())
	fmt.Fprintf(out, "set up: table %s, topic %s, trail %s\n", w.Table, testbed.TopicName, w.TrailName)
	if function == Remediator {
		raw, err := ReadEvent(filepath.Join("events", "provider", "create.json"))
		if err != nil {
			return nil, err
		}
		if raw, err = WithLocalResponseURL(raw, s.Responses()); err != nil {
			return nil, err
		}
		p, err := s.StartFunction(Provider, s.LocalEnv(Provider))
		if err != nil {
			return nil, err
		}
		res, err := p.Invoke(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("set up: wire the trail with the provider: %w", err)
		}
		got, err := s.Responses().WaitFor(5 * time.Second)
		if err != nil || res.Error != nil || got.Body.Status != "SUCCESS" {
			return nil, fmt.Errorf("set up: the provider did not wire the trail (answer %v, CloudFormation got %q %q, %v)",
				res.Error, got.Body.Status, got.Body.Reason, err)
		}
		fmt.Fprintln(out, "set up: trail wired and registered by the provider (events/provider/create.json)")
	}
	return s.LocalEnv(function), nil
}

// awsEnv is a function's environment against the real account: the caller's credentials and settings, checked
// as the function will check them, so that a missing one is reported before anything starts.
func awsEnv(function string, getenv func(string) string) ([]string, error) {
	if getenv("AWS_ENDPOINT_URL") != "" {
		return nil, errors.New("-target aws: AWS_ENDPOINT_URL is set; unset it to reach the real AWS endpoints")
	}
	if _, err := awsconfig.FromEnvironment(awsconfig.Environment{
		Region: getenv("AWS_REGION"), AccessKeyID: getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: getenv("AWS_SESSION_TOKEN"),
	}); err != nil {
		return nil, fmt.Errorf("-target aws: %w (export your credentials first, e.g. "+
			"eval \"$(aws configure export-credentials --format env)\", and set AWS_REGION)", err)
	}
	if function == Remediator && getenv(lambdaenv.RegistryTable) == "" {
		return nil, fmt.Errorf("-target aws: the remediator needs %s, the deployed registry table's name", lambdaenv.RegistryTable)
	}
	var env []string
	for _, k := range passThrough {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if function == Provider {
		env = append(env, lambdaenv.LocalRun+"=true") // the ResponseURL is the local stand-in
	}
	return env, nil
}

func printIndented(out io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(out, "  %s\n", l)
	}
}
