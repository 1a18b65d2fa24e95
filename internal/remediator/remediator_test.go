package remediator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/remediator"
	"github.com/trailguard/trailguard/internal/spec"
)

func TestMain(m *testing.M) { os.Exit(testbed.RunWithMoto(m)) }

const (
	logGroup = "aws-cloudtrail-logs-123456789012-management-trail"
	roleName = "CloudTrail_CloudWatchLogs_Role"
	policy   = "trailguard-us-east-1-management-trail"
	tamperer = "arn:aws:sts::123456789012:assumed-role/Admin/alice"
	tamperIP = "203.0.113.45"
	// foreignKey is another account's key, as an attacker would associate with the log group and then disable.
	foreignKey = "arn:aws:kms:us-east-1:210987654321:key/22222222-2222-2222-2222-222222222222"
)

// fixture is a registered, wired trail, a remediator against moto whose calls are recorded and can be faulted,
// and an inbox subscribed to the notification topic.
type fixture struct {
	ctx      context.Context
	moto     *testbed.Moto
	aws      *testbed.AWS
	faults   *testbed.Faults
	rec      *testbed.Recorder
	engine   *delivery.Engine
	reg      *registry.Registry
	inbox    *testbed.Inbox
	topicARN string
	logs     *testbed.Logs
	metrics  *testbed.Logs
	now      time.Time
	r        *remediator.Remediator
	target   delivery.Target
}

func newFixture(t testing.TB, s spec.Spec) *fixture {
	t.Helper()
	m := testbed.StartMoto(t)
	f := &fixture{ctx: context.Background(), moto: m, faults: testbed.NewFaults(), rec: &testbed.Recorder{},
		inbox: testbed.NewInbox(), logs: &testbed.Logs{}, metrics: &testbed.Logs{}, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	t.Cleanup(f.inbox.Close)
	f.aws = testbed.NewAWS(m.Config(testbed.Region))
	require.NoError(t, f.aws.CreateRegistryTable(f.ctx, testbed.RegistryTable))
	require.NoError(t, f.aws.CreateDeliveryRole(f.ctx))
	_, err := f.aws.CreateTrail(f.ctx, testbed.TrailName, testbed.TrailOptions{})
	require.NoError(t, err)
	topic, err := f.aws.SNS.CreateTopic(f.ctx, &sns.CreateTopicInput{Name: aws.String("trailguard-notifications")})
	require.NoError(t, err)
	f.topicARN = aws.ToString(topic.TopicArn)
	require.NoError(t, f.inbox.Subscribe(f.ctx, f.aws.SNS, f.topicARN, "/ops", ""))

	cfg := m.Config(testbed.Region, testbed.WithFaults(f.faults), testbed.WithRecorder(f.rec))
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	f.engine = delivery.New(delivery.NewClients(cfg), testbed.Region, delivery.WithLogger(log),
		delivery.WithPropagationBackoff(time.Millisecond, 5*time.Millisecond, 2*time.Second),
		delivery.WithDeliveryRole(testbed.DeliveryRoleARN), delivery.WithPermissionsBoundary(testbed.DeliveryBoundaryARN))
	f.reg = registry.New(dynamodb.NewFromConfig(cfg), testbed.RegistryTable)
	f.r = remediator.New(f.engine, f.reg, notify.NewNotifier(sns.NewFromConfig(cfg), f.topicARN),
		remediator.WithLogger(log), remediator.WithMetrics(f.metrics), remediator.WithClock(func() time.Time { return f.now }))
	f.register(t, s)
	f.rec.Reset()
	return f
}

var owner = registry.Owner{StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", LogicalResourceID: "TrailDelivery"}

// register wires and registers the trail as the provider's Create does.
func (f *fixture) register(t testing.TB, s spec.Spec) {
	t.Helper()
	s.TrailName = testbed.TrailName
	if s.Remediation == "" {
		s.Remediation, s.EnforceLogging = spec.Enforce, true
	}
	var prior *delivery.Target
	if f.target.TrailARN != "" {
		prior = &f.target
	}
	target, live, err := f.engine.Resolve(f.ctx, delivery.Caller{Partition: "aws", Account: testbed.Account}, s, prior)
	require.NoError(t, err)
	_, err = f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
	require.NoError(t, err)
	require.NoError(t, f.reg.Claim(f.ctx, registry.Record{TrailARN: target.TrailARN, Owner: owner, Spec: s, Target: target}))
	_, err = f.engine.MarkRegistered(f.ctx, target, live, owner.StackID)
	require.NoError(t, err)
	f.target = target
}

// deliver hands the remediator a sample event from events/remediator, as EventBridge would.
func (f *fixture) deliver(t testing.TB, name string) error {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "remediator", name+".json"))
	require.NoError(t, err)
	return f.r.Handle(f.ctx, raw)
}

