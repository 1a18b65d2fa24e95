package testbed

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// Logs collects log output written from several goroutines or a child process: the JSON lines tests inspect.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines are the lines written so far, without the trailing empty one.
func (l *Logs) Lines() []string {
	s := strings.TrimSpace(l.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestLogger is a JSON logger for code under test whose output is shown only if the test fails, after the test's
// own messages: a passing test prints nothing, and a failing one shows its assertion first, then what led to it.
func TestLogger(t T) *slog.Logger {
	logs := &Logs{}
	t.Cleanup(func() { showIfFailed(t, logs) })
	return slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// CaptureDefaultLog sends slog's default logger, which code under test uses when it is given none, to a
// TestLogger for the test's duration. StartMoto calls it; tests that use it must not run in parallel.
func CaptureDefaultLog(t T) {
	prev := slog.Default()
	slog.SetDefault(TestLogger(t))
	t.Cleanup(func() { slog.SetDefault(prev) })
}

func showIfFailed(t T, logs *Logs) {
	lines := logs.Lines()
	if !t.Failed() || len(lines) == 0 {
		return
	}
	t.Logf("log output of %s (%d lines):\n%s", t.Name(), len(lines), strings.Join(lines, "\n"))
}

// T is the part of testing.TB the test bed uses. It is declared here rather than taken from package testing so
// that the demo and benchmark binaries, which link this package, do not link package testing (and its flags).
type T interface {
	Helper()
	Cleanup(func())
	Failed() bool
	Name() string
	Log(args ...any)
	Logf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}
