package testbed

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FaultProxy stands between a separate process (a built bootstrap) and moto: it records each call and answers the
// armed faults itself, as the in-process transport does for the test's own clients. Set the process's
// AWS_ENDPOINT_URL to its URL.
//
// It can also make every call take as long as a round trip to AWS (SetLatency): moto answers in a few milliseconds,
// AWS's control planes in tens, so only with that delay do the process's wall time and the recorder's CriticalPath
// say what the same calls would cost on AWS.
type FaultProxy struct {
	srv     *http.Server
	url     string
	faults  *Faults
	rec     *Recorder
	next    *httputil.ReverseProxy
	latency atomic.Int64 // time.Duration

	mu       sync.Mutex
	upstream []span // when moto was answering a forwarded call
}

// NewFaultProxy starts a proxy on a free 127.0.0.1 port in front of target (moto's URL). faults and rec may be nil.
func NewFaultProxy(target string, faults *Faults, rec *Recorder) (*FaultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if faults == nil {
		faults = NewFaults()
	}
	if rec == nil {
		rec = &Recorder{}
	}
	p := &FaultProxy{url: "http://" + l.Addr().String(), faults: faults, rec: rec, next: forwarder(u)}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// URL is the proxy's endpoint.
func (p *FaultProxy) URL() string { return p.url }

// SetLatency makes every call through the proxy, faulted ones included (a throttle is a round trip too), take at
// least d, as a round trip to AWS takes its time whatever the service does within it: the proxy forwards the call
// at once and holds the answer until d has passed since the call arrived (see ServeHTTP). 0 turns the delay off.
// It may be changed between calls.
func (p *FaultProxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// Latency is the delay SetLatency set.
func (p *FaultProxy) Latency() time.Duration { return time.Duration(p.latency.Load()) }

// UpstreamBusy is how long, since t, moto was answering at least one call forwarded to it: the union of those
// calls' times. moto_server answers concurrent calls one after another (one Python process), where AWS answers
// them in parallel within its round trip, so where this exceeds the latency it is time that parallel calls do not
// shorten here but would on AWS.
func (p *FaultProxy) UpstreamBusy(t time.Time) time.Duration {
	p.mu.Lock()
	spans := slices.Clone(p.upstream)
	p.mu.Unlock()
	slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	var busy time.Duration
	var end time.Time
	for _, s := range spans {
		if s.start.Before(t) {
			continue
		}
		if s.start.After(end) {
			busy += s.end.Sub(s.start)
			end = s.end
		} else if s.end.After(end) {
			busy += s.end.Sub(end)
			end = s.end
		}
	}
	return busy
}

// Close stops the proxy.
func (p *FaultProxy) Close() { _ = p.srv.Close() }

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	service, op := wireCall(r, body)
	p.rec.add(service, op)
	// The call's span, as the in-process transport records it, so that Recorder.CriticalPath means the same
	// whichever way the calls were made.
	start := time.Now()
	defer p.rec.ended(start)
	answer := p.answer(r, service, op)
	defer answer.Body.Close()
	if !waitUntil(r.Context(), start.Add(p.Latency())) {
		return
	}
	for k, v := range answer.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(answer.StatusCode)
	_, _ = io.Copy(w, answer.Body)
}

// answer is the armed fault's answer to a call, or else moto's, whole.
func (p *FaultProxy) answer(r *http.Request, service, op string) *http.Response {
	if fault, ok := p.faults.take(service, op, strings.HasPrefix(r.Header.Get("Amz-Sdk-Request"), "attempt=1;")); ok {
		return fault.response(r, service)
	}
	// The body is already read: moto's "100 Continue" would otherwise reach the recorder as the answer's status.
	r.Header.Del("Expect")
	got := httptest.NewRecorder()
	t0 := time.Now()
	p.next.ServeHTTP(got, r)
	p.mu.Lock()
	p.upstream = append(p.upstream, span{start: t0, end: time.Now()})
	p.mu.Unlock()
	return got.Result()
}

// forwarder is a reverse proxy to target that keeps a connection for each of many parallel calls: with the standard
// transport's two, a burst of calls opens new connections, and moto_server starts a thread for every new one.
func forwarder(target *url.URL) *httputil.ReverseProxy {
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	return rp
}

// waitUntil sleeps until t, or until ctx ends, which it reports as false.
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serviceIDs maps SigV4 signing names to the SDK's service ids, the names Faults and Recorder use.
var serviceIDs = map[string]string{
	"cloudtrail": "CloudTrail", "logs": "CloudWatch Logs", "iam": "IAM", "sns": "SNS", "dynamodb": "DynamoDB",
	"organizations": "Organizations", "s3": "S3", "sts": "STS",
}

// signingName is the service a SigV4 Authorization header is signed for, the fourth part of its credential scope
// ("AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/logs/aws4_request, ..."), or "".
func signingName(auth string) string {
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return ""
	}
	scope := strings.SplitN(strings.SplitN(auth[i+len("Credential="):], ",", 2)[0], "/", 5)
	if len(scope) != 5 {
		return ""
	}
	return scope[3]
}

// wireCall names a request's service and operation from what is on the wire: the signing name in the
// Authorization header's credential scope, and X-Amz-Target (JSON protocols) or the Action field (query protocol).
func wireCall(r *http.Request, body []byte) (service, op string) {
	service = serviceIDs[signingName(r.Header.Get("Authorization"))]
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		_, op, _ = strings.Cut(target, ".")
		return service, op
	}
	if form, err := url.ParseQuery(string(body)); err == nil {
		op = form.Get("Action")
	}
	return service, op
}
