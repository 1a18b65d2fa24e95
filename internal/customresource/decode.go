package customresource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ErrUnanswerable marks an event that cannot be answered because it has no usable ResponseURL. Lambda gets the
// error back; CloudFormation, if it sent the event at all, will time out.
var ErrUnanswerable = errors.New("custom resource event cannot be answered")

// decodeError says why an event cannot be answered, or is refused. Field is the event field at fault, if one is;
// Host is the ResponseURL's host (never the full URL: its query string is a credential).
type decodeError struct {
	Reason string
	Field  string
	Host   string
}

func (e *decodeError) Error() string {
	if e.Host != "" {
		return fmt.Sprintf("%v: %s (ResponseURL host %q)", ErrUnanswerable, e.Reason, e.Host)
	}
	return fmt.Sprintf("%v: %s", ErrUnanswerable, e.Reason)
}

func (e *decodeError) Unwrap() error { return ErrUnanswerable }

// decode reads an event in two passes so that a request whose body is malformed, but whose ResponseURL is good,
// still gets a FAILED answer: first the envelope as raw JSON values under CloudFormation's exact key names, then
// each field. Before anything else it checks that the request is CloudFormation's for this function (see origin):
// the StackId of this function's partition, account and region, the ResponseURL on CloudFormation's response bucket
// for that region. fn is the function's origin, or fnErr why it is unknown; in local mode (allowLoopback) an unknown
// origin is the stack's own, as when Go tests call the wrapper without a Lambda context.
//
// It returns the request, a non-nil malformed error when the request can be answered but not served, and a
// *decodeError when it cannot be answered at all or is refused.
func decode(raw []byte, allowLoopback bool, fn origin, fnErr error) (req Request, malformed error, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return Request{}, nil, &decodeError{Reason: "the event is empty"}
	}
	fields, depths, err := readEnvelope(raw)
	if err != nil {
		return Request{}, nil, &decodeError{Reason: err.Error()}
	}
	u, ok := fields["ResponseURL"]
	if !ok {
		return Request{}, nil, &decodeError{Reason: "the event has no ResponseURL", Field: "ResponseURL"}
	}
	if err := json.Unmarshal(u, &req.ResponseURL); err != nil || req.ResponseURL == "" {
		return Request{}, nil, &decodeError{Reason: "the event's ResponseURL is not a non-empty string", Field: "ResponseURL"}
	}
	host := hostOf(req.ResponseURL)
	s, ok := fields["StackId"]
	if !ok {
		return Request{}, nil, &decodeError{Reason: "the event has no StackId", Field: "StackId", Host: host}
	}
	if err := json.Unmarshal(s, &req.StackID); err != nil {
		return Request{}, nil, &decodeError{Reason: "StackId is not a string", Field: "StackId", Host: host}
	}
	stack, err := stackOrigin(req.StackID)
	if err != nil {
		return Request{}, nil, &decodeError{Reason: err.Error(), Field: "StackId", Host: host}
	}
	if fnErr != nil {
		if !allowLoopback {
			return Request{}, nil, &decodeError{Reason: fnErr.Error(), Host: host}
		}
		fn = stack
	}
	if host, err := validateResponseURL(req.ResponseURL, fn, allowLoopback); err != nil {
		return Request{}, nil, &decodeError{Reason: err.Error(), Field: "ResponseURL", Host: host}
	}
	if err := checkStack(stack, fn); err != nil {
		return Request{}, nil, &decodeError{Reason: err.Error(), Field: "StackId", Host: host}
	}

	var problems []string
	str := func(name string, dst *string) {
		v, ok := fields[name]
		if !ok || string(v) == "null" {
			return
		}
		if err := json.Unmarshal(v, dst); err != nil {
			problems = append(problems, name+" is not a string")
		}
	}
	obj := func(name string, dst *map[string]any) {
		v, ok := fields[name]
		if !ok || string(v) == "null" {
			return
		}
		if depths[name] > maxJSONDepth {
			problems = append(problems, fmt.Sprintf("%s is nested %d levels deep; JSON nested more than %d levels cannot be read",
				name, depths[name], maxJSONDepth))
			return
		}
		if err := json.Unmarshal(v, dst); err != nil {
			*dst = nil
			problems = append(problems, name+" is not a JSON object")
		}
	}
	str("RequestType", &req.RequestType)
	str("RequestId", &req.RequestID)
	str("ResourceType", &req.ResourceType)
	str("LogicalResourceId", &req.LogicalResourceID)
	str("PhysicalResourceId", &req.PhysicalResourceID)
	str("ServiceToken", &req.ServiceToken)
	obj("ResourceProperties", &req.ResourceProperties)
	obj("OldResourceProperties", &req.OldResourceProperties)
	if len(problems) > 0 {
		malformed = fmt.Errorf("malformed request: %s", strings.Join(problems, "; "))
	}
	return req, malformed, nil
}

