// Package trigger turns the remediator's raw EventBridge input into a Trigger: what kind of change happened, to
// which trail, log group or role, and who made it. It decides nothing about registered trails; it only says which
// resource an event names, so that the remediator can look it up.
//
// Three outcomes matter to the caller, because Lambda retries on error:
//   - a Trigger and a nil error: an event trailguard acts on;
//   - a partially filled Trigger and an *IgnoredError: a well-formed event that is not for trailguard (a failed
//     call, another service, another API), to be logged and dropped, never retried;
//   - a *MalformedError: an event that cannot be read, to be retried and then sent to the on-failure queue, where a
//     person can look at it.
package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/trailguard/trailguard/internal/delivery"
)

// Kind says which resource a trigger names, and so which registered trails it can affect.
type Kind string

// The kinds of trigger.
const (
	// KindSweep is the periodic backstop: every registered trail.
	KindSweep Kind = "sweep"
	// KindTrail names a trail, by name or ARN.
	KindTrail Kind = "trail"
	// KindLogGroup names a CloudWatch Logs log group.
	KindLogGroup Kind = "log-group"
	// KindRole names an IAM role, and for a role policy event the inline policy.
	KindRole Kind = "role"
	// KindPack names CIS monitoring pack alarms (by name) or the pack's topic (by ARN): the trails whose pack
	// they are are affected.
	KindPack Kind = "cis-pack"
)

// EventBridge detail-types and sources the remediator subscribes to.
const (
	detailTypeAPICall   = "AWS API Call via CloudTrail"
	detailTypeScheduled = "Scheduled Event"
	sourceScheduler     = "aws.events"

	sourceCloudTrail = "cloudtrail.amazonaws.com"
	sourceLogs       = "logs.amazonaws.com"
	sourceIAM        = "iam.amazonaws.com"
	sourceCloudWatch = "monitoring.amazonaws.com"
	sourceSNS        = "sns.amazonaws.com"
)

// SweepAspects are what the periodic sweep reads of every trail: the whole wiring and whether delivery works.
const SweepAspects = delivery.AspectAll | delivery.AspectDelivery

// Trigger is what one event says happened.
type Trigger struct {
	Kind Kind
	// EventID is the CloudTrail eventID (detail.eventID); for a scheduled event, the EventBridge event id.
	EventID string
	// EventName is the API call, e.g. "UpdateTrail"; "" for a sweep.
	EventName string
	// Source is the service called, e.g. "cloudtrail.amazonaws.com"; "aws.events" for a sweep.
	Source string
	// Region is where the call was made; "" for IAM (a global service whose events all say us-east-1) and sweeps.
	Region string
	// Time is when the call was made (detail.eventTime), or when the schedule fired.
	Time time.Time
	// Trail is requestParameters.name: a trail name or a trail ARN (KindTrail).
	Trail string
	// LogGroup is requestParameters.logGroupName (KindLogGroup).
	LogGroup string
	// Role is requestParameters.roleName (KindRole).
	Role string
	// Policy is requestParameters.policyName for PutRolePolicy and DeleteRolePolicy: on a role shared by several
	// trails, only the trail owning that inline policy is affected.
	Policy string
	// Alarms are requestParameters.alarmName or alarmNames (KindPack).
	Alarms []string
	// Topic is requestParameters.topicArn, or the topic of requestParameters.subscriptionArn (KindPack).
	Topic string
	// Actor is who made the call: detail.userIdentity.arn, or the invoking service for an AWS service call.
	Actor string
	// SourceIP is detail.sourceIPAddress (an IP address, or a service name for calls made by AWS services).
	SourceIP string
	// Aspects are the parts of a trail's delivery the call can have changed (from the catalogue; every aspect for
	// a sweep): the remediator reads only those.
	Aspects delivery.Aspect
	// Creates says the call creates the trail it names: a trail known to be gone is wired again.
	Creates bool
	// LogStream is requestParameters.logStreamName of DeleteLogStream.
	LogStream string
	// Destroys says the call destroyed audit events no repair brings back (the catalogue's Destroys).
	Destroys bool
}

// IgnoredError reports a well-formed event that trailguard does not act on. It is not a failure: the caller logs
// the reason and drops the event, so that Lambda does not retry it.
type IgnoredError struct {
	// Reason says why, naming the detail-type, source, event name or error code.
	Reason string
}

func (e *IgnoredError) Error() string { return "event ignored: " + e.Reason }

// MalformedError reports an event that cannot be read. Retrying it will not help, but it must reach a person
// (through the on-failure queue), because it may be an event trailguard should have acted on.
type MalformedError struct {
	// Field is the JSON path of the offending field, e.g. "detail.requestParameters.name"; "" for the whole event.
	Field string
	// Problem says what is wrong with it, e.g. "missing or null".
	Problem string
	// Err is the underlying decoding error, if any.
	Err error
}