func (f *fixture) record(t *testing.T) registry.Record {
	t.Helper()
	rec, found, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	require.True(t, found)
	return rec
}

func (f *fixture) linked(t testing.TB) bool {
	t.Helper()
	group, role, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	return group == f.target.LogGroupARN() && role == f.target.RoleARN()
}

// notifications waits for n notifications and returns everything received.
func (f *fixture) notifications(t *testing.T, n int) []testbed.SNSMessage {
	t.Helper()
	require.NoError(t, f.inbox.WaitFor(n, 10*time.Second))
	return f.inbox.Messages("/ops")
}

func (f *fixture) tamper(t testing.TB) {
	t.Helper()
	_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
	require.NoError(t, err)
}

func TestTamperingUpdateTrailIsRepaired(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	f.tamper(t)
	require.False(t, f.linked(t))

	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.True(t, f.linked(t), "the trail delivers to the desired log group again")

	got := f.notifications(t, 1)
	require.Len(t, got, 1, "one notification per repair")
	assert.Contains(t, got[0].Subject, "repaired")
	assert.Contains(t, got[0].Message, tamperer)
	assert.Contains(t, got[0].Message, tamperIP)
	assert.Contains(t, got[0].Message, "UpdateTrail")

	rec := f.record(t)
	assert.Equal(t, registry.Compliant, rec.Status)
	require.NotNil(t, rec.LastRemediation)
	assert.Equal(t, tamperer, rec.LastRemediation.Actor)
	assert.Equal(t, "repaired", rec.LastRemediation.Action)

	decision := findJSON(t, f.logs.Lines(), "decision")
	assert.Equal(t, tamperer, decision["actor"])
	assert.Equal(t, tamperIP, decision["source_ip"])
	assert.Equal(t, "repaired", decision["action"])
	metrics := findJSON(t, f.metrics.Lines(), "")
	assert.EqualValues(t, 1, metrics["Repaired"])
}

// findJSON returns the first JSON line whose msg is msg (any line when msg is empty).
func findJSON(t *testing.T, lines []string, msg string) map[string]any {
	t.Helper()
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && (msg == "" || m["msg"] == msg) {
			return m
		}
	}
	t.Fatalf("no JSON line %q in %v", msg, lines)
	return nil
}

// tampering is one change an attacker makes, the event EventBridge delivers for it, and how to see it undone.
type tampering struct {
	event  string
	do     func(f *fixture, t testing.TB)
	undone func(f *fixture, t testing.TB) bool
}

