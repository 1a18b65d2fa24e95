package testbed

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
)

// Fault is an AWS error to answer instead of moto, for what moto never does (InvalidHomeRegionException,
// InvalidCloudWatchLogs*Exception, throttling, 5xx). It is written in the service's own wire protocol, so the SDK
// parses it into the same typed error real AWS would give.
type Fault struct {
	// Service is the SDK service id ("CloudTrail", "CloudWatch Logs", "IAM", "DynamoDB", "SNS", "Organizations");
	// empty matches every service.
	Service string
	// Operation is the API name ("UpdateTrail"); empty matches every operation of Service.
	Operation string
	// Times is how many calls get the fault; 0 means every call.
	Times int
	// FirstAttempts, with Times 0, faults only each call's first attempt (the SDK numbers its attempts in the
	// amz-sdk-request header), so every call fails once and its retry succeeds.
	FirstAttempts bool
	// Every, when above 1, faults only every Every-th matching call: 10 faults 10% of calls, deterministically.
	Every int
	seen  int
	// Status is the HTTP status; 0 means 400, or 200 with Reply.
	Status  int
	Code    string
	Message string
	// Reply, when set, is a successful answer's JSON body to return instead of an error: for states moto cannot
	// produce, such as a trail whose CloudWatch Logs delivery fails.
	Reply string
}

// Throttle is n throttling errors on a service's operation (all operations when op is empty), with the code the
// service really uses.
func Throttle(service, op string, n int) Fault {
	code := "ThrottlingException"
	if queryProtocol(service) {
		code = "Throttling"
	}
	return Fault{Service: service, Operation: op, Times: n, Code: code, Message: "Rate exceeded"}
}

// Faults is a set of faults shared by the clients of one configuration. It is safe for concurrent use.
type Faults struct {
	mu       sync.Mutex
	pending  []*Fault
	injected int
}

// NewFaults returns an empty set.
func NewFaults() *Faults { return &Faults{} }

// Add arms a fault. Faults are tried in the order they were added.
func (f *Faults) Add(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, &fault)
}

// Clear disarms every fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = nil
}

// Injected is how many calls got a fault.
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// take returns the fault for a call, if one is armed, and uses it up.
func (f *Faults) take(service, op string, firstAttempt bool) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range f.pending {
		if (p.Service != "" && p.Service != service) || (p.Operation != "" && p.Operation != op) || (p.FirstAttempts && !firstAttempt) {
			continue
		}
		if p.seen++; p.Every > 1 && p.seen%p.Every != 0 {
			continue
		}
		f.injected++
		fault := *p
		if p.Times > 0 {
			p.Times--
			if p.Times == 0 {
				f.pending = append(f.pending[:i], f.pending[i+1:]...)
			}
		}
		return fault, true
	}
	return Fault{}, false
}

type faultTransport struct {
	next   http.RoundTripper
	faults *Faults
}