// maxJSONDepth is how deeply encoding/json nests before it gives up (its scanner's maxNestingDepth).
const maxJSONDepth = 10_000

// readEnvelope reads the top level of an event: each key and its value, raw, with how deeply that value nests.
//
// json.Unmarshal would check the whole event first and refuse all of it when any value nests more than
// maxJSONDepth levels, ResponseURL included, leaving CloudFormation without an answer. json.Decoder's Token walks
// a value of any depth, checking its syntax, without building it, so the envelope (and with it the ResponseURL)
// survives properties too deep to decode. As with json.Unmarshal, the last of duplicate keys wins, and nothing may
// follow the object.
func readEnvelope(raw []byte) (fields map[string]json.RawMessage, depths map[string]int, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers are skipped, not parsed: 1e999 is valid JSON
	notObject := func(err error) error { return errors.New("the event is not a JSON object: " + jsonProblem(err)) }
	tok, err := dec.Token()
	switch {
	case err != nil:
		return nil, nil, notObject(err)
	case tok == nil:
		return nil, nil, errors.New("the event is JSON null, not an object")
	case tok != json.Delim('{'):
		return nil, nil, errors.New("the event is not a JSON object: it starts with a JSON " + kindOf(tok))
	}
	fields, depths = map[string]json.RawMessage{}, map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, notObject(err)
		}
		key, _ := tok.(string) // inside an object, Token returns only string keys or an error
		start := dec.InputOffset()
		depth, level := 0, 0
		for {
			tok, err := dec.Token()
			if err != nil {
				return nil, nil, notObject(err)
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				level++
				depth = max(depth, level)
			case json.Delim('}'), json.Delim(']'):
				level--
			}
			if level == 0 {
				break
			}
		}
		// From after the key to after the value: the colon and blanks around it are trimmed.
		fields[key] = bytes.TrimLeft(raw[start:dec.InputOffset()], " \t\r\n:")
		depths[key] = depth
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, notObject(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("the event is not a JSON object: more follows the object")
	}
	return fields, depths, nil
}

// kindOf names the JSON kind of a token that starts a value.
func kindOf(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	}
	return "number"
}

// jsonProblem describes a JSON error without quoting the input, which may hold a ResponseURL.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("found a JSON %s", typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "it ends before the JSON does"
	default:
		return "invalid JSON"
	}
}

// validateResponseURL accepts only where CloudFormation sends the responses for fn: https, on the default port,
// with no userinfo, to one of responseHosts(fn). Anything else would let a hand-made event make this function send
// requests (with the resource's Data) elsewhere. With allowLoopback, http or https to a loopback host with an
// explicit port is also accepted. It returns the host, for logs.
func validateResponseURL(raw string, fn origin, allowLoopback bool) (host string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("the ResponseURL is not a URL")
	}
	host = u.Host
	switch {
	case u.Opaque != "" || u.Host == "":
		return host, errors.New("the ResponseURL has no host")
	case u.User != nil:
		return host, errors.New("the ResponseURL carries user information")
	}
	name, port := strings.ToLower(u.Hostname()), u.Port()
	if allowLoopback && (u.Scheme == "http" || u.Scheme == "https") && isLoopback(name) {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return host, errors.New("a loopback ResponseURL needs an explicit port")
		}
		return host, nil
	}
	switch {
	case u.Scheme != "https":
		return host, fmt.Errorf("the ResponseURL scheme is %q, want https", u.Scheme)
	case port != "" && port != "443":
		return host, errors.New("the ResponseURL uses a port other than 443")
	}
	hosts, err := responseHosts(fn)
	if err != nil {
		return host, fmt.Errorf("the ResponseURL cannot be checked: %w", err)
	}
	if !slices.Contains(hosts, name) {
		return host, fmt.Errorf("the ResponseURL host is not CloudFormation's response bucket %s for this function's region %s (want one of %s)",
			responseBucket(fn.Region), fn.Region, strings.Join(hosts, ", "))
	}
	return host, nil
}

func isLoopback(name string) bool {
	if name == "localhost" {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}
