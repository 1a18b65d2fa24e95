// Command cdkrun runs the pinned CDK CLI for the Makefile's CDK targets (synth, bootstrap, diff, deploy, destroy)
// and shows its output without the noise a person cannot act on, as it comes (a prompt such as deploy's approval
// question is shown while the CLI waits for the answer):
//
//   - the count of CDK feature flags left at their defaults (the app sets those it relies on);
//   - the hint to name a stack that --quiet prints;
//   - jsii-runtime-go's "Runtime process exited abnormally: waitid: no child processes", printed without a newline
//     when jsii.Close's Wait races its own watcher's Wait on a node process that already exited normally
//     (jsii-runtime-go internal/kernel/process);
//   - with -drop-empty (synth), empty lines.
//
// When the CLI finds no AWS credentials it prints a generic error next to a stack trace; cdkrun shows one line
// instead, saying how to give them, and exits with the CLI's code.
//
//	cdkrun [-drop-empty] -- node_modules/.bin/cdk deploy trailguard ...
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"time"
)

func main() {
	dropEmpty := flag.Bool("drop-empty", false, "drop empty lines")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: cdkrun [-drop-empty] -- COMMAND [ARG...]")
		os.Exit(2)
	}
	os.Exit(run(flag.Args(), *dropEmpty))
}

func run(args []string, dropEmpty bool) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = os.Stdin
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdkrun:", err)
		return 1
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "cdkrun:", err)
		return 1
	}
	w.Close()
	f := &Filter{Out: os.Stdout, DropEmpty: dropEmpty}
	f.Copy(r, idleFlush)
	err = cmd.Wait()
	if f.NoCredentials {
		fmt.Println(NoCredentials)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdkrun:", err)
		return 1
	}
	return 0
}

// idleFlush is how long a line without its newline waits before it is shown: a prompt ends without one.
const idleFlush = 300 * time.Millisecond

// NoCredentials is the one line shown instead of the CLI's error when it found no AWS credentials.
const NoCredentials = "no AWS credentials: export AWS_PROFILE (or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), AWS_REGION"

var (
	noise = []*regexp.Regexp{
		regexp.MustCompile(`feature flags are not configured`),
		regexp.MustCompile(`^Supply a stack id`),
	}
	jsiiWaitid = []byte("Runtime process exited abnormally: waitid: no child processes")
	// noCredentials are the CLI's words for "no credentials" (aws-cdk 2.1148: the first when the account cannot be
	// resolved for an environment-agnostic stack, the others from the SDK's credential chain).
	noCredentials = regexp.MustCompile(`Unable to resolve AWS account to use|Need to perform AWS calls for account|` +
		`Could not load credentials from any providers|Unable to locate credentials`)
)

// Filter copies the CLI's output to Out line by line, leaving out the noise.
type Filter struct {
	Out       io.Writer
	DropEmpty bool
	// NoCredentials is set once the CLI said it has no credentials; from then on its output is dropped.
	NoCredentials bool
	pending       []byte // the current line, not yet shown
	shown         bool   // part of the current line was already shown (a prompt)
}

// Copy reads r to its end, showing a partial line once no more output came for idle.
func (f *Filter) Copy(r io.Reader, idle time.Duration) {
	chunks := make(chan []byte)
	go func() {
		defer close(chunks)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				chunks <- bytes.Clone(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		select {
		case c, ok := <-chunks:
			if !ok {
				f.flushPartial()
				return
			}
			f.Write(c)
			timer.Reset(idle)
		case <-timer.C:
			f.flushPartial()
		}
	}
}

// Write takes output as it comes and shows its complete lines.
func (f *Filter) Write(p []byte) {
	f.pending = append(f.pending, p...)
	for {
		i := bytes.IndexByte(f.pending, '\n')
		if i < 0 {
			return
		}
		f.line(f.pending[:i+1])
		f.pending = f.pending[i+1:]
		f.shown = false
	}
}

func (f *Filter) line(l []byte) {
	l = bytes.ReplaceAll(l, jsiiWaitid, nil)
	text := bytes.TrimRight(l, "\r\n")
	if noCredentials.Match(text) {
		f.NoCredentials = true
	}
	if f.NoCredentials {
		return
	}
	if !f.shown {
		if f.DropEmpty && len(bytes.TrimSpace(text)) == 0 {
			return
		}
		for _, n := range noise {
			if n.Match(text) {
				return
			}
		}
	}
	_, _ = f.Out.Write(l)
}

// flushPartial shows the current line so far (a prompt waiting for an answer), unless it may still become noise.
func (f *Filter) flushPartial() {
	if len(f.pending) == 0 || f.NoCredentials {
		return
	}
	p := bytes.ReplaceAll(f.pending, jsiiWaitid, nil)
	if len(p) == 0 || bytes.HasPrefix(jsiiWaitid, p) {
		return
	}
	_, _ = f.Out.Write(p)
	f.pending, f.shown = f.pending[:0], true
}
