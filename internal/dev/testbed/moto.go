// Package testbed runs trailguard against an emulated AWS: moto's server on loopback, reached by the real
// aws-sdk-go-v2 clients through their endpoint setting, with injected faults for what moto cannot do, and a Lambda
// Runtime API for running the built bootstrap binaries. Tests and `make demo` share it.
package testbed

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/trailguard/trailguard/internal/awsconfig"
)

// Account is the account moto plays.
const Account = "123456789012"

// InstallHint tells a person how to get moto when it is missing.
const InstallHint = "moto_server not found: install it with `pip install 'moto[server]==5.2.1'` (Python 3.9+)"

// SkipAWS is the variable that, set to 1, turns a missing moto_server from a failure into skipped tests: an explicit
// choice, never the default, so that a machine without moto cannot pass the suite by testing nothing. CI ignores it.
const SkipAWS = "SKIP_AWS"

// skipAllowed says whether the person running the tests chose to skip what needs moto.
func skipAllowed() bool { return os.Getenv(SkipAWS) == "1" && os.Getenv("CI") == "" }

// ErrNoMoto means moto_server is not installed.
var ErrNoMoto = errors.New(InstallHint)

// Server is the emulated AWS: one moto_server process, or several behind one endpoint (SplitServices).
type Server struct {
	url string
	// procs are the moto_server processes; procs[0] answers every service that no other one was given.
	procs []*motoProcess
	// bySigningName is the process of each service given one of its own (SplitServices).
	bySigningName map[string]*motoProcess
	// router is the endpoint in front of several processes; nil with one.
	router *http.Server

	mu sync.Mutex
	// failures are moto's 5xx answers to this process's calls, most recent last, at most maxFailures.
	failures []string
}

// maxFailures bounds the 5xx answers a Server remembers.
const maxFailures = 20

// motoProcess is one running moto_server.
type motoProcess struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	// spedUp is whether moto said that sitecustomize.py took effect.
	spedUp atomic.Bool
	// forward sends a call routed to this process on to it.
	forward *httputil.ReverseProxy
}

// LaunchOption changes how Launch runs moto.
type LaunchOption func(*launchOptions)

type launchOptions struct {
	groups [][]string
	// plain runs moto without motoBoot: only for the test that compares the two.
	plain bool
}

// SplitServices gives each group of services, named as they sign their calls ("iam", "logs", "dynamodb"), a
// moto_server process of its own, every other service sharing one more, all behind one endpoint that routes each
// call by the service it is signed for. AWS's services answer calls in parallel, where one moto_server answers them
// one after another (one Python process): what a benchmark of parallel calls measures with one process is mostly
// that queue. What one service keeps, another process does not see: CloudTrail checks a trail's S3 bucket and SNS
// topic in its own process, EventBridge writes to its targets (CloudWatch Logs among them) in its own, and
// credentials from STS AssumeRole are known only to STS's process. Split only services whose calls never rely on
// another's state, as the benchmark's IAM, CloudWatch Logs, DynamoDB and SNS calls do not.
func SplitServices(groups ...[]string) LaunchOption {
	return func(o *launchOptions) { o.groups = append(o.groups, groups...) }
}

// Launch starts moto_server on a free 127.0.0.1 port, or several (SplitServices), and waits until each answers.
// Stop it with Stop.
func Launch(ctx context.Context, opts ...LaunchOption) (*Server, error) {
	var o launchOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNoMoto
	}
	s := &Server{procs: make([]*motoProcess, 1+len(o.groups)), bySigningName: map[string]*motoProcess{}}
	errs := make([]error, len(s.procs))
	var wg sync.WaitGroup
	for i := range s.procs {
		wg.Go(func() { s.procs[i], errs[i] = startMoto(ctx, bin, !o.plain) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.Stop()
		return nil, err
	}
	for i, group := range o.groups {
		for _, name := range group {
			s.bySigningName[name] = s.procs[i+1]
		}
	}
	if len(s.procs) == 1 {
		s.url = s.procs[0].url
		return s, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("start the moto router: %w", err)
	}
	s.url = "http://" + l.Addr().String()
	s.router = &http.Server{Handler: http.HandlerFunc(s.route), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.router.Serve(l) }()
	return s, nil
}

// route sends a call to the process of the service it is signed for.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p, ok := s.bySigningName[signingName(r.Header.Get("Authorization"))]
	if !ok {
		p = s.procs[0]
	}
	p.forward.ServeHTTP(w, r)
}