var tamperings = []tampering{
	{"update-trail-cleared", (*fixture).tamper, (*fixture).linked},
	{"stop-logging", func(f *fixture, t testing.TB) {
		_, err := f.aws.CloudTrail.StopLogging(f.ctx, &cloudtrail.StopLoggingInput{Name: aws.String(testbed.TrailName)})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool {
		logging, err := f.aws.IsLogging(f.ctx, testbed.TrailARN)
		require.NoError(t, err)
		return logging
	}},
	{"delete-log-group", func(f *fixture, t testing.TB) {
		// Only an attacker who may also turn deletion protection off gets this far.
		require.NoError(t, f.aws.DeleteLogGroup(f.ctx, logGroup))
	}, func(f *fixture, t testing.TB) bool {
		g, found, err := f.aws.LogGroup(f.ctx, logGroup)
		require.NoError(t, err)
		return found && f.linked(t) && aws.ToBool(g.DeletionProtectionEnabled)
	}},
}

// guardTamperings destroy or hide the audit events already in the log group without unlinking anything.
var guardTamperings = []tampering{
	{"put-log-group-deletion-protection", func(f *fixture, t testing.TB) {
		_, err := f.aws.Logs.PutLogGroupDeletionProtection(f.ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
			LogGroupIdentifier: aws.String(logGroup), DeletionProtectionEnabled: aws.Bool(false)})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool {
		g, _, err := f.aws.LogGroup(f.ctx, logGroup)
		require.NoError(t, err)
		return aws.ToBool(g.DeletionProtectionEnabled)
	}},
	{"associate-kms-key", func(f *fixture, t testing.TB) {
		_, err := f.aws.Logs.AssociateKmsKey(f.ctx, &cloudwatchlogs.AssociateKmsKeyInput{LogGroupName: aws.String(logGroup),
			KmsKeyId: aws.String(foreignKey)})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool {
		g, _, err := f.aws.LogGroup(f.ctx, logGroup)
		require.NoError(t, err)
		return aws.ToString(g.KmsKeyId) == ""
	}},
	{"delete-role-policy", func(f *fixture, t testing.TB) {
		_, err := f.aws.IAM.DeleteRolePolicy(f.ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(policy)})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool {
		_, err := f.aws.RolePolicy(f.ctx, roleName, policy)
		return err == nil
	}},
	{"put-retention-policy", func(f *fixture, t testing.TB) {
		_, err := f.aws.Logs.PutRetentionPolicy(f.ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(logGroup), RetentionInDays: aws.Int32(1)})
		require.NoError(t, err)
	}, func(f *fixture, t testing.TB) bool {
		g, _, err := f.aws.LogGroup(f.ctx, logGroup)
		require.NoError(t, err)
		return aws.ToInt32(g.RetentionInDays) == spec.DefaultRetentionInDays
	}},
}

func TestEveryTamperingIsUndoneAndNotified(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	for i, tc := range tamperings {
		tc.do(f, t)
		require.False(t, tc.undone(f, t), tc.event)
		require.NoError(t, f.deliver(t, tc.event), tc.event)
		assert.True(t, tc.undone(f, t), tc.event)
		got := f.notifications(t, i+1)
		assert.Contains(t, got[i].Subject, "repaired", tc.event)
	}
}

func TestOwnEventsAndMatchingStatesWriteNothing(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	for _, name := range []string{"update-trail-own", "update-trail-cleared", "stop-logging", "delete-log-group",
		"put-retention-policy", "delete-role-policy", "update-assume-role-policy", "put-event-selectors",
		"put-log-group-deletion-protection", "associate-kms-key", "disassociate-kms-key", "add-tags", "remove-tags", "sweep"} {
		f.rec.Reset()
		require.NoError(t, f.deliver(t, name))
		assert.Empty(t, f.rec.Writes(), "%s: the live state matches, so nothing is written (no loop)", name)
	}
	assert.Empty(t, f.inbox.Messages("/ops"))
}

func TestStopLoggingIsUndone(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.CloudTrail.StopLogging(f.ctx, &cloudtrail.StopLoggingInput{Name: aws.String(testbed.TrailName)})
	require.NoError(t, err)

	require.NoError(t, f.deliver(t, "stop-logging"))
	logging, err := f.aws.IsLogging(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.True(t, logging)
	assert.Equal(t, []string{"CloudTrail.StartLogging"}, f.rec.ResourceWrites())
}

func TestStopLoggingIsOnlyReportedWithoutEnforceLogging(t *testing.T) {
	f := newFixture(t, spec.Spec{Remediation: spec.Enforce, EnforceLogging: false})
	_, err := f.aws.CloudTrail.StopLogging(f.ctx, &cloudtrail.StopLoggingInput{Name: aws.String(testbed.TrailName)})
	require.NoError(t, err)

	require.NoError(t, f.deliver(t, "stop-logging"))
	logging, err := f.aws.IsLogging(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.False(t, logging)
	assert.Empty(t, f.rec.ResourceWrites())
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Message, "reported")
	assert.Equal(t, registry.Drifted, f.record(t).Status)
}

func TestDeletedLogGroupIsRecreatedAndRelinked(t *testing.T) {
	f := newFixture(t, spec.Spec{RetentionInDays: 90})
	require.NoError(t, f.aws.DeleteLogGroup(f.ctx, logGroup))

	require.NoError(t, f.deliver(t, "delete-log-group"))
	g, found, err := f.aws.LogGroup(f.ctx, logGroup)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, int32(90), aws.ToInt32(g.RetentionInDays), "recreated with the desired retention")
	assert.True(t, f.linked(t))
	assert.Contains(t, f.rec.ResourceWrites(), "CloudWatch Logs.CreateLogGroup")
	assert.Contains(t, f.rec.ResourceWrites(), "CloudTrail.UpdateTrail", "a recreated group is relinked")
}

func TestDeletedPolicyIsRestoredAndChangedTrustIsOnlyReported(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.IAM.DeleteRolePolicy(f.ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(policy)})
	require.NoError(t, err)
	require.NoError(t, f.deliver(t, "delete-role-policy"))
	doc, err := f.aws.RolePolicy(f.ctx, roleName, policy)
	require.NoError(t, err)
	assert.Contains(t, doc, "logs:PutLogEvents")

	_, err = f.aws.IAM.UpdateAssumeRolePolicy(f.ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(roleName),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	require.NoError(t, err)
	f.rec.Reset()
	require.NoError(t, f.deliver(t, "update-assume-role-policy"))
	assert.Empty(t, f.rec.ResourceWrites(), "no trailguard function may write a trust policy: a person must restore it")
	got := f.notifications(t, 2)
	assert.Contains(t, got[1].Message, "no longer lets cloudtrail.amazonaws.com assume it")
	assert.Contains(t, got[1].Message, "reported")
}

func TestReportModeWritesNothingAndNotifies(t *testing.T) {
	f := newFixture(t, spec.Spec{Remediation: spec.Report})
	f.tamper(t)
	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.False(t, f.linked(t))
	assert.Empty(t, f.rec.ResourceWrites())
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Message, tamperer)
}

