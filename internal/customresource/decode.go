package customresource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// ErrUnanswerable marks an event that cannot be answered because it has no usable ResponseURL. Lambda gets the
// error back; CloudFormation, if it sent the event at all, will time out.
var ErrUnanswerable = errors.New("custom resource event cannot be answered")

// decodeError says why an event cannot be answered. Host is the ResponseURL's host (never the full URL).
type decodeError struct {
	Reason string
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
// each field. It returns the request, a non-nil malformed error when the request can be answered but not served,
// and a *decodeError when it cannot be answered at all.
func decode(raw []byte, allowLoopback bool) (req Request, malformed error, err error) {
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
		return Request{}, nil, &decodeError{Reason: "the event has no ResponseURL"}
	}
	if err := json.Unmarshal(u, &req.ResponseURL); err != nil || req.ResponseURL == "" {
		return Request{}, nil, &decodeError{Reason: "the event's ResponseURL is not a non-empty string"}
	}
	if host, err := validateResponseURL(req.ResponseURL, allowLoopback); err != nil {
		return Request{}, nil, &decodeError{Reason: err.Error(), Host: host}
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
	str("StackId", &req.StackID)
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

var (
	region = `[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}`
	bucket = `(?:[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?\.)?`
	// s3Host matches the virtual-hosted and path-style S3 endpoints a pre-signed ResponseURL can use, in the
	// commercial, GovCloud and China partitions. It is anchored: s3.amazonaws.com.evil.com does not match.
	s3Host = regexp.MustCompile(`^` + bucket + `(?:` +
		`s3\.amazonaws\.com` +
		`|s3-external-1\.amazonaws\.com` +
		`|s3[.-]` + region + `\.amazonaws\.com` +
		`|s3(?:-fips)?\.dualstack\.` + region + `\.amazonaws\.com` +
		`|s3-fips\.` + region + `\.amazonaws\.com` +
		`|s3(?:\.dualstack)?\.cn-[a-z]+-[0-9]{1,2}\.amazonaws\.com\.cn` +
		`)$`)
)

// validateResponseURL accepts only where CloudFormation sends responses: https on an S3 host, on the default
// port, with no userinfo. Anything else would let a hand-made event make this function send requests (with
// the resource's Data) anywhere. With allowLoopback, http or https to a loopback host with an explicit port is
// also accepted. It returns the host, for logs.
func validateResponseURL(raw string, allowLoopback bool) (host string, err error) {
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
	case len(name) > 253 || !s3Host.MatchString(name) || strings.Contains(name, ".."):
		return host, errors.New("the ResponseURL host is not an AWS S3 endpoint")
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