// startMoto starts one moto_server and waits until it answers.
//
// moto picks the port itself (-p 0) and startMoto reads it from the line moto prints: choosing a free port here and
// passing it on would leave a window in which another process, such as a second test run's moto, takes it, and this
// run would then talk to that one's moto until it stops.
func startMoto(ctx context.Context, bin string, boosted bool) (*motoProcess, error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	boot, err := writeMotoBoot(boosted)
	if err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	cmd.Env = withPythonPath(motoEnv(os.Environ()), boot)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so stop also ends the workers moto may fork
	// moto logs every request to stderr: a pipe drained for the server's whole life, echoed with TRAILGUARD_MOTO_LOG.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = startChild(cmd)
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	p := &motoProcess{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	urls := make(chan string, 1)
	go p.readOutput(r, urls, os.Getenv("TRAILGUARD_MOTO_LOG") != "")
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	select {
	case p.url = <-urls:
	case <-p.done:
		return nil, errors.New("moto_server exited before it said which port it listens on (set TRAILGUARD_MOTO_LOG=1 to see why)")
	case <-ctx.Done():
		p.stop()
		return nil, errors.New("moto_server did not say which port it listens on within 60 s")
	}
	if err := p.waitReady(ctx, 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	u, _ := url.Parse(p.url)
	p.forward = forwarder(u)
	return p, nil
}

// motoEnv is the caller's environment without anything that configures AWS or botocore (AWS_PROFILE naming a
// profile that does not exist, AWS_CONFIG_FILE, real credentials): moto runs botocore itself, which fails on such
// settings with a bare 500, and moto must never see a person's real credentials. It gets fixed fake ones instead.
func motoEnv(environ []string) []string {
	env := make([]string, 0, len(environ)+7)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "BOTO_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_DEFAULT_REGION="+Region,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
}

// motoBoot is a sitecustomize.py that makes moto_server answer faster without changing what it answers (see the
// file). It prints bootTookEffect when it took effect.
//
//go:embed motoboot/sitecustomize.py
var motoBoot []byte

const bootTookEffect = "trailguard-testbed: moto sped up"

// awsGaps adds to moto what AWS does and moto 5.2.1 does not (log group deletion protection, AssociateKmsKey), in
// one place, for every moto_server the test bed starts, sped up or not: see the file, and awsgaps_test.go.
//
//go:embed motoboot/awsgaps.py
var awsGaps []byte

// writeMotoBoot writes the emulation of AWS's missing behaviour and a sitecustomize.py that loads it and, when
// boosted, speeds moto up, into dist/motoboot/<hash of the files>/ in the checkout (build output, ignored by git),
// and returns that folder for the server's PYTHONPATH. It is never removed and never in the OS temp directory: a
// process killed before its cleanup (TestMotoDiesWithItsParent kills one on purpose) leaves nothing behind, and
// servers started at once share it. The files are written into a staging folder beside it that is renamed into
// place, so a server never reads half of them.
func writeMotoBoot(boosted bool) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	parent := filepath.Join(root, "dist", "motoboot")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	stage, err := os.MkdirTemp(parent, ".staging-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage) // gone after the rename, or left unused
	site := []byte("import trailguard_awsgaps  # noqa: F401 (what AWS does and moto lacks)\n" +
		"import emulate_put_metric_filter, emulate_alarm_actions  # noqa: F401 (the CIS pack's: emulate_metric_filters.go)\n")
	if boosted {
		site = append(site, motoBoot...)
	}
	for name, body := range map[string][]byte{"trailguard_awsgaps.py": awsGaps, "sitecustomize.py": site} {
		if err := os.WriteFile(filepath.Join(stage, name), body, 0o644); err != nil {
			return "", err
		}
	}
	if err := writeEmulations(stage); err != nil {
		return "", err
	}
	sum, err := folderHash(stage)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(parent, sum)
	if _, err := os.Stat(filepath.Join(dir, "sitecustomize.py")); err == nil {
		return dir, nil
	}
	if err := os.Rename(stage, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "sitecustomize.py")); serr == nil {
			return dir, nil // another server put the same files there first
		}
		return "", err
	}
	return dir, nil
}