func (e *MalformedError) Error() string {
	msg := "malformed EventBridge event"
	if e.Field != "" {
		msg += ": field " + e.Field
	}
	msg += ": " + e.Problem
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *MalformedError) Unwrap() error { return e.Err }

// record is the part of a CloudTrail record (the EventBridge detail) the remediator reads. Fields it does not
// read are skipped, not decoded, so large policy documents or response elements cost no allocations.
type record struct {
	EventID      string `json:"eventID"`
	EventName    string `json:"eventName"`
	EventSource  string `json:"eventSource"`
	AWSRegion    string `json:"awsRegion"`
	EventTime    string `json:"eventTime"`
	SourceIP     string `json:"sourceIPAddress"`
	ErrorCode    string `json:"errorCode"`
	UserIdentity struct {
		ARN         string `json:"arn"`
		PrincipalID string `json:"principalId"`
		InvokedBy   string `json:"invokedBy"`
	} `json:"userIdentity"`
	// RequestParameters is nil when the record has none or null.
	RequestParameters *struct {
		Name string `json:"name"`
		// TrailName is how PutEventSelectors names the trail.
		TrailName    string `json:"trailName"`
		LogGroupName string `json:"logGroupName"`
		RoleName     string `json:"roleName"`
		PolicyName   string `json:"policyName"`
		// LogGroupIdentifier is how PutLogGroupDeletionProtection names the group: a name or an ARN.
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		// ResourceID is how AddTags and RemoveTags name the trail: its ARN.
		ResourceID string `json:"resourceId"`
		// AlarmName, AlarmNames, TopicArn and SubscriptionArn name the CIS pack's alarms and topic.
		AlarmName       string   `json:"alarmName"`
		AlarmNames      []string `json:"alarmNames"`
		TopicArn        string   `json:"topicArn"`
		SubscriptionArn string   `json:"subscriptionArn"`
	} `json:"requestParameters"`
}

// Decode reads one EventBridge event. See the package documentation for what its three outcomes mean. It never
// panics, whatever raw holds.
func Decode(raw []byte) (Trigger, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return Trigger{}, &MalformedError{Problem: "empty input, want an EventBridge event (a JSON object)"}
	}
	var env events.CloudWatchEvent
	if err := json.Unmarshal(raw, &env); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &syntaxErr) && !errors.As(err, &typeErr) {
			// time is the envelope's only field with a decoder of its own, so any other error is about it.
			return Trigger{}, &MalformedError{Field: "time", Problem: "not an RFC 3339 time", Err: err}
		}
		return Trigger{}, jsonError("", err)
	}
	switch env.DetailType {
	case detailTypeScheduled:
		return decodeSchedule(env)
	case detailTypeAPICall:
		return decodeAPICall(env)
	case "":
		return Trigger{}, &MalformedError{Field: "detail-type", Problem: "missing"}
	default:
		return Trigger{EventID: env.ID, Source: env.Source, Time: env.Time},
			&IgnoredError{Reason: fmt.Sprintf("detail-type %q is neither %q nor %q", env.DetailType, detailTypeAPICall, detailTypeScheduled)}
	}
}

// decodeSchedule reads the sweep's scheduled event. Its detail is always {} and carries nothing.
func decodeSchedule(env events.CloudWatchEvent) (Trigger, error) {
	t := Trigger{Kind: KindSweep, EventID: env.ID, Source: env.Source, Time: env.Time, Aspects: SweepAspects}
	if env.Source != sourceScheduler {
		t.Kind, t.Aspects = "", 0
		return t, &IgnoredError{Reason: fmt.Sprintf("scheduled event from source %q, not %q", env.Source, sourceScheduler)}
	}
	if isNull(env.Detail) {
		return t, &MalformedError{Field: "detail", Problem: "missing or null"}
	}
	if env.ID == "" {
		return t, &MalformedError{Field: "id", Problem: "missing"}
	}
	return t, nil
}

