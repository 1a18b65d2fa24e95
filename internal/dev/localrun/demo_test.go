package localrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

var (
	stepLine   = regexp.MustCompile(`^\[(\d+)/(\d+)\] (.+) …$`)
	resultLine = regexp.MustCompile(`^  (→|✗ FAILED:) (.+) \((\d+ ms|\d+\.\d s)\)$`)
	motoURL    = regexp.MustCompile(`moto_server on (http://127\.0\.0\.1:\d+)`)
)

// stepLines are the output's step lines, printed when each step starts or is skipped (not the indented details).
func stepLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[") {
			lines = append(lines, l)
		}
	}
	return lines
}

// resultLines are the lines printed when each step ends: what it did, or why it failed.
func resultLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  →") || strings.HasPrefix(l, "  ✗") {
			lines = append(lines, l)
		}
	}
	return lines
}

// assertFits checks that no line is wider than the runner's width.
func assertFits(t *testing.T, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), localrun.Width, "line wider than %d columns: %q", localrun.Width, l)
	}
}

// assertMotoStopped checks that the moto the run printed no longer answers.
func assertMotoStopped(t *testing.T, out string) {
	t.Helper()
	m := motoURL.FindStringSubmatch(out)
	require.NotNil(t, m, "the run names its moto endpoint")
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(m[1] + "/moto-api/")
	if err == nil {
		resp.Body.Close()
	}
	assert.Error(t, err, "moto at %s is stopped at the end of the run", m[1])
}

func TestDemoTellsTheWholeStory(t *testing.T) {
	testbed.NeedMoto(t)
	// Deeper than a line may be wide: the output must not depend on where the run keeps its logs.
	logDir := filepath.Join(t.TempDir(), strings.Repeat("deep-folder/", 10))
	var out bytes.Buffer
	sum := localrun.Demo(context.Background(), &out, localrun.WithLogDir(logDir))
	t.Log("\n" + out.String())

	require.True(t, sum.OK(), "every step passes: %v", sum.Err())
	require.Len(t, sum.Results, 15)
	lines, results := stepLines(out.String()), resultLines(out.String())
	require.Len(t, lines, 15, "one line per step, when it starts")
	require.Len(t, results, 15, "one result line per step, when it ends")
	for i, l := range lines {
		m := stepLine.FindStringSubmatch(l)
		require.NotNil(t, m, "step line %q: [n/of] title …", l)
		assert.Equal(t, fmt.Sprint(i+1), m[1])
		assert.Equal(t, sum.Results[i].Title, m[3])
		r := resultLine.FindStringSubmatch(results[i])
		require.NotNil(t, r, "result line %q: → what happened (duration)", results[i])
		assert.Equal(t, "→", r[1])
	}
	text := out.String()
	assertFits(t, text)
	assert.Contains(t, results[3], "SUCCESS, the trail ARN as PhysicalResourceId")
	assert.Contains(t, text, "PhysicalResourceId: arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail\n")
	assert.Contains(t, text, "Data.LogGroupArn:\n   arn:aws:logs:us-east-1:123456789012:log-group:aws-cloudtrail-logs-123456789012-management-trail:*\n")
	assert.Equal(t, 1, strings.Count(text, "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail"),
		"the trail ARN is shown in full once, then shortened")
	assert.Contains(t, text, "…trail/management-trail")
	assert.Contains(t, text, "Subject: trailguard repaired trail management-trail (UpdateTrail by alice?)")
	assert.Contains(t, text, "Subject: trailguard repaired trail management-trail (StopLogging by alice?)")
	assert.Contains(t, text, "Subject: trailguard repaired trail management-trail (DeleteLogGroup by alice?)")
	assert.Contains(t, text, "CloudWatch Logs answered: Cannot delete log group with deletion protection enabled",
		"one attack fails outright, before any repair")
	assert.Contains(t, text, "(Sweep)")
	assert.Contains(t, results[11], "all 17 controls PASSED")
	assert.Contains(t, text, "cis-check while attacked: CloudWatch.1 FAILED, CloudWatch.14 FAILED")
	assert.Contains(t, text, "Subject: trailguard repaired trail management-trail (DeleteAlarms by alice?)")
	assert.Contains(t, text, "drifted: CIS alarms deleted: trailguard-cis-management-trail-root-usage")
	assert.Contains(t, text, "trailguard-cis-management-trail-vpc-changes", "the edited filter, repaired at the same event")
	assert.Contains(t, results[13], "all 17 controls PASSED")
	assert.NotContains(t, text, "X-Amz-Signature", "no pre-signed URL is shown")

	for _, fn := range []string{"provider", "remediator"} {
		path := filepath.Join(logDir, fn+".log")
		assert.Contains(t, text, localrun.ShowPath(path), "the log file's path is printed, as short as it can be")
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		logs := strings.TrimSpace(string(raw))
		require.NotEmpty(t, logs, "%s logged", fn)
		assert.NotContains(t, logs, "X-Amz-Signature", "the pre-signed URL is never logged in full")
		for _, l := range strings.Split(logs, "\n") {
			assert.True(t, json.Valid([]byte(l)), "%s log lines are JSON, not terminal output: %s", fn, l)
		}
	}
	var summary bytes.Buffer
	localrun.PrintSummary(&summary, "demo", sum)
	assert.Regexp(t, `^demo: all 15 steps passed in \d+`, summary.String())
	assertMotoStopped(t, text)
}