// folderHash names a folder's files and contents: 16 hex digits of their SHA-256.
func folderHash(dir string) (string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range entries {
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(body))
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// withPythonPath puts dir first on env's PYTHONPATH, keeping what was there.
func withPythonPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	path := dir
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
			if v != "" {
				path += string(os.PathListSeparator) + v
			}
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PYTHONPATH="+path)
}

// SpedUp says whether every moto_server process runs with the test bed's speed-up
// (motoboot/sitecustomize.py): false with a moto other than 5.2.1 that lacks what it changes, which then runs
// unchanged and slower.
func (s *Server) SpedUp() bool {
	for _, p := range s.procs {
		if !p.spedUp.Load() {
			return false
		}
	}
	return true
}

var runningOn = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// readOutput sends the URL moto says it runs on to urls, notes whether the speed-up took effect, and drains moto's
// output until moto ends.
func (p *motoProcess) readOutput(r io.ReadCloser, urls chan<- string, echo bool) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	found := false
	for sc.Scan() {
		if echo {
			fmt.Fprintln(os.Stderr, sc.Text())
		}
		if sc.Text() == bootTookEffect {
			p.spedUp.Store(true)
		}
		if m := runningOn.FindStringSubmatch(sc.Text()); m != nil && !found {
			found = true
			urls <- m[1]
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

func (p *motoProcess) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/moto-api/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("moto_server exited before it answered on %s (set TRAILGUARD_MOTO_LOG=1 to see why)", p.url)
		case <-ctx.Done():
			return fmt.Errorf("moto_server did not answer on %s within %s", p.url, limit)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PIDs are the moto_server process ids, the one that answers every other service first.
func (s *Server) PIDs() []int {
	var out []int
	for _, p := range s.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// URL is the server's endpoint, e.g. http://127.0.0.1:5123.
func (s *Server) URL() string { return s.url }

// Reset empties every emulated service.
func (s *Server) Reset(ctx context.Context) error {
	for _, p := range s.procs {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/moto-api/reset", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("reset moto: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("reset moto: %s", resp.Status)
		}
	}
	s.mu.Lock()
	s.failures = nil
	s.mu.Unlock()
	return nil
}

// Stop ends every moto_server process with its process group, and the router.
func (s *Server) Stop() {
	if s == nil {
		return
	}
	if s.router != nil {
		_ = s.router.Close()
	}
	var wg sync.WaitGroup
	for _, p := range s.procs {
		if p != nil {
			wg.Go(p.stop)
		}
	}
	wg.Wait()
}

func (p *motoProcess) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// ConfigOption adds test plumbing to a Config.
type ConfigOption func(*configOptions)

type configOptions struct {
	faults   *Faults
	recorder *Recorder
}

// WithFaults injects the faults' errors into matching calls.
func WithFaults(f *Faults) ConfigOption { return func(o *configOptions) { o.faults = f } }

// WithRecorder records every call made through the configuration, faulted ones included.
func WithRecorder(r *Recorder) ConfigOption { return func(o *configOptions) { o.recorder = r } }

// Config returns an SDK configuration for the server: the given region, static credentials, trailguard's own
// retryer with a short backoff (so tests of throttling stay quick), and the requested faults and recorder.
func (s *Server) Config(region string, opts ...ConfigOption) aws.Config {
	var o configOptions
	for _, opt := range opts {
		opt(&o)
	}
	var rt http.RoundTripper = &failureTransport{next: wholeMillisTransport{http.DefaultTransport}, s: s}
	if o.faults != nil {
		rt = &faultTransport{next: rt, faults: o.faults}
	}
	if o.recorder != nil {
		rt = &recordingTransport{next: rt, rec: o.recorder}
	}
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(s.url),
		HTTPClient:   &http.Client{Transport: rt},
		Retryer: func() aws.Retryer {
			return awsconfig.NewRetryer(func(so *retry.StandardOptions) {
				so.Backoff = retry.NewExponentialJitterBackoff(50 * time.Millisecond)
			})
		},
	}
}

// wholeMillisTransport rounds the fractional log event timestamps moto writes for an EventBridge rule's log group
// target (moto 5.2.1 stores them as float milliseconds) down to the whole milliseconds CloudWatch Logs answers
// with: the SDK refuses a fractional timestamp, so a test could not read what the rule delivered.
type wholeMillisTransport struct{ next http.RoundTripper }

var fractionalMillis = regexp.MustCompile(`("(?:timestamp|ingestionTime)":\s*)(\d+)\.\d+`)

func (t wholeMillisTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "Logs_") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = fractionalMillis.ReplaceAll(body, []byte("${1}${2}"))
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// failureTransport remembers moto's 5xx answers with their bodies: the SDK turns them into an opaque error, and
// the body is often the only clue to what broke inside moto.
type failureTransport struct {
	next http.RoundTripper
	s    *Server
}

func (t *failureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode < 500 {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	service, op := wireCall(r, nil)
	if op == "" {
		op = r.Header.Get("X-Amz-Target")
	}
	t.s.addFailure(fmt.Sprintf("moto answered %s to %s %s %s: %s", resp.Status, service, op, r.URL.Path, bodyText(body)))
	return resp, nil
}

func (s *Server) addFailure(f string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
	if len(s.failures) > maxFailures {
		s.failures = s.failures[len(s.failures)-maxFailures:]
	}
}

// Failures are moto's 5xx answers to this process's calls since it started or was last Reset, each with the
// response body (HTML reduced to its text), most recent last.
func (s *Server) Failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.failures...)
}