// decodeAPICall reads a CloudTrail record delivered by EventBridge.
func decodeAPICall(env events.CloudWatchEvent) (Trigger, error) {
	if isNull(env.Detail) {
		return Trigger{EventID: env.ID, Source: env.Source, Time: env.Time}, &MalformedError{Field: "detail", Problem: "missing or null"}
	}
	var rec record
	err := json.Unmarshal(env.Detail, &rec)
	t := Trigger{
		EventID: rec.EventID, EventName: rec.EventName, Source: rec.EventSource, Region: rec.AWSRegion,
		Time: env.Time, Actor: actor(rec), SourceIP: rec.SourceIP,
	}
	if err != nil {
		return t, jsonError("detail", err)
	}
	if rec.EventTime != "" {
		at, err := time.Parse(time.RFC3339, rec.EventTime)
		if err != nil {
			return t, &MalformedError{Field: "detail.eventTime", Problem: "not an RFC 3339 time", Err: err}
		}
		t.Time = at
	}
	switch {
	case rec.EventSource == "":
		return t, &MalformedError{Field: "detail.eventSource", Problem: "missing"}
	case rec.EventName == "":
		return t, &MalformedError{Field: "detail.eventName", Problem: "missing"}
	case rec.EventID == "":
		return t, &MalformedError{Field: "detail.eventID", Problem: "missing"}
	}
	// A failed call changed nothing; the remediator only acts on successful ones.
	if rec.ErrorCode != "" {
		return t, &IgnoredError{Reason: fmt.Sprintf("%s failed with %s, so it changed nothing", rec.EventName, rec.ErrorCode)}
	}
	w, ignored := classify(rec.EventSource, rec.EventName)
	if ignored != nil {
		return t, ignored
	}
	t.Kind, t.Aspects, t.Creates, t.Destroys = w.Kind, w.Aspects, w.Creates, w.Destroys
	required := w.Names
	if rec.EventSource == sourceIAM {
		t.Region = "" // IAM is global: every IAM record says us-east-1, whichever region the trail lives in
	}
	p := rec.RequestParameters
	if p == nil {
		return t, &MalformedError{Field: "detail.requestParameters", Problem: fmt.Sprintf("missing or null, but %s always has %s",
			rec.EventName, strings.Join(required, " and "))}
	}
	t.Trail, t.LogGroup, t.Role, t.Policy, t.LogStream = p.Name, p.LogGroupName, p.RoleName, p.PolicyName, p.LogStreamName
	if t.Trail == "" {
		t.Trail = p.TrailName
	}
	if t.Trail == "" {
		t.Trail = p.ResourceID
	}
	if t.LogGroup == "" {
		t.LogGroup = logGroupName(p.LogGroupIdentifier)
	}
	if p.AlarmName != "" {
		t.Alarms = []string{p.AlarmName}
	} else if len(p.AlarmNames) > 0 {
		t.Alarms = p.AlarmNames
	}
	t.Topic = p.TopicArn
	if i := strings.LastIndexByte(p.SubscriptionArn, ':'); t.Topic == "" && i > 0 {
		t.Topic = p.SubscriptionArn[:i] // arn:aws:sns:REGION:ACCOUNT:TOPIC:SUBSCRIPTION-ID
	}
	given := map[string]string{"name": p.Name, "trailName": p.TrailName, "logGroupName": p.LogGroupName, "roleName": p.RoleName,
		"policyName": p.PolicyName, "logGroupIdentifier": t.LogGroup, "logStreamName": p.LogStreamName, "resourceId": p.ResourceID,
		"alarmName": p.AlarmName, "alarmNames": strings.Join(p.AlarmNames, ","), "topicArn": p.TopicArn, "subscriptionArn": p.SubscriptionArn}
	for _, field := range required {
		if given[field] == "" {
			return t, &MalformedError{Field: "detail.requestParameters." + field, Problem: "missing or empty in a " + rec.EventName + " record"}
		}
	}
	return t, nil
}

// logGroupName is the name in a log group identifier: a name, or an ARN with or without ":*".
func logGroupName(identifier string) string {
	if _, name, ok := strings.Cut(identifier, ":log-group:"); ok && strings.HasPrefix(identifier, "arn:") {
		return strings.TrimSuffix(name, ":*")
	}
	return identifier
}

// classify finds an API call in the catalogue.
func classify(source, name string) (Watched, *IgnoredError) {
	for _, w := range Catalogue {
		if w.Source == source && w.EventName == name {
			return w, nil
		}
	}
	if !slices.ContainsFunc(Catalogue, func(w Watched) bool { return w.Source == source }) {
		return Watched{}, &IgnoredError{Reason: fmt.Sprintf("event source %q is not one trailguard watches", source)}
	}
	return Watched{}, &IgnoredError{Reason: fmt.Sprintf("%s from %s cannot change a trail's CloudWatch Logs delivery", name, source)}
}

// actor names who made the call: a principal ARN, or for a call an AWS service made on someone's behalf, the
// service.
func actor(rec record) string {
	switch {
	case rec.UserIdentity.ARN != "":
		return rec.UserIdentity.ARN
	case rec.UserIdentity.InvokedBy != "":
		return rec.UserIdentity.InvokedBy
	}
	return rec.UserIdentity.PrincipalID
}

// jsonError turns a decoding error into a *MalformedError that names the field, relative to the event's root.
func jsonError(prefix string, err error) *MalformedError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := join(prefix, typeErr.Field)
		problem := fmt.Sprintf("is a JSON %s, want %s", typeErr.Value, typeErr.Type)
		if field == "" {
			problem = fmt.Sprintf("the event is a JSON %s, want an object", typeErr.Value)
		}
		return &MalformedError{Field: field, Problem: problem, Err: err}
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return &MalformedError{Field: prefix, Problem: fmt.Sprintf("invalid or truncated JSON at byte %d", syntaxErr.Offset), Err: err}
	}
	return &MalformedError{Field: prefix, Problem: "cannot decode", Err: err}
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	v := bytes.TrimSpace(raw)
	return len(v) == 0 || bytes.Equal(v, []byte("null"))
}
