package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// Option adjusts a demo run.
type Option func(*demoOptions)

type demoOptions struct {
	logDir string
	checks []func(*Session) Check
}

// WithLogDir sends the functions' log files to dir instead of dist/demo.
func WithLogDir(dir string) Option { return func(o *demoOptions) { o.logDir = dir } }

// WithCheck adds a condition verified right after step n; the run fails at that step if it returns an error. Tests
// use it to prove that a failed check fails the run.
func WithCheck(n int, name string, fn func(ctx context.Context, s *Session) error) Option {
	return func(o *demoOptions) {
		o.checks = append(o.checks, func(s *Session) Check {
			return Check{Step: n, Name: name, Fn: func(ctx context.Context) error { return fn(ctx, s) }}
		})
	}
}

// notifyWait bounds the wait for moto's SNS to deliver a notification to the inbox.
const notifyWait = 10 * time.Second

// Demo runs the whole story against a fresh moto, printing each step to out, and stops everything it started
// before returning. Without moto_server, the first step fails with an error wrapping testbed.ErrNoMoto.
func Demo(ctx context.Context, out io.Writer, opts ...Option) Summary {
	return tell(ctx, out, "demo", opts, func(s *Session) []Step { return (&demo{s: s}).steps() })
}

// tell runs one story's steps in a fresh session whose function logs go to dist/<name> (unless an Option says
// otherwise), applying the options' extra checks, and on failure prints what moto answered with 5xx and where the
// logs are. Every story (make demo, make demo-org) is told this way.
func tell(ctx context.Context, out io.Writer, name string, opts []Option, steps func(*Session) []Step) Summary {
	var o demoOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.logDir == "" {
		root, err := testbed.ModuleRoot()
		if err != nil {
			return failedBeforeStart(out, err)
		}
		o.logDir = filepath.Join(root, "dist", name)
	}
	s, err := NewSession(o.logDir)
	if err != nil {
		return failedBeforeStart(out, err)
	}
	defer s.Close()
	checks := make([]Check, 0, len(o.checks))
	for _, c := range o.checks {
		checks = append(checks, c(s))
	}
	sum := NewRunner(out, checks...).Run(ctx, steps(s))
	if !sum.OK() {
		// moto's 5xx answers, whose bodies the SDK's errors leave out, are often the cause of a failed step.
		if s.moto != nil {
			for _, f := range s.moto.Failures() {
				fmt.Fprintln(out, f)
			}
		}
		fmt.Fprintf(out, "the functions' logs are in %s\n", ShowPath(o.logDir))
	}
	return sum
}

// Main is a story command's main: it tells the story, prints its summary, and returns the exit code (2 without
// moto_server, 1 if any step failed); on success it prints what to run next.
func Main(name string, story func(context.Context, io.Writer, ...Option) Summary, next []string) int {
	ctx, stop := Interruptible(context.Background())
	defer stop()
	sum := story(ctx, os.Stdout)
	PrintSummary(os.Stdout, name, sum)
	if errors.Is(sum.Err(), testbed.ErrNoMoto) {
		fmt.Fprintln(os.Stderr, testbed.InstallHint)
		return 2
	}
	if !sum.OK() {
		return 1
	}
	for _, l := range next {
		fmt.Println(l)
	}
	return 0
}

// NextSteps is what the demo suggests running after it passed.
var NextSteps = []string{
	"next: make test                                    lint, every test, fuzz, govulncheck, cfn-lint",
	"      make invoke FN=provider EVENT=events/provider/create.json   one function, one event",
	"      make synth; make deploy                      with AWS credentials: see README.md, Deploying",
}

func failedBeforeStart(out io.Writer, err error) Summary {
	return NewRunner(out).Run(context.Background(), []Step{{Title: "prepare", Do: func(context.Context) (Outcome, error) {
		return Outcome{}, err
	}}})
}

// demo is the story's state between steps.
type demo struct {
	s       *Session
	created testbed.CFNResponse
	seen    int // notifications already shown
}