var tags = regexp.MustCompile(`<[^>]*>`)

// bodyText is a response body on one line: an HTML error page reduced to its text, cut at 500 characters.
func bodyText(b []byte) string {
	s := strings.Join(strings.Fields(tags.ReplaceAllString(string(b), " ")), " ")
	if s == "" {
		return "(empty body)"
	}
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

// Env is the environment a child process (a bootstrap binary, the AWS CLI) needs to reach the server.
func (s *Server) Env(region string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.url, "AWS_REGION=" + region, "AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

// shared is the package's moto_server, started by RunWithMoto.
var shared *Server

// noMoto is why shared is nil.
var noMoto error

// RunWithMoto runs a package's tests with one moto_server for all of them: call it from TestMain. Without moto the
// run fails with one line saying how to install it, unless SKIP_AWS=1 (outside CI), which skips the tests that need
// it instead.
func RunWithMoto(m interface{ Run() int }) int {
	s, err := Launch(context.Background())
	if err != nil {
		noMoto = err
		if !skipAllowed() {
			fmt.Fprintf(os.Stderr, "testbed: %v; or set %s=1 to skip the tests that need it\n", err, SkipAWS)
			return 1
		}
	}
	shared = s
	code := m.Run()
	s.Stop()
	return code
}

// Moto is the shared server as one test sees it.
type Moto struct {
	*Server
}

// StartMoto gives a test an emptied moto. The package's TestMain must use RunWithMoto. Tests that use it must not
// run in parallel with each other: they share one server.
func StartMoto(t T) *Moto {
	t.Helper()
	if shared == nil {
		if noMoto == nil {
			t.Fatal("testbed.StartMoto needs TestMain to call testbed.RunWithMoto")
		}
		skipWithout(t, "moto_server", noMoto)
	}
	if err := shared.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	CaptureDefaultLog(t)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, f := range shared.Failures() {
			t.Log(f)
		}
	})
	return &Moto{shared}
}

// NeedMoto is for tests that start moto_server themselves (the demo, the benchmark harness): without it they fail,
// unless SKIP_AWS=1 (outside CI), which skips them.
func NeedMoto(t T) {
	t.Helper()
	if _, err := exec.LookPath("moto_server"); err != nil {
		skipWithout(t, "moto_server", ErrNoMoto)
	}
}

// skipWithout fails a test that cannot run without what, or skips it when the person chose SKIP_AWS=1.
func skipWithout(t T, what string, why error) {
	t.Helper()
	if !skipAllowed() {
		t.Fatalf("this test cannot run without %s: %v; or set %s=1 to skip it", what, why, SkipAWS)
	}
	t.Skipf("%s=1: no %s", SkipAWS, what)
}

// NeedFile fails a test that reads a build output, such as dist/provider.zip from `make build`, when it is missing.
func NeedFile(t T, path, madeBy string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `%s` first: %v", path, madeBy, err)
	}
}

// isRead says whether an operation only reads, by the AWS naming convention.
func isRead(operation string) bool {
	for _, p := range []string{"Get", "Describe", "List", "Head", "Scan", "Query", "BatchGet", "Lookup"} {
		if strings.HasPrefix(operation, p) {
			return true
		}
	}
	return false
}