func (t *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	service, op := callOf(req)
	fault, ok := t.faults.take(service, op, strings.HasPrefix(req.Header.Get("Amz-Sdk-Request"), "attempt=1;"))
	if !ok {
		return t.next.RoundTrip(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return fault.response(req, service), nil
}

// callOf names the SDK call a request belongs to; the SDK keeps both in the request's context.
func callOf(req *http.Request) (service, op string) {
	ctx := req.Context()
	return awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
}

// queryProtocol says whether a service speaks the AWS query protocol (XML errors) rather than JSON.
func queryProtocol(service string) bool {
	switch service {
	case "IAM", "SNS", "STS", "SQS", "CloudWatch":
		return true
	}
	return false
}

func (f Fault) response(req *http.Request, service string) *http.Response {
	status := f.Status
	switch {
	case status == 0 && f.Reply != "":
		status = http.StatusOK
	case status == 0:
		status = http.StatusBadRequest
	}
	h := http.Header{"X-Amzn-Requestid": {"testbed-fault"}}
	var body []byte
	switch {
	case f.Reply != "":
		body = []byte(f.Reply)
		h.Set("Content-Type", "application/x-amz-json-1.1")
	case queryProtocol(service):
		var e struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Type    string   `xml:"Error>Type"`
			Code    string   `xml:"Error>Code"`
			Message string   `xml:"Error>Message"`
			ReqID   string   `xml:"RequestId"`
		}
		e.Type, e.Code, e.Message, e.ReqID = "Sender", f.Code, f.Message, "testbed-fault"
		if status >= 500 {
			e.Type = "Receiver"
		}
		body, _ = xml.Marshal(e)
		h.Set("Content-Type", "text/xml")
	case service == "S3":
		body = fmt.Appendf(nil, "<Error><Code>%s</Code><Message>%s</Message></Error>", f.Code, f.Message)
		h.Set("Content-Type", "application/xml")
	default: // awsJson1_0 / awsJson1_1
		body, _ = json.Marshal(map[string]string{"__type": f.Code, "message": f.Message})
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Errortype", f.Code)
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// RoundTripLatency is the per-call delay at which Recorder.CriticalPath counts round trips, in tests and in the
// benchmark: far above the time moto takes for a call, queued behind others, and above a loaded machine's
// scheduling delays, so that calls made at once overlap and calls that wait on each other do not, and the count is
// the code's, whatever the machine. At a realistic 25 ms, moto's queue staggers calls made at once and can make
// two of them look like a chain.
const RoundTripLatency = 250 * time.Millisecond

// Recorder counts the calls made through a configuration, faulted ones included: how tests prove that a no-op
// writes nothing and that a retry happened. It is safe for concurrent use.
type Recorder struct {
	// Latency, when set, makes every call take at least that long, as AWS's control planes answer in tens of
	// milliseconds where moto answers in a few: the call is sent at once and its answer held until Latency has
	// passed since it began (FaultProxy.SetLatency explains why). Calls that wait on each other then end visibly
	// before the next begins, so CriticalPath counts round trips rather than scheduling noise. Set it before the
	// first call.
	Latency time.Duration

	mu    sync.Mutex
	calls []string
	spans []span
}

// span is when one call was in flight.
type span struct{ start, end time.Time }

type recordingTransport struct {
	next http.RoundTripper
	rec  *Recorder
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	service, op := callOf(req)
	t.rec.add(service, op)
	start := time.Now()
	res, err := t.next.RoundTrip(req)
	if t.rec.Latency > 0 && !waitUntil(req.Context(), start.Add(t.rec.Latency)) {
		if err == nil {
			res.Body.Close()
		}
		return nil, req.Context().Err()
	}
	t.rec.ended(start)
	return res, err
}

// ended records that a call begun at start has just ended, for CriticalPath.
func (r *Recorder) ended(start time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, span{start: start, end: time.Now()})
}

func (r *Recorder) add(service, op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, service+"."+op)
}

// Reset forgets the calls recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.spans = nil, nil
}

// CriticalPath is the number of round trips on the longest chain of calls that waited on each other: a call
// extends a chain when it began after the chain's last call ended. Calls made at once count as one round trip.
// What it measures carries over to AWS, where each round trip costs tens of milliseconds, when Latency is well
// above the machine's scheduling delays.
func (r *Recorder) CriticalPath() int {
	r.mu.Lock()
	spans := slices.Clone(r.spans)
	r.mu.Unlock()
	slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	depth := make([]int, len(spans))
	longest := 0
	for i, s := range spans {
		depth[i] = 1
		for j := range i {
			if !spans[j].end.After(s.start) {
				depth[i] = max(depth[i], depth[j]+1)
			}
		}
		longest = max(longest, depth[i])
	}
	return longest
}

// Calls lists every call as "Service.Operation", in order.
func (r *Recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// Count is how many times one operation was called (retries included).
func (r *Recorder) Count(service, op string) int {
	n := 0
	for _, c := range r.Calls() {
		if c == service+"."+op {
			n++
		}
	}
	return n
}

// ResourceWrites lists the writes to what trailguard guards (trails, log groups, roles), in order: Writes without
// the registry's (DynamoDB) and the notifications' (SNS), which are trailguard's own bookkeeping.
func (r *Recorder) ResourceWrites() []string {
	var out []string
	for _, w := range r.Writes() {
		if !strings.HasPrefix(w, "DynamoDB.") && !strings.HasPrefix(w, "SNS.") {
			out = append(out, w)
		}
	}
	return out
}

// Writes lists the calls that can change state, in order.
func (r *Recorder) Writes() []string {
	var out []string
	for _, c := range r.Calls() {
		_, op, _ := strings.Cut(c, ".")
		if !isRead(op) {
			out = append(out, c)
		}
	}
	return out
}