func (d *demo) steps() []Step {
	return []Step{
		{"embedded AWS", d.launch},
		{"world", d.world},
		{"functions: build and start both (the first build takes a minute or more)", d.functions},
		{"provider Create", d.create},
		{"trail delivers to CloudWatch Logs", d.delivering},
		{"attacker (alice) unlinks the trail and stops logging", d.attack},
		{"remediator on UpdateTrail and StopLogging", d.repair},
		{"attacker deletes the log group: refused outright (deletion protection)", d.deleteRefused},
		{"attacker turns protection off and deletes the log group; remediator on DeleteLogGroup", d.deleteLogGroup},
		{"attacker deletes the role policy, the event is lost; sweep", d.sweep},
		{"provider Update: the CIS monitoring pack", d.packWired},
		{"cis-check (CloudTrail.1, .5, CloudWatch.1-14, CIS 4.15)", d.cisCheck},
		{"attacker deletes an alarm and edits a filter; remediator", d.packAttack},
		{"cis-check again", d.cisCheck},
		{"provider Delete", d.delete},
	}
}

func (d *demo) launch(ctx context.Context) (Outcome, error) {
	if err := d.s.LaunchAWS(ctx); err != nil {
		return Outcome{}, err
	}
	return Outcome{Summary: "moto_server on " + d.s.MotoURL() + ", account " + testbed.Account + ", " + testbed.Region}, nil
}

func (d *demo) world(ctx context.Context) (Outcome, error) {
	if err := d.s.CreateWorld(ctx); err != nil {
		return Outcome{}, err
	}
	w := d.s.World()
	group, role, err := d.s.AWS().TrailLink(ctx, w.TrailARN)
	if err != nil {
		return Outcome{}, err
	}
	if group != "" || role != "" {
		return Outcome{}, fmt.Errorf("the new trail already sends to CloudWatch Logs (%q, %q)", group, role)
	}
	if err := d.wantLogging(ctx, true); err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Summary: fmt.Sprintf("trail %s logs to a bucket, not to CloudWatch Logs", w.TrailName),
		Details: []string{
			"bucket " + w.Bucket + ", registry table " + w.Table,
			"topic " + w.TopicARN + ", inbox " + Mailbox + " subscribed",
		},
	}, nil
}

func (d *demo) functions(context.Context) (Outcome, error) {
	var details []string
	for _, name := range []string{Provider, Remediator} {
		l, err := d.s.StartFunction(name, d.s.LocalEnv(name))
		if err != nil {
			return Outcome{}, err
		}
		details = append(details, fmt.Sprintf("%s: log lines in %s", name, ShowPath(l.LogPath)))
	}
	// A function missing a setting exits at once: give it a moment to do so, rather than fail in a later step.
	time.Sleep(200 * time.Millisecond)
	for _, name := range []string{Provider, Remediator} {
		if l := d.s.Function(name); !l.Running() {
			return Outcome{}, fmt.Errorf("%s exited at start-up; its log ends with:\n%s", name, l.tailText(5))
		}
	}
	return Outcome{Summary: "provider and remediator built, polling their Lambda Runtime APIs", Details: details}, nil
}

// cfn sends a CloudFormation request from events/provider to the provider and returns what CloudFormation received.
func (d *demo) cfn(ctx context.Context, event string) (testbed.CFNResponse, error) {
	raw, err := ReadEvent(filepath.Join("events", "provider", event))
	if err != nil {
		return testbed.CFNResponse{}, err
	}
	raw, err = WithLocalResponseURL(raw, d.s.Responses())
	if err != nil {
		return testbed.CFNResponse{}, err
	}
	res, err := d.s.Function(Provider).Invoke(ctx, raw)
	if err != nil {
		return testbed.CFNResponse{}, err
	}
	if res.Error != nil {
		return testbed.CFNResponse{}, fmt.Errorf("the provider returned an error to Lambda: %w", res.Error)
	}
	got, err := d.s.Responses().WaitFor(5 * time.Second)
	if err != nil {
		return got, err
	}
	if got.Body.Status != "SUCCESS" {
		return got, fmt.Errorf("CloudFormation received %s: %s", got.Body.Status, got.Body.Reason)
	}
	if got.Body.PhysicalResourceID != d.s.World().TrailARN {
		return got, fmt.Errorf("PhysicalResourceId %q, want the trail ARN %s", got.Body.PhysicalResourceID, d.s.World().TrailARN)
	}
	return got, nil
}