func TestAFailedCheckFailsTheRun(t *testing.T) {
	testbed.NeedMoto(t)
	var out bytes.Buffer
	// After step 5 the trail delivers to CloudWatch Logs: a check that it does not cannot pass.
	sum := localrun.Demo(context.Background(), &out, localrun.WithLogDir(t.TempDir()),
		localrun.WithCheck(5, "trail not linked", func(ctx context.Context, s *localrun.Session) error {
			group, _, err := s.AWS().TrailLink(ctx, s.World().TrailARN)
			if err != nil {
				return err
			}
			if group != "" {
				return fmt.Errorf("the trail is linked to %s", group)
			}
			return nil
		}))
	t.Log("\n" + out.String())

	require.False(t, sum.OK())
	var se *localrun.StepError
	require.ErrorAs(t, sum.Err(), &se)
	assert.Equal(t, 5, se.N)
	assert.ErrorContains(t, se, `check "trail not linked": the trail is linked to arn:aws:logs:`)
	assert.Equal(t, 4, sum.Passed())
	for _, r := range sum.Results[5:] {
		assert.ErrorIs(t, r.Err, localrun.ErrSkipped, "step %d builds on step 5", r.N)
	}
	lines, results := stepLines(out.String()), resultLines(out.String())
	require.Len(t, lines, 15)
	require.Len(t, results, 5, "the steps that ran")
	assert.Equal(t, "[5/15] trail delivers to CloudWatch Logs …", lines[4])
	assert.Regexp(t, `^  ✗ FAILED: check "trail not linked"`, results[4])
	assert.Equal(t, "[6/15] attacker (alice) unlinks the trail and stops logging → skipped", lines[5])
	assertFits(t, out.String())
	var summary bytes.Buffer
	localrun.PrintSummary(&summary, "demo", sum)
	assert.Contains(t, summary.String(), "demo FAILED: 4 of 15 steps passed")
	assertMotoStopped(t, out.String())
}

func TestRunnerReportsFailuresPanicsAndInterruptions(t *testing.T) {
	ok := func(s string) func(context.Context) (localrun.Outcome, error) {
		return func(context.Context) (localrun.Outcome, error) {
			return localrun.Outcome{Summary: s, Details: []string{"d"}}, nil
		}
	}
	ran := 0
	counting := func(context.Context) (localrun.Outcome, error) { ran++; return localrun.Outcome{Summary: "x"}, nil }

	t.Run("failure", func(t *testing.T) {
		var out bytes.Buffer
		sum := localrun.NewRunner(&out).Run(context.Background(), []localrun.Step{
			{Title: "one", Do: ok("fine")},
			{Title: "two", Do: func(context.Context) (localrun.Outcome, error) {
				return localrun.Outcome{}, errors.New("not there\nsecond line")
			}},
			{Title: "three", Do: counting},
		})
		assert.False(t, sum.OK())
		assert.Equal(t, 1, sum.Passed())
		assert.Zero(t, ran, "a step after a failure does not run")
		assert.Regexp(t, `(?m)^\[1/3\] one …\n  → fine \(\d+ ms\)\n    d\n\[2/3\] two …\n  ✗ FAILED: not there \(\d+ ms\)\n    second line\n\[3/3\] three → skipped\n$`, out.String())
	})
	t.Run("panic", func(t *testing.T) {
		sum := localrun.NewRunner(&bytes.Buffer{}).Run(context.Background(), []localrun.Step{
			{Title: "boom", Do: func(context.Context) (localrun.Outcome, error) { panic("nil map") }},
		})
		assert.ErrorContains(t, sum.Err(), "panic: nil map")
	})
	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errors.New("interrupt received"))
		sum := localrun.NewRunner(&bytes.Buffer{}).Run(ctx, []localrun.Step{{Title: "x", Do: counting}})
		assert.ErrorContains(t, sum.Err(), "interrupted: interrupt received")
		assert.Zero(t, ran)
	})
	t.Run("empty", func(t *testing.T) {
		assert.False(t, localrun.NewRunner(&bytes.Buffer{}).Run(context.Background(), nil).OK(), "no steps is no proof")
	})
}

func TestRunnerWrapsLongLinesAndShortensRepeatedARNs(t *testing.T) {
	arn := "arn:aws:iam::123456789012:role/trailguard/CloudTrail_CloudWatchLogs_Role"
	long := strings.Repeat("word ", 40)
	var out bytes.Buffer
	sum := localrun.NewRunner(&out).Run(context.Background(), []localrun.Step{
		{Title: "one", Do: func(context.Context) (localrun.Outcome, error) {
			return localrun.Outcome{Summary: "role " + arn, Details: []string{long, "again " + arn}}, nil
		}},
	})
	require.True(t, sum.OK())
	assertFits(t, out.String())
	assert.Equal(t, 1, strings.Count(out.String(), arn), "the ARN in full once")
	assert.Contains(t, out.String(), "again …role/trailguard/CloudTrail_CloudWatchLogs_Role")
	assert.Equal(t, 40, strings.Count(out.String(), "word"), "wrapping loses no word")
}
