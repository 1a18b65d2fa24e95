package main

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFilterDropsTheNoiseAndKeepsTheRest(t *testing.T) {
	var out strings.Builder
	f := &Filter{Out: &out, DropEmpty: true}
	f.Write([]byte("Bundling asset\n\n12 feature flags are not configured. Run 'cdk flags --unstable=flags' to learn more.\n"))
	f.Write([]byte("Runtime process exited abnormally: waitid: no child processesSupply a stack id (trailguard) to display its template.\n"))
	f.Write([]byte("trailguard: deploying... [1/1]\n"))
	f.Copy(strings.NewReader(""), time.Second)
	assert.Equal(t, "Bundling asset\ntrailguard: deploying... [1/1]\n", out.String())
	assert.False(t, f.NoCredentials)
}

// A prompt ends without a newline and must be shown while the CLI waits for its answer.
func TestFilterShowsAPromptWhileTheCLIWaits(t *testing.T) {
	var out safeBuilder
	r, w := io.Pipe()
	f := &Filter{Out: &out}
	done := make(chan struct{})
	go func() { f.Copy(r, 50*time.Millisecond); close(done) }()
	_, _ = w.Write([]byte("Do you wish to deploy these changes (y/n)? "))
	assert.Eventually(t, func() bool { return out.String() == "Do you wish to deploy these changes (y/n)? " },
		10*time.Second, 10*time.Millisecond, "the prompt is shown before the answer")
	_, _ = w.Write([]byte("\ntrailguard: deploying...\n"))
	w.Close()
	<-done
	assert.Equal(t, "Do you wish to deploy these changes (y/n)? \ntrailguard: deploying...\n", out.String())
}

func TestFilterSaysInOneLineThatCredentialsAreMissing(t *testing.T) {
	var out strings.Builder
	f := &Filter{Out: &out}
	f.Write([]byte("Unable to resolve AWS account to use. It must be either configured when you define your CDK " +
		"Stack, or through the environment\n    at stack trace line\n"))
	f.Copy(strings.NewReader(""), time.Second)
	assert.True(t, f.NoCredentials)
	assert.Empty(t, out.String(), "the CLI's error and its stack trace are replaced by NoCredentials")
	assert.LessOrEqual(t, len(NoCredentials), 100)
	assert.Contains(t, NoCredentials, "AWS_PROFILE")
}

type safeBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *safeBuilder) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The filter never hides a failure: the CLI's exit code is cdkrun's, also when its output was all noise.
func TestRunKeepsTheExitCode(t *testing.T) {
	assert.Equal(t, 3, run([]string{"sh", "-c", "echo '12 feature flags are not configured'; exit 3"}, false))
	assert.Equal(t, 0, run([]string{"true"}, false))
	assert.Equal(t, 1, run([]string{"/nonexistent/cdk"}, false))
}