func (d *demo) create(ctx context.Context) (Outcome, error) {
	got, err := d.cfn(ctx, "create.json")
	if err != nil {
		return Outcome{}, err
	}
	for _, k := range []string{"LogGroupName", "LogGroupArn", "RoleName", "RoleArn", "PolicyName"} {
		if v, _ := got.Body.Data[k].(string); v == "" {
			return Outcome{}, fmt.Errorf("CloudFormation received no %s in Data", k)
		}
	}
	d.created = got
	return Outcome{
		Summary: "SUCCESS, the trail ARN as PhysicalResourceId",
		Details: append([]string{"CloudFormation received at the ResponseURL:"}, ShowCFNResponse(got)...),
	}, nil
}

func (d *demo) data(key string) string {
	v, _ := d.created.Body.Data[key].(string)
	return v
}

// wantLinked checks that the trail sends to the log group and role the provider reported.
func (d *demo) wantLinked(ctx context.Context) error {
	group, role, err := d.s.AWS().TrailLink(ctx, d.s.World().TrailARN)
	if err != nil {
		return err
	}
	if group != d.data("LogGroupArn") || role != d.data("RoleArn") {
		return fmt.Errorf("the trail sends to log group %q with role %q; want %q with %q", group, role,
			d.data("LogGroupArn"), d.data("RoleArn"))
	}
	return nil
}

func (d *demo) wantLogging(ctx context.Context, want bool) error {
	logging, err := d.s.AWS().IsLogging(ctx, d.s.World().TrailARN)
	if err != nil {
		return err
	}
	if logging != want {
		return fmt.Errorf("the trail's logging is %t, want %t", logging, want)
	}
	return nil
}

func (d *demo) wantLogGroup(ctx context.Context) (retention int32, err error) {
	g, found, err := d.s.AWS().LogGroup(ctx, d.data("LogGroupName"))
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("log group %s does not exist", d.data("LogGroupName"))
	}
	return aws.ToInt32(g.RetentionInDays), nil
}

// policy reads the trail's inline role policy and summarizes each statement on one line.
func (d *demo) policy(ctx context.Context) ([]string, error) {
	doc, err := d.s.AWS().RolePolicy(ctx, d.data("RoleName"), d.data("PolicyName"))
	if err != nil {
		return nil, err
	}
	var p struct {
		Statement []struct {
			Effect           string
			Action, Resource any
		}
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("role policy %s is not JSON: %w", d.data("PolicyName"), err)
	}
	var lines []string
	streams := strings.TrimSuffix(d.data("LogGroupArn"), "*") + "log-stream:"
	for _, st := range p.Statement {
		resource := list(st.Resource)
		if prefix, ok := strings.CutPrefix(resource, streams); ok {
			resource = "its log streams " + prefix
		}
		lines = append(lines, fmt.Sprintf("  %s %s on %s", st.Effect, list(st.Action), resource))
	}
	if !strings.Contains(doc, "logs:PutLogEvents") || !strings.Contains(doc, "logs:CreateLogStream") {
		return lines, fmt.Errorf("role policy %s does not allow logs:CreateLogStream and logs:PutLogEvents", d.data("PolicyName"))
	}
	return lines, nil
}

