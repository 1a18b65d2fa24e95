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

// CFNResponse is one PUT a custom resource made to its pre-signed ResponseURL, as CloudFormation would receive it.
type CFNResponse struct {
	Method string
	// ContentType is the Content-Type header; HasContentType tells an empty header from a missing one.
	ContentType    string
	HasContentType bool
	Size           int
	Raw            []byte
	Body           struct {
		Status             string
		Reason             string
		PhysicalResourceId string
		StackId            string
		RequestId          string
		LogicalResourceId  string
		NoEcho             bool
		Data               map[string]any
	}
	// DecodeError is set when the body was not the JSON CloudFormation expects.
	DecodeError error
}

// ResponseServer stands in for the S3 pre-signed URL CloudFormation gives a custom resource. It can answer the
// first few PUTs with an error status, as S3 sometimes does.
type ResponseServer struct {
	srv       *httptest.Server
	mu        sync.Mutex
	got       []CFNResponse
	failFirst []int
	arrived   chan struct{}
}

// NewResponseServer starts one on 127.0.0.1. failFirst are the statuses of the first PUTs (e.g. 500, 500); every
// later PUT gets 200.
func NewResponseServer(failFirst ...int) *ResponseServer {
	s := &ResponseServer{failFirst: failFirst, arrived: make(chan struct{}, 64)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *ResponseServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	ct, has := r.Header["Content-Type"]
	got := CFNResponse{Method: r.Method, HasContentType: has, Size: len(raw), Raw: raw}
	if has {
		got.ContentType = ct[0]
	}
	got.DecodeError = json.Unmarshal(raw, &got.Body)
	s.mu.Lock()
	s.got = append(s.got, got)
	status := http.StatusOK
	if len(s.failFirst) > 0 {
		status, s.failFirst = s.failFirst[0], s.failFirst[1:]
	}
	s.mu.Unlock()
	w.WriteHeader(status)
	if status == http.StatusOK {
		select {
		case s.arrived <- struct{}{}:
		default:
		}
	}
}

// URL is a pre-signed-looking URL on this server for one request.
func (s *ResponseServer) URL(requestID string) string {
	return s.srv.URL + "/cloudformation-custom-resource-response/" + requestID +
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0123456789abcdef"
}

// Responses lists every PUT received, failed ones included.
func (s *ResponseServer) Responses() []CFNResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CFNResponse(nil), s.got...)
}

// Wait waits for the next accepted response, or ctx.
func (s *ResponseServer) Wait(ctx context.Context) (CFNResponse, error) {
	select {
	case <-s.arrived:
		got := s.Responses()
		return got[len(got)-1], nil
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

// Close stops the server.
func (s *ResponseServer) Close() { s.srv.Close() }
