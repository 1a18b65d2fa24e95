package provider_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// stackServer answers CloudFormation's DescribeStacks and DescribeStackResource in their real query-protocol wire
// shape. moto cannot stand in: its CloudFormation cannot create a custom resource without running a Lambda.
// Every stack is known and mid-operation, with every logical resource a Custom::CloudTrailCloudWatchLogs, unless a
// test says otherwise.
type stackServer struct {
	mu      sync.Mutex
	unknown map[string]bool   // stack ids CloudFormation does not know
	status  map[string]string // stack id → status, default UPDATE_IN_PROGRESS
	types   map[string]string // stack id → the logical resource's type
}

func newStackServer() *stackServer {
	return &stackServer{unknown: map[string]bool{}, status: map[string]string{}, types: map[string]string{}}
}

const cfnNS = `xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"`

func (s *stackServer) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stack := form.Get("StackName")
	name := stack
	if parts := strings.Split(stack, "/"); len(parts) > 1 {
		name = parts[1]
	}
	if s.unknown[stack] {
		return answer(req, 400, fmt.Sprintf(`<ErrorResponse %s><Error><Type>Sender</Type><Code>ValidationError</Code>`+
			`<Message>Stack with id %s does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`, cfnNS, stack)), nil
	}
	switch form.Get("Action") {
	case "DescribeStacks":
		status := s.status[stack]
		if status == "" {
			status = "UPDATE_IN_PROGRESS"
		}
		return answer(req, 200, fmt.Sprintf(`<DescribeStacksResponse %s><DescribeStacksResult><Stacks><member>`+
			`<StackId>%s</StackId><StackName>%s</StackName><StackStatus>%s</StackStatus>`+
			`<CreationTime>2026-11-25T12:00:00Z</CreationTime></member></Stacks></DescribeStacksResult>`+
			`<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`, cfnNS, stack, name, status)), nil
	case "DescribeStackResource":
		typ := s.types[stack]
		if typ == "" {
			typ = "Custom::CloudTrailCloudWatchLogs"
		}
		return answer(req, 200, fmt.Sprintf(`<DescribeStackResourceResponse %s><DescribeStackResourceResult>`+
			`<StackResourceDetail><StackId>%s</StackId><StackName>%s</StackName><LogicalResourceId>%s</LogicalResourceId>`+
			`<ResourceType>%s</ResourceType><ResourceStatus>UPDATE_IN_PROGRESS</ResourceStatus>`+
			`<LastUpdatedTimestamp>2026-11-25T12:00:00Z</LastUpdatedTimestamp></StackResourceDetail>`+
			`</DescribeStackResourceResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>`+
			`</DescribeStackResourceResponse>`, cfnNS, stack, name, form.Get("LogicalResourceId"), typ)), nil
	}
	return answer(req, 400, fmt.Sprintf(`<ErrorResponse %s><Error><Type>Sender</Type><Code>InvalidAction</Code>`+
		`<Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, cfnNS, form.Get("Action"))), nil
}

func answer(req *http.Request, status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": []string{"text/xml"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}
}
