package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Step is one thing a run does and then checks: Do returns what happened, or an error saying what did not happen
// as the title promises. The runner numbers steps in order (Result.N).
type Step struct {
	Title string
	Do    func(ctx context.Context) (Outcome, error)
}

// Outcome is what a step that did what it says shows: a one-line summary and indented detail lines.
type Outcome struct {
	Summary string
	Details []string
}

// Result is one step as it ran.
type Result struct {
	N, Of   int
	Title   string
	Outcome Outcome
	// Err is why the step failed; nil when it passed. Skipped steps carry ErrSkipped.
	Err  error
	Took time.Duration
}

// Passed reports whether the step did what it says.
func (r Result) Passed() bool { return r.Err == nil }

// ErrSkipped marks the steps after a failed one: each step builds on the previous ones, so they are not run.
var ErrSkipped = errors.New("skipped: an earlier step failed")

// StepError is a failed step, for errors.As.
type StepError struct {
	N     int
	Title string
	Err   error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %d (%s): %v", e.N, e.Title, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Summary is a finished run.
type Summary struct {
	Results []Result
	Took    time.Duration
}

// OK reports whether every step passed.
func (s Summary) OK() bool { return s.Err() == nil && len(s.Results) > 0 }

// Passed counts the steps that passed.
func (s Summary) Passed() int {
	n := 0
	for _, r := range s.Results {
		if r.Passed() {
			n++
		}
	}
	return n
}

// Err is the first failed step as a *StepError, or nil.
func (s Summary) Err() error {
	for _, r := range s.Results {
		if !r.Passed() {
			return &StepError{N: r.N, Title: r.Title, Err: r.Err}
		}
	}
	return nil
}

// Check is an extra condition verified after a step's own work; the step fails if it returns an error.
type Check struct {
	Step int
	Name string
	Fn   func(ctx context.Context) error
}

// Runner runs steps in order and prints each as one line, `[n/of] title → summary (duration)`, followed by its
// details, and stops at the first failure.
type Runner struct {
	out    io.Writer
	checks []Check
	now    func() time.Time
}

// NewRunner prints to out and verifies the extra checks after their steps.
func NewRunner(out io.Writer, checks ...Check) *Runner {
	return &Runner{out: out, checks: checks, now: time.Now}
}

// Run runs the steps. A step that fails, or whose context ends, marks every later step skipped.
func (r *Runner) Run(ctx context.Context, steps []Step) Summary {
	start := r.now()
	sum := Summary{Results: make([]Result, 0, len(steps))}
	failed := false
	for i, st := range steps {
		res := Result{N: i + 1, Of: len(steps), Title: st.Title}
		if failed {
			res.Err = ErrSkipped
			r.print(res)
			sum.Results = append(sum.Results, res)
			continue
		}
		t0 := r.now()
		res.Outcome, res.Err = r.do(ctx, res.N, st)
		res.Took = r.now().Sub(t0)
		r.print(res)
		sum.Results = append(sum.Results, res)
		failed = res.Err != nil
	}
	sum.Took = r.now().Sub(start)
	return sum
}

func (r *Runner) do(ctx context.Context, n int, st Step) (out Outcome, err error) {
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	out, err = st.Do(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		return out, err
	}
	for _, c := range r.checks {
		if c.Step != n {
			continue
		}
		if cerr := c.Fn(ctx); cerr != nil {
			return out, fmt.Errorf("check %q: %w", c.Name, cerr)
		}
	}
	return out, nil
}

func (r *Runner) print(res Result) {
	prefix := fmt.Sprintf("[%d/%d] %s", res.N, res.Of, res.Title)
	switch {
	case errors.Is(res.Err, ErrSkipped):
		fmt.Fprintf(r.out, "%s → skipped\n", prefix)
		return
	case res.Err != nil:
		fmt.Fprintf(r.out, "%s ✗ FAILED: %s (%s)\n", prefix, firstLine(res.Err.Error()), Duration(res.Took))
		for _, l := range restLines(res.Err.Error()) {
			fmt.Fprintf(r.out, "      %s\n", l)
		}
	default:
		fmt.Fprintf(r.out, "%s → %s (%s)\n", prefix, res.Outcome.Summary, Duration(res.Took))
	}
	for _, d := range res.Outcome.Details {
		fmt.Fprintf(r.out, "      %s\n", d)
	}
}

// PrintSummary writes the closing lines of a run.
func PrintSummary(out io.Writer, what string, s Summary) {
	if s.OK() {
		fmt.Fprintf(out, "%s: all %d steps passed in %s\n", what, len(s.Results), Duration(s.Took))
		return
	}
	fmt.Fprintf(out, "%s FAILED: %d of %d steps passed in %s; %v\n", what, s.Passed(), len(s.Results), Duration(s.Took),
		firstLine(s.Err().Error()))
}

// Duration prints d for a person: milliseconds under ten seconds, tenths of a second above.
func Duration(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func restLines(s string) []string {
	_, rest, found := strings.Cut(s, "\n")
	if !found || strings.TrimSpace(rest) == "" {
		return nil
	}
	return strings.Split(strings.TrimRight(rest, "\n"), "\n")
}
