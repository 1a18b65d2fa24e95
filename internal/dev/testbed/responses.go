package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// ResponseURLSignature is the signature in every URL a ResponseServer hands out. A pre-signed URL lets whoever holds
// it answer for the stack, so tests check that this never reaches a log, an error or the screen.
const ResponseURLSignature = "topsecret0123456789abcdef"

// ResponseURLQuery is the query string of every URL a ResponseServer hands out, shaped like S3's pre-signed one.
const ResponseURLQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + ResponseURLSignature

// CFNResponse is one PUT a custom resource made to its pre-signed ResponseURL, as CloudFormation would receive it.
type CFNResponse struct {
	Method string
	// Host is the host the PUT was addressed to: this server's, or a real bucket's when it came through Transport.
	Host string
	// ContentType is the Content-Type header; HasContentType tells an empty header from a missing one.
	ContentType    string
	HasContentType bool
	// ContentLength is what the request declared (-1 if it did not, as with a chunked body); Size is what arrived.
	// S3 refuses a pre-signed PUT without a Content-Length.
	ContentLength int64
	Size          int
	Raw           []byte
	// At is when the PUT arrived, by the wall clock: tests compare it with a context's deadline, which runs on it.
	At   time.Time
	Body struct {
		Status             string
		Reason             string
		PhysicalResourceID string `json:"PhysicalResourceId"`
		StackID            string `json:"StackId"`
		RequestID          string `json:"RequestId"`
		LogicalResourceID  string `json:"LogicalResourceId"`
		NoEcho             bool
		Data               map[string]any
	}
	// DecodeError is set when the body was not the JSON CloudFormation expects.
	DecodeError error
}

// ResponseServer stands in for the S3 pre-signed URL CloudFormation gives a custom resource: the one fake of that
// endpoint, for the protocol tests, the binary tests, the demo and bench. It records every PUT and answers with
// scripted statuses, as S3 sometimes fails a few.
type ResponseServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	got      []CFNResponse
	statuses []int
	arrived  chan CFNResponse
}

// NewResponseServer starts one on 127.0.0.1. statuses answer the first PUTs in turn (e.g. 500, 500, or 403 for an
// expired URL); every later PUT gets 200.
func NewResponseServer(statuses ...int) *ResponseServer {
	s := &ResponseServer{statuses: statuses, arrived: make(chan CFNResponse, 64)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *ResponseServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	ct, has := r.Header["Content-Type"]
	got := CFNResponse{Method: r.Method, Host: r.Host, HasContentType: has, ContentLength: r.ContentLength, Size: len(raw), Raw: raw,
		At: time.Now()}
	if has {
		got.ContentType = ct[0]
	}
	got.DecodeError = json.Unmarshal(raw, &got.Body)
	s.mu.Lock()
	s.got = append(s.got, got)
	status := http.StatusOK
	if len(s.statuses) > 0 {
		status, s.statuses = s.statuses[0], s.statuses[1:]
	}
	s.mu.Unlock()
	w.WriteHeader(status)
	if status == http.StatusOK {
		select {
		case s.arrived <- got:
		default:
		}
	}
}

// URL is a pre-signed-looking URL on this server for one request: the path CloudFormation uses (the stack, the
// resource and the request, escaped) and ResponseURLQuery.
func (s *ResponseServer) URL(requestID string) string {
	return s.srv.URL + "/arn%3Aaws%3Acloudformation%3Aus-east-1%3A" + Account + "%3Astack/test/id%7CResource%7C" +
		requestID + "?" + ResponseURLQuery
}

// Transport delivers every request to this server, whatever URL it is addressed to, keeping the addressed host
// (CFNResponse.Host). Through it, code that only answers CloudFormation's real buckets over https, as in Lambda,
// answers here, and no request reaches the network.
func (s *ResponseServer) Transport() http.RoundTripper { return redirectTransport{s.srv} }

type redirectTransport struct{ srv *httptest.Server }

func (t redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.Host = r.URL.Host
	out.URL.Scheme, out.URL.Host = "http", t.srv.Listener.Addr().String()
	res, err := t.srv.Client().Transport.RoundTrip(out)
	if res != nil {
		res.Request = r
	}
	return res, err
}

// Responses lists every PUT received (since the last Drain), failed ones included.
func (s *ResponseServer) Responses() []CFNResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CFNResponse(nil), s.got...)
}

// Drain is Responses, forgetting what it returns (and what Wait has not yet taken), so that a long fuzz or benchmark
// run neither grows nor slows.
func (s *ResponseServer) Drain() []CFNResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.got
	s.got = nil
	for {
		select {
		case <-s.arrived:
		default:
			return got
		}
	}
}

// Wait waits for the next accepted response, or ctx.
func (s *ResponseServer) Wait(ctx context.Context) (CFNResponse, error) {
	select {
	case got := <-s.arrived:
		return got, nil
	case <-ctx.Done():
		return CFNResponse{}, fmt.Errorf("no response reached the ResponseURL: %w", ctx.Err())
	}
}

// WaitFor is Wait with a timeout.
func (s *ResponseServer) WaitFor(d time.Duration) (CFNResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Wait(ctx)
}

// Close stops the server; once closed, a PUT is refused a connection. Closing twice is harmless.
func (s *ResponseServer) Close() { s.srv.Close() }
