package benchrun

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// fresh is one new process of a bootstrap with its own Runtime API, as a cold Lambda execution environment has,
// behind a probe that notes when the process first asks for an invocation: that is when its init has ended, the
// moment Lambda's own Init Duration ends too.
type fresh struct {
	rt      *testbed.Runtime
	probe   *http.Server
	fn      *testbed.Function
	logs    testbed.Logs
	started time.Time
	polled  chan time.Time
}

// startFresh starts bootstrap with env through a new Runtime API.
func startFresh(bootstrap string, env []string) (*fresh, error) {
	rt, err := testbed.StartRuntime()
	if err != nil {
		return nil, err
	}
	f := &fresh{rt: rt, polled: make(chan time.Time, 1)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("runtime API probe: %w", err)
	}
	next := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: rt.Addr()})
	// A process stopped while it waits for an invocation cancels its poll: that is the end of a run, not an error
	// worth a log line.
	next.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	var once sync.Once
	f.probe = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			now := time.Now()
			once.Do(func() { f.polled <- now })
		}
		next.ServeHTTP(w, r)
	})}
	go func() { _ = f.probe.Serve(l) }()
	// The later AWS_LAMBDA_RUNTIME_API wins: os/exec keeps the last value of a repeated variable.
	env = append(env[:len(env):len(env)], "AWS_LAMBDA_RUNTIME_API="+l.Addr().String())
	f.started = time.Now()
	if f.fn, err = testbed.StartFunction(bootstrap, rt, env, &f.logs); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// initDone waits for the process's first poll and returns how long its init took from exec.
func (f *fresh) initDone(ctx context.Context) (time.Duration, error) {
	select {
	case at := <-f.polled:
		f.polled <- at // later callers see it too
		return at.Sub(f.started), nil
	case <-f.fn.Done():
		return 0, fmt.Errorf("the process exited during init (%v); log:\n%s", f.fn.Err(), f.logs.String())
	case <-ctx.Done():
		return 0, fmt.Errorf("the process never polled for an invocation: %w; log:\n%s", ctx.Err(), f.logs.String())
	}
}

// invoke hands the process one event; an error answer is an error.
func (f *fresh) invoke(ctx context.Context, payload []byte) error {
	res, err := f.rt.Invoke(ctx, payload, localrun.FunctionDeadline)
	if err != nil {
		return fmt.Errorf("%w; log:\n%s", err, f.logs.String())
	}
	if res.Error != nil {
		return fmt.Errorf("the invocation failed: %w", res.Error)
	}
	return nil
}

// close stops the process, the probe and the Runtime API.
func (f *fresh) close() {
	if f.fn != nil {
		f.fn.Stop()
	}
	_ = f.probe.Close()
	f.rt.Close()
}