func TestEventsForUnregisteredOrForeignResourcesDoNothing(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	require.NoError(t, f.reg.Release(f.ctx, testbed.TrailARN, f.record(t).Owner))
	f.tamper(t)
	f.rec.Reset()
	for _, name := range []string{"update-trail-cleared", "update-trail-failed", "update-trail-shadow", "delete-log-group"} {
		require.NoError(t, f.deliver(t, name), name)
	}
	assert.Empty(t, f.rec.Writes())
	assert.False(t, f.linked(t))
}

func TestSixTamperingsInAnHourMakeTheTrailContested(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	for i := range 6 {
		f.tamper(t)
		require.NoError(t, f.deliver(t, "update-trail-cleared"), "tampering %d", i+1)
	}
	assert.False(t, f.linked(t), "no sixth repair on an event")
	assert.Equal(t, registry.Contested, f.record(t).Status)
	got := f.notifications(t, 6)
	require.Len(t, got, 6, "five repairs and one alert")
	assert.Contains(t, got[5].Subject, "contested")

	// An hour without repairs later, events repair again.
	f.now = f.now.Add(time.Hour)
	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.True(t, f.linked(t))
}

// Contested must not be an off switch: whoever keeps unlinking the trail gets it repaired at every sweep, and every
// such repair is an alert.
func TestAContestedTrailIsStillRepairedByEverySweep(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	for range 6 {
		f.tamper(t)
		require.NoError(t, f.deliver(t, "update-trail-cleared"))
	}
	require.Equal(t, registry.Contested, f.record(t).Status)

	for sweep := range 3 {
		f.now = f.now.Add(15 * time.Minute)
		f.tamper(t)
		require.NoError(t, f.deliver(t, "update-trail-cleared"))
		assert.False(t, f.linked(t), "events do not race the tamperer (sweep %d)", sweep)
		require.NoError(t, f.deliver(t, "sweep"))
		assert.True(t, f.linked(t), "the sweep repairs it (sweep %d)", sweep)
		assert.Equal(t, registry.Contested, f.record(t).Status)
	}
	got := f.notifications(t, 6+3*2)
	assert.Contains(t, got[len(got)-1].Subject, "contested", "the sweep's repair of a contested trail is an alert")
	assert.Contains(t, got[len(got)-1].Message, "repaired by the sweep")
}

