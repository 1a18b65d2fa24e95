package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Runtime is a local Lambda Runtime API (2018-06-01): a built bootstrap polls it for invocations and posts results,
// exactly as it does inside Lambda. Invoke hands it one event and waits for the answer.
type Runtime struct {
	srv     *http.Server
	addr    string
	next    chan *invocation
	mu      sync.Mutex
	pending map[string]*invocation
	seq     int
	initErr chan []byte
	// functionARN is the invoked function ARN each invocation carries: the functions read their own account from it.
	functionARN string
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan Response
}

// Response is what the function posted for one invocation.
type Response struct {
	RequestID string
	// Payload is the body of /response, or nil.
	Payload []byte
	// Error is the body of /error (errorMessage, errorType), or nil.
	Error *FunctionError
}

// FunctionError is the error document a runtime posts.
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// LocalFunctionARN is the invoked function ARN StartRuntime gives invocations: a function of the sample account.
const LocalFunctionARN = "arn:aws:lambda:" + Region + ":" + Account + ":function:trailguard-local"

// StartRuntime serves the Runtime API on a free 127.0.0.1 port, for a function of the sample account.
func StartRuntime() (*Runtime, error) { return StartRuntimeFor(LocalFunctionARN) }

// StartRuntimeFor serves the Runtime API for the function functionARN names: its invocations carry that ARN, as
// Lambda's do, so a function of another account or region (an organization's member) sees its own identity.
func StartRuntimeFor(functionARN string) (*Runtime, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	r := &Runtime{addr: l.Addr().String(), next: make(chan *invocation), pending: map[string]*invocation{}, initErr: make(chan []byte, 1),
		functionARN: functionARN}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", r.serveResult)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", r.serveResult)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		select {
		case r.initErr <- b:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

// Addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return r.addr }

// Close stops the server.
func (r *Runtime) Close() { _ = r.srv.Close() }

func (r *Runtime) serveNext(w http.ResponseWriter, req *http.Request) {
	select {
	case inv := <-r.next:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", r.functionARN)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-req.Context().Done():
	}
}

func (r *Runtime) serveResult(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	inv := r.pending[id]
	delete(r.pending, id)
	r.mu.Unlock()
	if inv == nil {
		http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
		return
	}
	res := Response{RequestID: id}
	if strings.HasSuffix(req.URL.Path, "/error") {
		res.Error = &FunctionError{}
		if err := json.Unmarshal(body, res.Error); err != nil {
			res.Error.Message = string(body)
		}
	} else {
		res.Payload = body
	}
	inv.done <- res
	w.WriteHeader(http.StatusAccepted)
}

// Invoke gives the function one event with the given timeout (the deadline the function sees) and waits for its
// answer, or for ctx to end.
func (r *Runtime) Invoke(ctx context.Context, payload []byte, timeout time.Duration) (Response, error) {
	r.mu.Lock()
	r.seq++
	inv := &invocation{
		id: fmt.Sprintf("00000000-0000-4000-8000-%012d", r.seq), payload: payload,
		deadline: time.Now().Add(timeout), done: make(chan Response, 1),
	}
	r.pending[inv.id] = inv
	r.mu.Unlock()
	select {
	case r.next <- inv:
	case b := <-r.initErr:
		return Response{}, fmt.Errorf("function failed to start: %s", b)
	case <-ctx.Done():
		return Response{}, fmt.Errorf("no function polled for the invocation: %w", ctx.Err())
	}
	select {
	case res := <-inv.done:
		return res, nil
	case <-ctx.Done():
		return Response{}, fmt.Errorf("function did not answer invocation %s: %w", inv.id, ctx.Err())
	}
}

// Function is a bootstrap binary running against a Runtime.
type Function struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartFunction runs bootstrap as Lambda would: AWS_LAMBDA_RUNTIME_API and the usual Lambda variables set, plus env.
// Its stdout and stderr (the JSON log lines) go to logs.
func StartFunction(bootstrap string, rt *Runtime, env []string, logs io.Writer) (*Function, error) {
	cmd := exec.Command(bootstrap)
	name := filepath.Base(filepath.Dir(bootstrap))
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"AWS_LAMBDA_RUNTIME_API=" + rt.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=" + name, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name, "AWS_LAMBDA_LOG_STREAM_NAME=2026/11/25/[$LATEST]local",
	}, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := startChild(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", bootstrap, err)
	}
	f := &Function{cmd: cmd, done: make(chan struct{})}
	go func() { f.err = cmd.Wait(); close(f.done) }()
	return f, nil
}

