package trigger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/trigger"
)

const (
	samples   = "../../events/remediator"
	trailARN  = "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail"
	logGroup  = "aws-cloudtrail-logs-123456789012-management-trail"
	role      = "CloudTrail_CloudWatchLogs_Role"
	policy    = "trailguard-us-east-1-management-trail"
	alice     = "arn:aws:sts::123456789012:assumed-role/Admin/alice"
	aliceIP   = "203.0.113.45"
	ctSource  = "cloudtrail.amazonaws.com"
	logSource = "logs.amazonaws.com"
	iamSource = "iam.amazonaws.com"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samples, name))
	require.NoError(t, err)
	return raw
}

func at(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v
}

// decodeSamples is what each committed sample of an API call or the sweep decodes to.
var decodeSamples = []struct {
	file string
	want trigger.Trigger
}{
	{"update-trail-cleared.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "d23f0824-128b-4f33-8c5c-7fd0a6a3a450",
		EventName: "UpdateTrail", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T09:26:53Z"),
		Trail: "management-trail", Actor: alice, SourceIP: aliceIP}},
	{"update-trail-by-arn.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "6b0d549b-6f03-475a-9600-a35a099950d8",
		EventName: "UpdateTrail", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T09:31:07Z"),
		Trail: trailARN, Actor: "arn:aws:sts::123456789012:assumed-role/OrganizationAccountAccessRole/mallory", SourceIP: "198.51.100.23"}},
	{"update-trail-own.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "a170b338-3926-4059-b28c-105d1fb17c23",
		EventName: "UpdateTrail", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T09:27:04Z"),
		Trail: trailARN, Actor: "arn:aws:sts::123456789012:assumed-role/trailguard-remediator/trailguard-remediator", SourceIP: "44.211.73.150"}},
	{"update-trail-shadow.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "ae97ba94-d0ed-482f-8f6d-05584ef8aa38",
		EventName: "UpdateTrail", Source: ctSource, Region: "eu-west-1", Time: at("2025-03-14T10:15:40Z"),
		Trail: trailARN, Actor: alice, SourceIP: aliceIP}},
	{"stop-logging.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "907a70c3-1012-4037-b64c-e4228c38fb29",
		EventName: "StopLogging", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T10:20:05Z"),
		Trail: trailARN, Actor: alice, SourceIP: aliceIP}},
	{"put-event-selectors.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "e8a4c2f6-1b3d-4e9a-8f70-2c5d9b1a6e34",
		EventName: "PutEventSelectors", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T10:22:41Z"),
		Trail: "management-trail", Actor: alice, SourceIP: aliceIP}},
	{"put-event-configuration.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "b52d8e1f-6c3a-4f9b-9e07-1a4c6d8f2b35",
		EventName: "PutEventConfiguration", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T10:23:58Z"),
		Trail: "management-trail", Actor: alice, SourceIP: aliceIP}},
	{"delete-trail.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "ec66a787-95e7-41d1-b731-af10506bf2ef",
		EventName: "DeleteTrail", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T10:25:33Z"),
		Trail: "management-trail", Actor: alice, SourceIP: aliceIP}},
	{"create-trail.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "4cdd2055-930d-4eaf-94f4-733f3e7d1bfb",
		EventName: "CreateTrail", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T10:40:12Z"),
		Trail: "management-trail", Actor: alice, SourceIP: aliceIP}},
	{"delete-log-group.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "830e07bc-1e39-4f10-92bd-4acefaecbd38",
		EventName: "DeleteLogGroup", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:01:44Z"),
		LogGroup: logGroup, Actor: alice, SourceIP: aliceIP}},
	{"put-retention-policy.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "13deef86-ab10-41d0-b646-e1f40a097c97",
		EventName: "PutRetentionPolicy", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:05:09Z"),
		LogGroup: logGroup, Actor: alice, SourceIP: aliceIP}},
	{"delete-retention-policy.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "7f26144b-9828-4fcd-99a5-4a7bb1fee08f",
		EventName: "DeleteRetentionPolicy", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:07:51Z"),
		LogGroup: logGroup, Actor: alice, SourceIP: aliceIP}},
	// IAM is global: its records say us-east-1 whatever the trail's region, so Region is left empty.
	{"put-role-policy.json", trigger.Trigger{Kind: trigger.KindRole, EventID: "10a3d6b2-aa05-411a-b271-5945795e8229",
		EventName: "PutRolePolicy", Source: iamSource, Time: at("2025-03-14T11:20:27Z"),
		Role: role, Policy: policy, Actor: alice, SourceIP: aliceIP}},
	{"delete-role-policy.json", trigger.Trigger{Kind: trigger.KindRole, EventID: "b774eb52-48db-40af-b215-8370d269a9a5",
		EventName: "DeleteRolePolicy", Source: iamSource, Time: at("2025-03-14T11:22:02Z"),
		Role: role, Policy: policy, Actor: alice, SourceIP: aliceIP}},
	{"delete-role.json", trigger.Trigger{Kind: trigger.KindRole, EventID: "7e62aa0a-1df9-4d78-9c65-39382b0537e6",
		EventName: "DeleteRole", Source: iamSource, Time: at("2025-03-14T11:24:38Z"),
		Role: role, Actor: alice, SourceIP: aliceIP}},
	{"update-assume-role-policy.json", trigger.Trigger{Kind: trigger.KindRole, EventID: "7f1b103c-df15-42b0-aab4-77d26415479c",
		EventName: "UpdateAssumeRolePolicy", Source: iamSource, Time: at("2025-03-14T11:26:15Z"),
		Role: role, Actor: alice, SourceIP: aliceIP}},
	{"delete-log-stream.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "3c9e7b21-4a5d-4e6f-8b90-1c2d3e4f5a6b",
		EventName: "DeleteLogStream", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:10:02Z"),
		LogGroup: logGroup, LogStream: "123456789012_CloudTrail_us-east-1", Destroys: true, Actor: alice, SourceIP: aliceIP}},
	{"associate-kms-key.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
		EventName: "AssociateKmsKey", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:12:40Z"),
		LogGroup: logGroup, Actor: alice, SourceIP: aliceIP}},
	{"disassociate-kms-key.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a",
		EventName: "DisassociateKmsKey", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:13:55Z"),
		LogGroup: logGroup, Actor: alice, SourceIP: aliceIP}},
	// PutLogGroupDeletionProtection names the group by logGroupIdentifier, a name or an ARN.
	{"put-log-group-deletion-protection.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "1e2f3a4b-5c6d-4e7f-9a0b-1c2d3e4f5a6b",
		EventName: "PutLogGroupDeletionProtection", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:15:21Z"),
		LogGroup: logGroup, Actor: alice, SourceIP: aliceIP}},
	// AddTags and RemoveTags name the trail by resourceId, its ARN.
	{"add-tags.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "8f9a0b1c-2d3e-4f5a-9b6c-7d8e9f0a1b2c",
		EventName: "AddTags", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T10:44:18Z"),
		Trail: trailARN, Actor: alice, SourceIP: aliceIP}},
	{"remove-tags.json", trigger.Trigger{Kind: trigger.KindTrail, EventID: "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
		EventName: "RemoveTags", Source: ctSource, Region: "us-east-1", Time: at("2025-03-14T10:46:02Z"),
		Trail: trailARN, Actor: alice, SourceIP: aliceIP}},
	// The CIS monitoring pack: filters by their log group, alarms by name, the topic by ARN.
	{"delete-metric-filter.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "562aad11-4000-51bf-ab5d-904cca6106c0",
		EventName: "DeleteMetricFilter", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:40:02Z"),
		LogGroup: logGroup, Actor: alice, SourceIP: aliceIP}},
	{"put-metric-filter.json", trigger.Trigger{Kind: trigger.KindLogGroup, EventID: "2f7e26d4-6a34-5ce5-8f81-c90fd22ac0d0",
		EventName: "PutMetricFilter", Source: logSource, Region: "us-east-1", Time: at("2025-03-14T11:41:37Z"),
		LogGroup: logGroup, Actor: alice, SourceIP: aliceIP}},
	{"delete-alarms.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "e16f595b-6dfc-582e-8b62-da3d96de76f7",
		EventName: "DeleteAlarms", Source: "monitoring.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:43:12Z"),
		Alarms: []string{"trailguard-cis-management-trail-root-usage"}, Actor: alice, SourceIP: aliceIP}},
	{"put-metric-alarm.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "d497f39f-7960-5507-aa6c-01c1b4c67e82",
		EventName: "PutMetricAlarm", Source: "monitoring.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:44:50Z"),
		Alarms: []string{"trailguard-cis-management-trail-iam-policy-changes"}, Actor: alice, SourceIP: aliceIP}},
	{"disable-alarm-actions.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "8f0e9580-3d36-5399-81c1-fadb3f2650e7",
		EventName: "DisableAlarmActions", Source: "monitoring.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:46:21Z"),
		Alarms: []string{"trailguard-cis-management-trail-cloudtrail-changes", "trailguard-cis-management-trail-iam-policy-changes"},
		Actor:  alice, SourceIP: aliceIP}},
	{"delete-topic.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "42379247-05bd-5a16-93ed-95f7a58ac949",
		EventName: "DeleteTopic", Source: "sns.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:48:05Z"),
		Topic: "arn:aws:sns:us-east-1:123456789012:trailguard-notifications", Actor: alice, SourceIP: aliceIP}},
	{"unsubscribe.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "b74b9c30-4b41-5d9e-9573-ba3972c15bcb",
		EventName: "Unsubscribe", Source: "sns.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:49:33Z"),
		Topic: "arn:aws:sns:us-east-1:123456789012:trailguard-notifications", Actor: alice, SourceIP: aliceIP}},
	{"set-topic-attributes.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "5c1e7a52-8d43-4b7e-a0c1-3f1e2d4c6b71",
		EventName: "SetTopicAttributes", Source: "sns.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:49:33Z"),
		Topic: "arn:aws:sns:us-east-1:123456789012:trailguard-notifications", Actor: alice, SourceIP: aliceIP}},
	{"set-subscription-attributes.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "6d2f8b63-9e54-4c8f-b1d2-4a2f3e5d7c82",
		EventName: "SetSubscriptionAttributes", Source: "sns.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:49:33Z"),
		Topic: "arn:aws:sns:us-east-1:123456789012:trailguard-notifications", Actor: alice, SourceIP: aliceIP}},
	{"subscribe.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "7e3a9c74-af65-4d9a-c2e3-5b3a4f6e8d93",
		EventName: "Subscribe", Source: "sns.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:49:33Z"),
		Topic: "arn:aws:sns:us-east-1:123456789012:trailguard-notifications", Actor: alice, SourceIP: aliceIP}},
	{"add-permission.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "8f4bad85-b076-4eab-d3f4-6c4b5a7f9ea4",
		EventName: "AddPermission", Source: "sns.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:49:33Z"),
		Topic: "arn:aws:sns:us-east-1:123456789012:trailguard-notifications", Actor: alice, SourceIP: aliceIP}},
	{"remove-permission.json", trigger.Trigger{Kind: trigger.KindPack, EventID: "9a5cbe96-c187-4fbc-e4a5-7d5c6b8aafb5",
		EventName: "RemovePermission", Source: "sns.amazonaws.com", Region: "us-east-1", Time: at("2025-03-14T11:49:33Z"),
		Topic: "arn:aws:sns:us-east-1:123456789012:trailguard-notifications", Actor: alice, SourceIP: aliceIP}},
	{"sweep.json", trigger.Trigger{Kind: trigger.KindSweep, EventID: "230d977e-e225-4159-8720-771f8ca81811",
		Source: "aws.events", Time: at("2025-03-14T11:30:00Z")}},
}