func TestASelectorChangeThatHidesManagementWritesIsAlerted(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.CloudTrail.PutEventSelectors(f.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(testbed.TrailName),
		EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(false), ReadWriteType: cttypes.ReadWriteTypeAll}}})
	require.NoError(t, err)

	require.NoError(t, f.deliver(t, "put-event-selectors"))
	assert.Empty(t, f.rec.ResourceWrites())
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Message, "no longer records management write events")
	assert.Contains(t, got[0].Message, tamperer)

	// The sweep finds it too; it was told already, so it is not mailed again.
	require.NoError(t, f.deliver(t, "sweep"))
	assert.Equal(t, registry.Drifted, f.record(t).Status)
}

// The registry is a trust root: a record edited behind the provider's back is refused, not enforced.
func TestARecordThatBreaksTheProvidersRulesIsRefusedAndAlerted(t *testing.T) {
	cases := map[string]func(rec *registry.Record){
		"a key of another account": func(rec *registry.Record) { rec.Target.KmsKeyID = "arn:aws:kms:us-east-1:210987654321:key/evil" },
		"a log group of another account": func(rec *registry.Record) {
			rec.Target.Account = "210987654321"
		},
		"a retention CloudWatch Logs does not allow": func(rec *registry.Record) { rec.Target.RetentionInDays = 2 },
		"another inline policy":                      func(rec *registry.Record) { rec.Target.PolicyName = "admin" },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, spec.Spec{})
			rec := f.record(t)
			edit(&rec)
			require.NoError(t, f.reg.Save(f.ctx, rec))
			_, err := f.aws.IAM.DeleteRolePolicy(f.ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(policy)})
			require.NoError(t, err)
			f.tamper(t)
			f.rec.Reset()

			require.NoError(t, f.deliver(t, "sweep"))
			assert.Empty(t, f.rec.ResourceWrites(), "nothing an invalid record asks for is done")
			got := f.notifications(t, 1)
			assert.Contains(t, got[0].Subject, "REFUSED")
			assert.Contains(t, got[0].Message, "registry record refused")
		})
	}
}

func TestARegistrationThatVanishesWithoutADeleteIsNoticed(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.DynamoDB.DeleteItem(f.ctx, &dynamodb.DeleteItemInput{TableName: aws.String(testbed.RegistryTable),
		Key: map[string]ddbtypes.AttributeValue{registry.KeyAttribute: &ddbtypes.AttributeValueMemberS{Value: testbed.TrailARN}}})
	require.NoError(t, err)

	require.NoError(t, f.deliver(t, "sweep"))
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Subject, "lost the registration")
	assert.Contains(t, got[0].Message, owner.StackID)
}

func TestRecordsOffOrBeingDeletedAreLeftAlone(t *testing.T) {
	for name, edit := range map[string]func(rec *registry.Record){
		"remediation off":  func(rec *registry.Record) { rec.Spec.Remediation = spec.Off },
		"Delete under way": func(rec *registry.Record) { rec.Status = registry.Deleting },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, spec.Spec{})
			rec := f.record(t)
			edit(&rec)
			require.NoError(t, f.reg.Save(f.ctx, rec))
			f.tamper(t)
			f.rec.Reset()
			require.NoError(t, f.deliver(t, "update-trail-cleared"))
			require.NoError(t, f.deliver(t, "sweep"))
			assert.Empty(t, f.rec.Writes(), f.logs.Lines())
			assert.False(t, f.linked(t))
		})
	}
}