// list prints a policy element that is either a string or a list of strings.
func list(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

func (d *demo) delivering(ctx context.Context) (Outcome, error) {
	if err := d.wantLinked(ctx); err != nil {
		return Outcome{}, err
	}
	if err := d.wantLogging(ctx, true); err != nil {
		return Outcome{}, err
	}
	retention, err := d.wantLogGroup(ctx)
	if err != nil {
		return Outcome{}, err
	}
	policy, err := d.policy(ctx)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Summary: "trail linked to its log group and role, logging",
		Details: append([]string{
			"CloudWatchLogsLogGroupArn " + d.data("LogGroupArn"),
			"CloudWatchLogsRoleArn     " + d.data("RoleArn"),
			fmt.Sprintf("log group retention %d days", retention),
			"role policy " + d.data("PolicyName") + " on " + d.data("RoleName") + ":",
		}, policy...),
	}, nil
}

func (d *demo) attack(ctx context.Context) (Outcome, error) {
	ct := d.s.AWS().CloudTrail
	name := aws.String(d.s.World().TrailName)
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: name,
		CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")}); err != nil {
		return Outcome{}, fmt.Errorf("clear the trail's CloudWatch Logs settings: %w", err)
	}
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: name}); err != nil {
		return Outcome{}, fmt.Errorf("stop logging: %w", err)
	}
	group, role, err := d.s.AWS().TrailLink(ctx, d.s.World().TrailARN)
	if err != nil {
		return Outcome{}, err
	}
	if group != "" || role != "" {
		return Outcome{}, fmt.Errorf("the attack did not unlink the trail: log group %q, role %q", group, role)
	}
	if err := d.wantLogging(ctx, false); err != nil {
		return Outcome{}, err
	}
	return Outcome{Summary: "trail unlinked (UpdateTrail, empty CloudWatch Logs fields), not logging (StopLogging)"}, nil
}

// remediate delivers sample EventBridge events from events/remediator to the remediator, in order.
func (d *demo) remediate(ctx context.Context, events ...string) error {
	for _, ev := range events {
		raw, err := ReadEvent(filepath.Join("events", "remediator", ev))
		if err != nil {
			return err
		}
		res, err := d.s.Function(Remediator).Invoke(ctx, raw)
		if err != nil {
			return err
		}
		if res.Error != nil {
			return fmt.Errorf("the remediator returned an error on %s: %w", ev, res.Error)
		}
	}
	return nil
}

// notifications waits for at least one notification not shown yet, checks each names who, and returns them as
// detail lines.
func (d *demo) notifications(who string) ([]string, int, error) {
	if err := d.s.Inbox().WaitFor(d.seen+1, notifyWait); err != nil {
		return nil, 0, fmt.Errorf("no notification reached the inbox: %w", err)
	}
	msgs := d.s.Inbox().Messages(Mailbox)
	start := min(d.seen, len(msgs))
	fresh := msgs[start:]
	d.seen = len(msgs)
	var lines []string
	for i, m := range fresh {
		if !strings.Contains(m.Message, who) {
			return nil, 0, fmt.Errorf("notification %q does not name %s:\n%s", m.Subject, who, m.Message)
		}
		// The first notification of the run in full, the others as what differs.
		lines = append(lines, ShowMessage(m, start+i == 0)...)
	}
	return lines, len(fresh), nil
}

// attacker is who the sample events say made the changes.
const attacker = "arn:aws:sts::123456789012:assumed-role/Admin/alice"

func (d *demo) repair(ctx context.Context) (Outcome, error) {
	if err := d.remediate(ctx, "update-trail-cleared.json", "stop-logging.json"); err != nil {
		return Outcome{}, err
	}
	if err := d.wantLinked(ctx); err != nil {
		return Outcome{}, fmt.Errorf("not repaired: %w", err)
	}
	if err := d.wantLogging(ctx, true); err != nil {
		return Outcome{}, fmt.Errorf("not repaired: %w", err)
	}
	lines, n, err := d.notifications(attacker)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Summary: fmt.Sprintf("repaired: trail relinked and logging again; %d notification(s)", n),
		Details: lines,
	}, nil
}