// Stop ends the function's process.
func (f *Function) Stop() {
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	<-f.done
}

// Done is closed when the process has ended; Err then says how.
func (f *Function) Done() <-chan struct{} { return f.done }

// Err is how the process ended (nil for a clean exit). Read it after Done is closed.
func (f *Function) Err() error { return f.err }

var builds sync.Map // function name → *build

type build struct {
	once sync.Once
	path string
	err  error
}

// BuildFunction builds functions/<name> for this machine with the Lambda build tags, once per process, into
// dist/local/<name>/bootstrap (dist/ is build output, ignored by git), and returns the bootstrap's path. Test
// packages run in parallel, so each build goes to a temporary file that is renamed into place.
func BuildFunction(name string) (string, error) { return BuildPackage("functions/"+name, name) }

// BuildPackage builds any main package of the module (pkg, relative to the module root) as BuildFunction builds a
// function, into dist/local/<name>/bootstrap, once per process: the benchmark's hello-world bootstrap gets the
// functions' exact flags.
func BuildPackage(pkg, name string) (string, error) {
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() { b.path, b.err = buildPackage(pkg, name) })
	return b.path, b.err
}

func buildPackage(pkg, name string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "dist", "local", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	tmp, err := os.CreateTemp(dir, "bootstrap-*")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	tmp.Close()
	// The flags make build uses, for this machine's architecture.
	flags, err := LambdaBuildFlags()
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", tmp.Name(), "./"+pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if os.Getenv("GOTMPDIR") == "" {
		// go's work folder (go-build*, tens of MB) in the checkout rather than the OS temp directory: a build cut
		// short by Ctrl-C leaves it behind. The Makefile exports the same folder.
		work := filepath.Join(root, GoTmpDir)
		if err := os.MkdirAll(work, 0o755); err != nil {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("build %s: %w", pkg, err)
		}
		cmd.Env = append(cmd.Env, "GOTMPDIR="+work)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, out)
	}
	path := filepath.Join(dir, "bootstrap")
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	return path, nil
}

// GoTmpDir is where go keeps its work folders for the builds the test bed starts, relative to the module root
// (ignored by git); the Makefile's GOTMPDIR.
const GoTmpDir = ".cache/go-tmp"

// lambdaFlagsFile holds the go build flags of every Lambda function, one a line; the Makefile reads it too.
const lambdaFlagsFile = "functions/lambda.flags"

// LambdaBuildFlags are the go build flags make build gives the Lambda functions, read from functions/lambda.flags,
// the one place they are written.
func LambdaBuildFlags() ([]string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, lambdaFlagsFile))
	if err != nil {
		return nil, fmt.Errorf("the Lambda build flags: %w", err)
	}
	var flags []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			flags = append(flags, line)
		}
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("the Lambda build flags: %s lists none", lambdaFlagsFile)
	}
	return flags, nil
}

// ModuleRoot is the repository's root: the directory holding go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("find the module root: not inside the trailguard module")
	}
	return filepath.Dir(mod), nil
}

// PeakRSS is the most resident memory the process has used so far (VmHWM, Linux only), in bytes.
func (f *Function) PeakRSS() (int64, error) {
	pid := f.cmd.Process.Pid
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("read the status of process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("process %d: VmHWM %q: %w", pid, v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("process %d: no VmHWM in its status", pid)
}