func TestDeletedTrailIsGoneAndRecreatedTrailIsWiredAgain(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	_, err := f.aws.CloudTrail.DeleteTrail(f.ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(testbed.TrailName)})
	require.NoError(t, err)
	require.NoError(t, f.deliver(t, "delete-trail"))
	assert.Equal(t, registry.Gone, f.record(t).Status)
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Message, "gone")

	_, err = f.aws.CloudTrail.CreateTrail(f.ctx, &cloudtrail.CreateTrailInput{Name: aws.String(testbed.TrailName),
		S3BucketName: aws.String(testbed.TrailBucket(testbed.TrailName)), IsMultiRegionTrail: aws.Bool(true)})
	require.NoError(t, err)
	_, err = f.aws.CloudTrail.StartLogging(f.ctx, &cloudtrail.StartLoggingInput{Name: aws.String(testbed.TrailName)})
	require.NoError(t, err)
	// Its owner re-creates it consenting to the registered stack (a new trail: issue 19, case 6).
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, owner.StackID))
	require.NoError(t, f.deliver(t, "create-trail"))
	assert.True(t, f.linked(t))
	assert.Equal(t, registry.Compliant, f.record(t).Status)
}

func TestSweepRepairsDriftNoEventReported(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	f.tamper(t)
	_, err := f.aws.IAM.DeleteRolePolicy(f.ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(policy)})
	require.NoError(t, err)

	require.NoError(t, f.deliver(t, "sweep"))
	assert.True(t, f.linked(t))
	_, err = f.aws.RolePolicy(f.ctx, roleName, policy)
	assert.NoError(t, err)
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Message, "Sweep")
}

func TestSweepAlertsOnADeliveryError(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	// moto cannot make delivery fail: answer GetTrailStatus as CloudTrail does for a trail whose role is refused.
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "GetTrailStatus", Reply: `{"IsLogging":true,` +
		`"LatestCloudWatchLogsDeliveryError":"AccessDeniedException: User is not authorized to perform logs:PutLogEvents",` +
		`"LatestCloudWatchLogsDeliveryTime":` + jsonTime(f.now.Add(-2*time.Hour)) + `}`})

	require.NoError(t, f.deliver(t, "sweep"))
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Message, "AccessDeniedException")
	assert.Empty(t, f.rec.ResourceWrites(), "configuration matches: nothing to repair, only to tell")
}

func jsonTime(t time.Time) string {
	b, _ := json.Marshal(float64(t.Unix()))
	return string(b)
}

func TestThrottlingAndServerErrorsOnEveryCallStillConverge(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	f.tamper(t)
	f.faults.Add(testbed.Fault{FirstAttempts: true, Code: "ThrottlingException", Message: "Rate exceeded"})
	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.True(t, f.linked(t))
	calls := len(f.rec.Calls())
	assert.Equal(t, calls/2, f.faults.Injected(), "every call was throttled once, then retried: %v", f.rec.Calls())

	f.tamper(t)
	f.faults.Clear()
	f.faults.Add(testbed.Fault{FirstAttempts: true, Status: 503, Code: "ServiceUnavailable", Message: "try again"})
	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.True(t, f.linked(t))
}

func TestAPermanentFailureReturnsAnError(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	f.tamper(t)
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Code: "AccessDeniedException",
		Message: "User: arn:aws:sts::123456789012:assumed-role/trailguard-remediator/x is not authorized to perform: cloudtrail:UpdateTrail"})
	err := f.deliver(t, "update-trail-cleared")
	require.Error(t, err, "Lambda must retry, then send the event to the on-failure queue")
	assert.Contains(t, err.Error(), "AccessDenied")
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Message, "failed")
	// A repair that did not happen is never told or stored as one.
	assert.True(t, strings.HasPrefix(got[0].Subject, "trailguard FAILED to repair trail"), "subject: %s", got[0].Subject)
}

func TestMalformedEventsAreErrorsAndIgnoredOnesAreNot(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	for _, name := range []string{"bad/truncated", "bad/no-detail", "bad/null-request-parameters"} {
		assert.Error(t, f.deliver(t, name), name)
	}
	assert.NoError(t, f.deliver(t, "bad/unknown-source"))
	big := `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.cloudtrail","detail":{"eventSource":"cloudtrail.amazonaws.com","eventName":"UpdateTrail","eventID":"e","awsRegion":"us-east-1","requestParameters":{"name":"management-trail","pad":"` +
		strings.Repeat("x", 256*1024) + `"}}}`
	assert.NoError(t, f.r.Handle(f.ctx, []byte(big)))
	assert.Empty(t, f.rec.Writes())
}