// deleteRefused shows the attack failing, not repaired afterwards: the provider created the group with deletion
// protection, so CloudWatch Logs refuses the attacker's DeleteLogGroup and no audit event is lost.
func (d *demo) deleteRefused(ctx context.Context) (Outcome, error) {
	name := d.data("LogGroupName")
	_, err := d.s.AWS().Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
		return Outcome{}, fmt.Errorf("DeleteLogGroup of the guarded group %s was not refused (error: %v)", name, err)
	}
	if _, found, err := d.s.AWS().LogGroup(ctx, name); err != nil || !found {
		return Outcome{}, fmt.Errorf("log group %s gone although its delete was refused (err %v)", name, err)
	}
	return Outcome{Summary: "refused (" + api.ErrorCode() + "): the group and its events are intact",
		Details: []string{"CloudWatch Logs answered: " + api.ErrorMessage()}}, nil
}

func (d *demo) deleteLogGroup(ctx context.Context) (Outcome, error) {
	name := d.data("LogGroupName")
	if err := d.s.AWS().DeleteLogGroup(ctx, name); err != nil {
		return Outcome{}, err
	}
	if _, found, err := d.s.AWS().LogGroup(ctx, name); err != nil || found {
		return Outcome{}, fmt.Errorf("log group %s still there after DeleteLogGroup (err %v)", name, err)
	}
	if err := d.remediate(ctx, "delete-log-group.json"); err != nil {
		return Outcome{}, err
	}
	retention, err := d.wantLogGroup(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("not repaired: %w", err)
	}
	if err := d.wantLinked(ctx); err != nil {
		return Outcome{}, fmt.Errorf("not repaired: %w", err)
	}
	lines, _, err := d.notifications(attacker)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Summary: fmt.Sprintf("log group recreated (retention %d days), trail relinked", retention),
		Details: lines,
	}, nil
}

func (d *demo) sweep(ctx context.Context) (Outcome, error) {
	role, policy := d.data("RoleName"), d.data("PolicyName")
	if _, err := d.s.AWS().IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role),
		PolicyName: aws.String(policy)}); err != nil {
		return Outcome{}, fmt.Errorf("delete policy %s of role %s: %w", policy, role, err)
	}
	if _, err := d.s.AWS().RolePolicy(ctx, role, policy); err == nil {
		return Outcome{}, fmt.Errorf("policy %s still on role %s after DeleteRolePolicy", policy, role)
	}
	if err := d.remediate(ctx, "sweep.json"); err != nil {
		return Outcome{}, err
	}
	if _, err := d.policy(ctx); err != nil {
		return Outcome{}, fmt.Errorf("not repaired: %w", err)
	}
	if err := d.wantLinked(ctx); err != nil {
		return Outcome{}, err
	}
	lines, _, err := d.notifications("Sweep")
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Summary: "role policy restored by the sweep", Details: lines}, nil
}

func (d *demo) delete(ctx context.Context) (Outcome, error) {
	got, err := d.cfn(ctx, "delete.json")
	if err != nil {
		return Outcome{}, err
	}
	group, role, err := d.s.AWS().TrailLink(ctx, d.s.World().TrailARN)
	if err != nil {
		return Outcome{}, err
	}
	if group != "" || role != "" {
		return Outcome{}, fmt.Errorf("the trail still sends to log group %q with role %q", group, role)
	}
	if _, err := d.wantLogGroup(ctx); err != nil {
		return Outcome{}, fmt.Errorf("the log group must be kept: %w", err)
	}
	if err := d.packRemoved(ctx); err != nil {
		return Outcome{}, err
	}
	if _, err := d.s.AWS().RolePolicy(ctx, d.data("RoleName"), d.data("PolicyName")); err == nil {
		return Outcome{}, fmt.Errorf("policy %s is still on role %s", d.data("PolicyName"), d.data("RoleName"))
	} else if !isNoSuchEntity(err) {
		return Outcome{}, err
	}
	return Outcome{
		Summary: "SUCCESS: trail unlinked, role policy and CIS pack removed, log group kept",
		Details: append([]string{"CloudFormation received at the ResponseURL:"}, ShowCFNResponse(got)...),
	}, nil
}

func isNoSuchEntity(err error) bool {
	var nse interface{ ErrorCode() string }
	return errors.As(err, &nse) && nse.ErrorCode() == "NoSuchEntity"
}
