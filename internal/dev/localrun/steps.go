package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
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

// Runner runs steps in order and stops at the first failure. It prints each step's title when the step starts
// (`[n/of] title …`), so a slow step is never silent, and its result when it ends (`→ summary (duration)` or
// `✗ FAILED: why`), followed by its details. Every line fits Width columns, and an ARN already printed in full is
// shortened to its resource part afterwards.
type Runner struct {
	out    io.Writer
	checks []Check
	now    func() time.Time
	seen   map[string]bool // ARNs printed in full
}

// Width is the most columns a line of a run takes: longer lines are wrapped at spaces.
const Width = 100

// NewRunner prints to out and verifies the extra checks after their steps.
func NewRunner(out io.Writer, checks ...Check) *Runner {
	return &Runner{out: out, checks: checks, now: time.Now, seen: map[string]bool{}}
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
		r.printf(0, "[%d/%d] %s …", res.N, res.Of, res.Title)
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
	switch {
	case errors.Is(res.Err, ErrSkipped):
		r.printf(0, "[%d/%d] %s → skipped", res.N, res.Of, res.Title)
		return
	case res.Err != nil:
		r.printf(resultIndent, "✗ FAILED: %s (%s)", firstLine(res.Err.Error()), Duration(res.Took))
		for _, l := range restLines(res.Err.Error()) {
			r.printf(detailIndent, "%s", l)
		}
	default:
		r.printf(resultIndent, "→ %s (%s)", res.Outcome.Summary, Duration(res.Took))
	}
	for _, d := range res.Outcome.Details {
		r.printf(detailIndent, "%s", d)
	}
}

// Indents of a step's result line and of its details.
const (
	resultIndent = 2
	detailIndent = 4
)

// printf prints one line, indented, with ARNs shown before shortened and long lines wrapped.
func (r *Runner) printf(indent int, format string, a ...any) {
	text := r.shorten(fmt.Sprintf(format, a...))
	// A detail keeps its own leading spaces (JSON, a message body) on top of the indent.
	trimmed := strings.TrimLeft(text, " ")
	indent += len(text) - len(trimmed)
	// Continuation lines sit a little to the right of the line they continue, unless a long word (an ARN) would
	// then not fit.
	next := indent + 2
	for _, w := range strings.Fields(trimmed) {
		next = max(0, min(next, Width-utf8.RuneCountInString(w)))
	}
	for i, l := range Wrap(trimmed, Width-max(indent, next)) {
		if i > 0 {
			indent = next
		}
		// A single word too long for its indent (an ARN on a line of its own) moves left rather than overflow.
		at := max(0, min(indent, Width-utf8.RuneCountInString(l)))
		if l == "" {
			at = 0 // no trailing spaces on an empty line
		}
		fmt.Fprintf(r.out, "%s%s\n", strings.Repeat(" ", at), l)
	}
}

var arnPattern = regexp.MustCompile(`arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:[^\s",]+`)

// shorten replaces each ARN printed before by "…" and its resource part (what follows the account id).
func (r *Runner) shorten(s string) string {
	return arnPattern.ReplaceAllStringFunc(s, func(arn string) string {
		if !r.seen[arn] {
			r.seen[arn] = true
			return arn
		}
		return "…" + ShortARN(arn)
	})
}

// ShortARN is an ARN's resource part: "trail/management-trail" for arn:aws:cloudtrail:us-east-1:123456789012:
// trail/management-trail.
func ShortARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return arn
	}
	return parts[5]
}

// Wrap splits s at spaces into lines of at most width runes; a word longer than width gets a line of its own.
func Wrap(s string, width int) []string {
	width = max(width, 20)
	var lines []string
	for utf8.RuneCountInString(s) > width {
		cut := -1
		n := 0
		for i, c := range s {
			if n > width {
				break
			}
			if c == ' ' && n > 0 {
				cut = i
			}
			n++
		}
		if cut <= 0 {
			// One long word: keep it whole up to the next space.
			if sp := strings.IndexByte(s, ' '); sp > 0 {
				cut = sp
			} else {
				break
			}
		}
		lines = append(lines, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut:], " ")
	}
	return append(lines, s)
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