func TestANoOpEventIsOneReadCall(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	require.NoError(t, f.deliver(t, "update-trail-own")) // the first event of a container reads the registry
	f.rec.Reset()
	require.NoError(t, f.deliver(t, "update-trail-own"))
	assert.Equal(t, []string{"CloudTrail.GetTrail"}, f.rec.Calls())
}

// A stack update changes the desired state while the remediator holds an older snapshot: a repair must still go to
// what is desired now, never back to the old log group.
func TestRepairsFollowTheDesiredStateNotTheSnapshot(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	require.NoError(t, f.deliver(t, "update-trail-own"))
	f.register(t, spec.Spec{LogGroupName: "/trailguard/new-group"}) // the provider's Update
	f.tamper(t)

	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:logs:us-east-1:123456789012:log-group:/trailguard/new-group:*", group)
}

// A trail registered after the remediator read its registry snapshot is guarded against its very first tampering.
func TestATrailRegisteredAfterTheSnapshotIsGuardedAtOnce(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	require.NoError(t, f.reg.Release(f.ctx, testbed.TrailARN, f.record(t).Owner))
	require.NoError(t, f.deliver(t, "update-trail-own")) // snapshot: nothing registered
	f.register(t, spec.Spec{})
	f.tamper(t)

	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.True(t, f.linked(t))
}

// A report-mode trail with lasting drift is reported once, not at every sweep; new drift is reported again.
func TestLastingDriftIsReportedOnce(t *testing.T) {
	f := newFixture(t, spec.Spec{Remediation: spec.Report})
	f.tamper(t)
	for range 3 {
		require.NoError(t, f.deliver(t, "sweep"))
	}
	f.rec.Reset()
	require.NoError(t, f.deliver(t, "sweep"))
	assert.Empty(t, f.rec.Writes(), "a repeated report writes nothing")

	_, err := f.aws.CloudTrail.StopLogging(f.ctx, &cloudtrail.StopLoggingInput{Name: aws.String(testbed.TrailName)})
	require.NoError(t, err)
	require.NoError(t, f.deliver(t, "sweep"))
	got := f.notifications(t, 2)
	require.Len(t, got, 2, "the first report, then the new drift")
	assert.Contains(t, got[1].Message, "logging is stopped")
	repeated := 0
	for _, l := range f.logs.Lines() {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "decision" && m["repeated"] == true {
			repeated++
			assert.Equal(t, "reported", m["action"])
		}
	}
	assert.Equal(t, 3, repeated, "the three sweeps after the first report are logged as repeated")
}

// roundTripLatency makes every AWS call take this long, so that calls made at once overlap and calls that wait on
// each other do not, whatever the machine's load: the critical path is then counted, never timed.
const roundTripLatency = testbed.RoundTripLatency

func TestATamperingEventIsRepairedInAtMostFourRoundTrips(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(map[bool]string{false: "fresh process", true: "warm process"}[warm], func(t *testing.T) {
			f := newFixture(t, spec.Spec{})
			if warm {
				require.NoError(t, f.deliver(t, "update-trail-own")) // fills the registry snapshot
			}
			f.tamper(t)
			f.rec.Reset()
			f.rec.Latency = roundTripLatency
			require.NoError(t, f.deliver(t, "update-trail-cleared"))
			f.rec.Latency = 0
			assert.True(t, f.linked(t))
			assert.LessOrEqual(t, f.rec.CriticalPath(), 4, "calls: %v", f.rec.Calls())
			assert.Equal(t, []string{"CloudTrail.UpdateTrail"}, f.rec.ResourceWrites())
		})
	}
}

