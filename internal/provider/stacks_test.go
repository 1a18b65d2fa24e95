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
	// ops are the resources' own operations, by stack id and logical id: what CloudFormation is doing to each.
	ops map[string]operation
}

// operation is a resource's status and physical id as DescribeStackResource answers them.
type operation struct{ status, physical string }

func newStackServer() *stackServer {
	return &stackServer{unknown: map[string]bool{}, status: map[string]string{}, types: map[string]string{}, ops: map[string]operation{}}
}

// operate records the operation CloudFormation is in when it sends ev: the resource is mid-Create (no physical id
// yet), or mid-Update or mid-Delete of the physical id the request names.
func (s *stackServer) operate(ev map[string]any) {
	stack, _ := ev["StackId"].(string)
	logical, _ := ev["LogicalResourceId"].(string)
	physical, _ := ev["PhysicalResourceId"].(string)
	kind, _ := ev["RequestType"].(string)
	if kind == "Create" {
		physical = ""
	}
	s.set(stack, logical, strings.ToUpper(kind)+"_IN_PROGRESS", physical)
}

// set makes CloudFormation describe a resource with this status and physical id.
func (s *stackServer) set(stack, logical, status, physical string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[stack+"|"+logical] = operation{status: status, physical: physical}
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
		op := s.ops[stack+"|"+form.Get("LogicalResourceId")]
		physical := ""
		if op.physical != "" {
			physical = "<PhysicalResourceId>" + op.physical + "</PhysicalResourceId>"
		}
		return answer(req, 200, fmt.Sprintf(`<DescribeStackResourceResponse %s><DescribeStackResourceResult>`+
			`<StackResourceDetail><StackId>%s</StackId><StackName>%s</StackName><LogicalResourceId>%s</LogicalResourceId>`+
			`%s<ResourceType>%s</ResourceType><ResourceStatus>%s</ResourceStatus>`+
			`<LastUpdatedTimestamp>2026-11-25T12:00:00Z</LastUpdatedTimestamp></StackResourceDetail>`+
			`</DescribeStackResourceResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>`+
			`</DescribeStackResourceResponse>`, cfnNS, stack, name, form.Get("LogicalResourceId"), physical, typ, op.status)), nil
	}
	return answer(req, 400, fmt.Sprintf(`<ErrorResponse %s><Error><Type>Sender</Type><Code>InvalidAction</Code>`+
		`<Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, cfnNS, form.Get("Action"))), nil
}

func answer(req *http.Request, status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": []string{"text/xml"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}
}