// ignoredSamples are the committed samples the decoder must ignore; TestDecodeIgnored says why each is.
var ignoredSamples = []string{"update-trail-failed.json"}

func TestDecodeSamples(t *testing.T) {
	for _, tt := range decodeSamples {
		t.Run(tt.file, func(t *testing.T) {
			got, err := trigger.Decode(read(t, tt.file))
			require.NoError(t, err)
			got.Aspects, got.Creates = 0, false // the catalogue's, checked by TestEveryWatchedCallHasASample
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestEveryWatchedCallHasASample keeps the catalogue and the committed samples in step: every watched call has a
// sample that decodes to its row, and every sample is in decodeSamples or ignoredSamples.
func TestEveryWatchedCallHasASample(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samples, "*.json"))
	require.NoError(t, err)
	decoded := map[string]trigger.Trigger{}
	for _, f := range files {
		got, err := trigger.Decode(read(t, filepath.Base(f)))
		var ignored *trigger.IgnoredError
		if errors.As(err, &ignored) {
			continue
		}
		require.NoError(t, err, f)
		decoded[got.Source+" "+got.EventName] = got
	}
	for _, w := range trigger.Catalogue {
		got, ok := decoded[w.Source+" "+w.EventName]
		if assert.True(t, ok, "no sample in events/remediator for %s %s: add one", w.Source, w.EventName) {
			assert.Equal(t, w.Kind, got.Kind, w.EventName)
			assert.Equal(t, w.Aspects, got.Aspects, w.EventName)
			assert.Equal(t, w.Creates, got.Creates, w.EventName)
		}
	}
	// Every sample is expected to decode to something, or to be ignored: a new one without an expectation fails here.
	expected := map[string]bool{}
	for _, tt := range decodeSamples {
		expected[tt.file] = true
	}
	for _, f := range ignoredSamples {
		expected[f] = true
	}
	for _, f := range files {
		assert.True(t, expected[filepath.Base(f)], "%s has no expectation: add it to decodeSamples or ignoredSamples", f)
	}
	assert.Len(t, expected, len(files), "decodeSamples and ignoredSamples name samples that are not in events/remediator")
}

// PutLogGroupDeletionProtection may name the group by ARN, with or without ":*": the trigger carries its name, as
// every other log group event does.
func TestALogGroupIdentifierByARNBecomesTheGroupsName(t *testing.T) {
	for _, id := range []string{"arn:aws:logs:us-east-1:123456789012:log-group:" + logGroup, "arn:aws:logs:us-east-1:123456789012:log-group:" + logGroup + ":*"} {
		raw := edit(t, "put-log-group-deletion-protection.json", "requestParameters", map[string]any{"logGroupIdentifier": id, "deletionProtectionEnabled": false})
		got, err := trigger.Decode(raw)
		require.NoError(t, err)
		assert.Equal(t, logGroup, got.LogGroup, id)
	}
}

func TestDecodeIgnored(t *testing.T) {
	tests := []struct {
		name       string
		raw        []byte
		wantReason []string
		wantID     string
		wantName   string
	}{
		{"failed call", read(t, ignoredSamples[0]), []string{"AccessDenied", "UpdateTrail"},
			"8e81973e-0bec-47b0-b898-d190f9ebdacc", "UpdateTrail"},
		{"unknown source", read(t, "bad/unknown-source.json"), []string{"s3.amazonaws.com"},
			"a8948c89-3b61-4676-a6bb-7dbd2d1c9af0", "PutBucketPolicy"},
		{"unknown event of a known source", edit(t, "delete-log-group.json", "eventName", "CreateLogGroup"),
			[]string{"CreateLogGroup", "logs.amazonaws.com"}, "830e07bc-1e39-4f10-92bd-4acefaecbd38", "CreateLogGroup"},
		{"IAM event that cannot matter", edit(t, "delete-role.json", "eventName", "CreateUser"),
			[]string{"CreateUser"}, "7e62aa0a-1df9-4d78-9c65-39382b0537e6", "CreateUser"},
		{"unknown detail-type", []byte(`{"version":"0","id":"e1","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}`),
			[]string{"EC2 Instance State-change Notification"}, "e1", ""},
		{"scheduled event from elsewhere", []byte(`{"version":"0","id":"e2","detail-type":"Scheduled Event","source":"custom.app","detail":{}}`),
			[]string{"custom.app"}, "e2", ""},
		// A failed call is ignored even when CloudTrail recorded no request parameters for it.
		{"failed call without parameters", edit(t, "update-trail-failed.json", "requestParameters", nil),
			[]string{"AccessDenied"}, "8e81973e-0bec-47b0-b898-d190f9ebdacc", "UpdateTrail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := trigger.Decode(tt.raw)
			var ignored *trigger.IgnoredError
			require.ErrorAs(t, err, &ignored)
			for _, w := range tt.wantReason {
				assert.Contains(t, ignored.Reason, w)
			}
			assert.Equal(t, tt.wantID, got.EventID, "the partial trigger keeps the event id for the log line")
			assert.Equal(t, tt.wantName, got.EventName)
			var malformed *trigger.MalformedError
			assert.False(t, errors.As(err, &malformed))
		})
	}
	got, _ := trigger.Decode(read(t, "update-trail-failed.json"))
	assert.Equal(t, "arn:aws:sts::123456789012:assumed-role/ReadOnly/bob", got.Actor)
	assert.Equal(t, "192.0.2.77", got.SourceIP)
}

func TestDecodeMalformed(t *testing.T) {
	tests := []struct {
		name      string
		raw       []byte
		wantField string // exact MalformedError.Field, also required in the message
		wantMsg   string // further text the message must contain
	}{
		{"empty", nil, "", "empty"},
		{"blank", []byte(" \n\t"), "", "empty"},
		{"truncated sample", read(t, "bad/truncated.json"), "", "truncated"},
		{"not an object", []byte(`["a"]`), "", "array"},
		{"null", []byte(`null`), "detail-type", "missing"},
		{"no detail-type", []byte(`{"id":"x","detail":{}}`), "detail-type", "missing"},
		{"no detail", read(t, "bad/no-detail.json"), "detail", "missing"},
		{"null detail", edit(t, "delete-log-group.json", "", nil), "detail", "missing"},
		{"detail not an object", []byte(`{"detail-type":"AWS API Call via CloudTrail","detail":"x"}`), "detail", "string"},
		{"sweep without detail", []byte(`{"id":"s","detail-type":"Scheduled Event","source":"aws.events"}`), "detail", "missing"},
		{"null requestParameters", read(t, "bad/null-request-parameters.json"), "detail.requestParameters", "UpdateTrail"},
		{"missing requestParameters", edit(t, "delete-role.json", "requestParameters", deleteKey), "detail.requestParameters", "roleName"},
		{"no trail name", edit(t, "update-trail-cleared.json", "requestParameters", map[string]any{"cloudWatchLogsLogGroupArn": ""}),
			"detail.requestParameters.name", "UpdateTrail"},
		{"empty trail name", edit(t, "stop-logging.json", "requestParameters", map[string]any{"name": ""}),
			"detail.requestParameters.name", "StopLogging"},
		{"no log group name", edit(t, "delete-log-group.json", "requestParameters", map[string]any{"retentionInDays": 1}),
			"detail.requestParameters.logGroupName", "DeleteLogGroup"},
		{"no role name", edit(t, "update-assume-role-policy.json", "requestParameters", map[string]any{"policyDocument": "%7B%7D"}),
			"detail.requestParameters.roleName", "UpdateAssumeRolePolicy"},
		{"no policy name", edit(t, "delete-role-policy.json", "requestParameters", map[string]any{"roleName": role}),
			"detail.requestParameters.policyName", "DeleteRolePolicy"},
		{"name of the wrong type", edit(t, "update-trail-cleared.json", "requestParameters", map[string]any{"name": 42}),
			"detail.requestParameters.name", "number"},
		{"requestParameters of the wrong type", edit(t, "delete-trail.json", "requestParameters", "management-trail"),
			"detail.requestParameters", "string"},
		{"eventName of the wrong type", edit(t, "delete-trail.json", "eventName", true), "detail.eventName", "bool"},
		{"userIdentity of the wrong type", edit(t, "delete-trail.json", "userIdentity", []any{}), "detail.userIdentity", "array"},
		{"bad eventTime", edit(t, "delete-trail.json", "eventTime", "yesterday"), "detail.eventTime", "RFC 3339"},
		{"bad envelope time", []byte(`{"detail-type":"Scheduled Event","source":"aws.events","id":"s","time":"soon","detail":{}}`), "time", "RFC 3339"},
		{"envelope time not a string", []byte(`{"detail-type":"Scheduled Event","source":"aws.events","id":"s","time":5,"detail":{}}`), "time", "RFC 3339"},
		{"detail-type of the wrong type", []byte(`{"detail-type":7}`), "detail-type", "number"},
		{"no eventSource", edit(t, "delete-trail.json", "eventSource", deleteKey), "detail.eventSource", "missing"},
		{"no eventName", edit(t, "delete-trail.json", "eventName", deleteKey), "detail.eventName", "missing"},
		{"no eventID", edit(t, "delete-trail.json", "eventID", deleteKey), "detail.eventID", "missing"},
		{"trailing garbage", append(read(t, "sweep.json"), '}'), "", "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := trigger.Decode(tt.raw)
			var malformed *trigger.MalformedError
			require.ErrorAs(t, err, &malformed)
			var ignored *trigger.IgnoredError
			assert.False(t, errors.As(err, &ignored), "a malformed event must be retried, not ignored")
			assert.Equal(t, tt.wantField, malformed.Field)
			assert.Contains(t, err.Error(), tt.wantField)
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

// deleteKey asks edit to remove the key.
var deleteKey = &struct{}{}

// edit loads a sample and sets one key of its detail (key "" replaces the whole detail).
func edit(t testing.TB, file, key string, value any) []byte {
	t.Helper()
	var env map[string]any
	require.NoError(t, json.Unmarshal(read(t, file), &env))
	detail, _ := env["detail"].(map[string]any)
	switch {
	case key == "":
		env["detail"] = value
	case value == deleteKey:
		delete(detail, key)
	default:
		detail[key] = value
	}
	raw, err := json.Marshal(env)
	require.NoError(t, err)
	return raw
}

// bigEvent is an UpdateTrail event of about 256 KB, the most EventBridge delivers: the bulk is in fields the
// decoder skips (responseElements), as in real oversized records.
func bigEvent(t testing.TB) []byte {
	t.Helper()
	raw := edit(t, "update-trail-cleared.json", "responseElements", map[string]any{"padding": strings.Repeat("x", 256<<10-4<<10)})
	require.Greater(t, len(raw), 250<<10)
	return raw
}

func TestDecodeLargeEvent(t *testing.T) {
	got, err := trigger.Decode(bigEvent(t))
	require.NoError(t, err)
	assert.Equal(t, "management-trail", got.Trail)
	// The decoder must not keep (or copy per field) the padding: allocation stays well under a few copies.
	raw := bigEvent(t)
	allocated := testing.AllocsPerRun(5, func() { _, _ = trigger.Decode(raw) })
	assert.Less(t, allocated, 100.0)
}

func FuzzDecode(f *testing.F) {
	for _, pattern := range []string{"*.json", "bad/*.json"} {
		files, err := filepath.Glob(filepath.Join(samples, pattern))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed files for %s: %v", pattern, err)
		}
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"iam.amazonaws.com","eventName":"DeleteRole","eventID":"x","requestParameters":{"roleName":1}}}`))
	known := map[trigger.Kind]bool{trigger.KindSweep: true, trigger.KindTrail: true, trigger.KindLogGroup: true, trigger.KindRole: true,
		trigger.KindPack: true}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := trigger.Decode(raw)
		if err != nil {
			var ignored *trigger.IgnoredError
			var malformed *trigger.MalformedError
			require.False(t, !errors.As(err, &ignored) && !errors.As(err, &malformed),
				"error of unexpected type %T: %v", err, err)
			return
		}
		require.True(t, known[got.Kind], "nil error with unknown kind %q", got.Kind)
		require.NotEmpty(t, got.EventID, "nil error without an event id")
		require.False(t, got.Kind != trigger.KindSweep && got.Trail == "" && got.LogGroup == "" && got.Role == "" &&
			len(got.Alarms) == 0 && got.Topic == "",
			"nil error for %s naming no resource", got.Kind)
		if bytes.Contains(raw, []byte("errorCode")) && got.Kind != trigger.KindSweep {
			var rec struct {
				Detail struct {
					ErrorCode string `json:"errorCode"`
				} `json:"detail"`
			}
			if json.Unmarshal(raw, &rec) == nil {
				require.Empty(t, rec.Detail.ErrorCode, "failed call %s accepted", rec.Detail.ErrorCode)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, bm := range []struct {
		name string
		raw  []byte
	}{
		{"UpdateTrail", read(b, "update-trail-cleared.json")},
		{"Sweep", read(b, "sweep.json")},
		{"UpdateTrail256KB", bigEvent(b)},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.raw)))
			for b.Loop() {
				_, err := trigger.Decode(bm.raw)
				require.NoError(b, err)
			}
		})
	}
}