func TestASweepOfFiveDriftedTrailsIsAtMostFiveRoundTrips(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	names := []string{testbed.TrailName}
	for i := 2; i <= 5; i++ {
		name := fmt.Sprintf("trail-%d", i)
		_, err := f.aws.CreateTrail(f.ctx, name, testbed.TrailOptions{})
		require.NoError(t, err)
		target, live, err := f.engine.Resolve(f.ctx, delivery.Caller{Partition: "aws", Account: testbed.Account},
			spec.Spec{TrailName: name, Remediation: spec.Enforce, EnforceLogging: true}, nil)
		require.NoError(t, err)
		_, err = f.engine.Reconcile(f.ctx, target, delivery.AspectAll)
		require.NoError(t, err)
		o := registry.Owner{StackID: owner.StackID, LogicalResourceID: "Delivery" + name[len(name)-1:]}
		require.NoError(t, f.reg.Claim(f.ctx, registry.Record{TrailARN: target.TrailARN, Owner: o,
			Spec: spec.Spec{TrailName: name, Remediation: spec.Enforce, EnforceLogging: true}, Target: target}))
		_, err = f.engine.MarkRegistered(f.ctx, target, live, o.StackID)
		require.NoError(t, err)
		names = append(names, name)
	}
	for _, name := range names {
		_, err := f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(name),
			CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")})
		require.NoError(t, err)
	}

	f.rec.Reset()
	f.rec.Latency = roundTripLatency
	require.NoError(t, f.deliver(t, "sweep"))
	f.rec.Latency = 0
	assert.LessOrEqual(t, f.rec.CriticalPath(), 5, "calls: %v", f.rec.Calls())
	assert.Equal(t, 5, f.rec.Count("CloudTrail", "UpdateTrail"), "one write per drifted trail")
	assert.Equal(t, 0, f.rec.Count("CloudTrail", "GetTrail"), "one DescribeTrails answers for every trail, and UpdateTrail's answer verifies")
	assert.Equal(t, 1, f.rec.Count("IAM", "GetRole"), "a role shared by five trails is read once")
	for _, name := range names {
		group, _, err := f.aws.TrailLink(f.ctx, "arn:aws:cloudtrail:us-east-1:123456789012:trail/"+name)
		require.NoError(t, err)
		assert.NotEmpty(t, group, name)
	}
	assert.Len(t, f.notifications(t, 5), 5)
}

// Found in review: a Delete that began after the registry snapshot was taken is not undone by an event.
func TestADeleteUnderWayAfterTheSnapshotIsNotUndone(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	require.NoError(t, f.deliver(t, "update-trail-own")) // the snapshot holds the record as compliant
	rec := f.record(t)
	rec.Status = registry.Deleting
	require.NoError(t, f.reg.Save(f.ctx, rec))
	f.tamper(t) // the Delete's own unlink

	f.rec.Reset()
	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	assert.Empty(t, f.rec.Writes())
	assert.False(t, f.linked(t))
	assert.Equal(t, registry.Deleting, f.record(t).Status)
}

// A record that claims the trail of another account (TrailAccount, as a CloudTrail delegated administrator's
// record of the management account's organization trail does) is refused and alerted unless the deployment names
// that account as its management account: the registry cannot point the remediator at any account's trail.
func TestARecordOfAnotherAccountsTrailIsRefusedUnlessItIsTheManagementAccounts(t *testing.T) {
	f := newFixture(t, spec.Spec{})
	rec := f.record(t)
	other := "arn:aws:cloudtrail:" + testbed.Region + ":210987654321:trail/" + testbed.TrailName
	rec.TrailARN, rec.Target.TrailARN = other, other
	rec.Target.TrailAccount, rec.Target.OrgID = "210987654321", "o-a1b2c3d4e5"
	rec.Version = 0
	require.NoError(t, f.reg.Claim(f.ctx, rec))
	f.rec.Reset()

	require.NoError(t, f.deliver(t, "sweep"))
	assert.Empty(t, f.rec.ResourceWrites(), "nothing the forged record asks for is done")
	got := f.notifications(t, 1)
	assert.Contains(t, got[0].Subject, "REFUSED")
	assert.Contains(t, got[0].Message, "TrailAccount")
}
