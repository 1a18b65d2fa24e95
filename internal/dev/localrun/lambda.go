package localrun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// FunctionDeadline is the deadline each invocation gets, as the function's configured Lambda timeout would give.
const FunctionDeadline = 60 * time.Second

// Lambda is one built bootstrap binary running against its own Runtime API, its log lines going to a file.
type Lambda struct {
	Name string
	// LogPath is the file holding the function's stdout and stderr (its JSON log lines).
	LogPath string
	rt      *testbed.Runtime
	fn      *testbed.Function
	logs    *os.File
	once    sync.Once
}

// StartLambda builds functions/<name> for this machine and starts it as Lambda would, with env added to the
// Lambda variables. The log file at logPath is truncated.
func StartLambda(name string, env []string, logPath string) (*Lambda, error) {
	return StartLambdaAs(name, testbed.LocalFunctionARN, env, logPath)
}

// StartLambdaAs is StartLambda for the function functionARN names: each invocation carries that ARN, from which
// the function takes its own account, as in Lambda.
func StartLambdaAs(name, functionARN string, env []string, logPath string) (*Lambda, error) {
	bootstrap, err := testbed.BuildFunction(name)
	if err != nil {
		return nil, err
	}
	logs, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("open the log file of %s: %w", name, err)
	}
	rt, err := testbed.StartRuntimeFor(functionARN)
	if err != nil {
		logs.Close()
		return nil, err
	}
	fn, err := testbed.StartFunction(bootstrap, rt, env, logs)
	if err != nil {
		rt.Close()
		logs.Close()
		return nil, err
	}
	return &Lambda{Name: name, LogPath: logPath, rt: rt, fn: fn, logs: logs}, nil
}

// Invoke hands the function one event and waits for its answer. It fails, with the end of the log, if the process
// exits instead of answering (e.g. a missing environment variable at start-up).
func (l *Lambda) Invoke(ctx context.Context, payload []byte) (testbed.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-ctx.Done():
		case <-l.fn.Done():
			cancel(fmt.Errorf("the %s process exited (%v); its log ends with:\n%s", l.Name, l.fn.Err(), l.tailText(5)))
		}
	}()
	res, err := l.rt.Invoke(ctx, payload, FunctionDeadline)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return res, fmt.Errorf("invoke %s: %w", l.Name, cause)
		}
		return res, fmt.Errorf("invoke %s: %w", l.Name, err)
	}
	return res, nil
}

// Running reports whether the process is still up.
func (l *Lambda) Running() bool {
	select {
	case <-l.fn.Done():
		return false
	default:
		return true
	}
}

// Tail is the last n lines of the function's log.
func (l *Lambda) Tail(n int) ([]string, error) {
	f, err := os.Open(l.LogPath)
	if err != nil {
		return nil, fmt.Errorf("read the log of %s: %w", l.Name, err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the log of %s: %w", l.Name, err)
	}
	return lines, nil
}

func (l *Lambda) tailText(n int) string {
	lines, err := l.Tail(n)
	if err != nil {
		return err.Error()
	}
	return "  " + strings.Join(lines, "\n  ")
}

// Close stops the process and its Runtime API.
func (l *Lambda) Close() {
	l.once.Do(func() {
		l.fn.Stop()
		l.rt.Close()
		l.logs.Close()
	})
}

// PeakRSS is the most resident memory the function's process has used so far, in bytes.
func (l *Lambda) PeakRSS() (int64, error) { return l.fn.PeakRSS() }
