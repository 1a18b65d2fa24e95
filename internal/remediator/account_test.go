package remediator_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/customresource"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/provider"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/remediator"
	"github.com/trailguard/trailguard/internal/spec"
)

const functionARN = "arn:aws:lambda:us-east-1:" + testbed.Account + ":function:trailguard-Remediator"

// newAccountFixture is an account with the management trail and no registration, and a remediator in
// account-wide mode invoked with the function's identity (the Lambda context), as Lambda invokes it.
func newAccountFixture(t testing.TB, retention, key, mode string, opts ...remediator.Option) *fixture {
	t.Helper()
	m := testbed.StartMoto(t)
	f := &fixture{moto: m, faults: testbed.NewFaults(), rec: &testbed.Recorder{}, inbox: testbed.NewInbox(),
		logs: &testbed.Logs{}, metrics: &testbed.Logs{}, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	f.ctx = lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: functionARN})
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
	clients := delivery.NewClients(cfg)
	f.engine = delivery.New(clients, testbed.Region, delivery.WithLogger(log),
		delivery.WithPropagationBackoff(time.Millisecond, 5*time.Millisecond, 2*time.Second),
		delivery.WithDeliveryRole(testbed.DeliveryRoleARN), delivery.WithPermissionsBoundary(testbed.DeliveryBoundaryARN))
	f.reg = registry.New(dynamodb.NewFromConfig(cfg), testbed.RegistryTable)
	policy, err := remediator.NewAccountPolicy(retention, key, mode)
	require.NoError(t, err)
	opts = append([]remediator.Option{remediator.WithLogger(log), remediator.WithMetrics(f.metrics),
		remediator.WithClock(func() time.Time { return f.now }), remediator.WithAccountPolicy(policy)}, opts...)
	f.r = remediator.New(f.engine, f.reg, notify.NewNotifier(sns.NewFromConfig(cfg), f.topicARN), opts...)
	f.target = delivery.Target{Partition: "aws", Account: testbed.Account, HomeRegion: testbed.Region, TrailName: testbed.TrailName,
		LogGroupName: logGroup, RoleName: testbed.DeliveryRoleName, RolePath: testbed.DeliveryRolePath}
	f.rec.Reset()
	return f
}

func (f *fixture) optionalRecord(t testing.TB) (registry.Record, bool) {
	t.Helper()
	rec, found, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	return rec, found
}

// An undeclared trail is adopted with the account policy's defaults, by the sweep and by its CreateTrail event,
// and then guarded like any registered trail.
func TestAnUndeclaredTrailIsAdoptedWithTheDefaults(t *testing.T) {
	for _, event := range []string{"sweep", "create-trail"} {
		t.Run(event, func(t *testing.T) {
			f := newAccountFixture(t, "90", "", "")
			require.False(t, f.linked(t))

			require.NoError(t, f.deliver(t, event))
			assert.True(t, f.linked(t), "wired to the default log group and the delivery role")
			rec := f.record(t)
			assert.Equal(t, registry.AccountPolicy, rec.Owner)
			assert.Equal(t, spec.Enforce, rec.Spec.Remediation)
			assert.Equal(t, int32(90), rec.Target.RetentionInDays)
			assert.True(t, rec.Target.CreatedLogGroup)
			g, found, err := f.aws.LogGroup(f.ctx, logGroup)
			require.NoError(t, err)
			require.True(t, found)
			assert.Equal(t, int32(90), aws.ToInt32(g.RetentionInDays), "the default retention")
			tags, err := f.aws.CloudTrail.ListTags(f.ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{testbed.TrailARN}})
			require.NoError(t, err)
			marked := map[string]string{}
			for _, tag := range tags.ResourceTagList[0].TagsList {
				marked[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			assert.Equal(t, registry.AccountPolicy.StackID, marked[delivery.TagRegisteredBy], "marked as registered")

			got := f.notifications(t, 1)
			require.Len(t, got, 1, "one message: adopted, with what it repaired")
			assert.Contains(t, got[0].Subject, "adopted")
			assert.Contains(t, got[0].Subject, "in 123456789012 us-east-1")
			assert.Contains(t, got[0].Message, "UpdateTrail")

			// From now on it is guarded.
			f.tamper(t)
			require.NoError(t, f.deliver(t, "update-trail-cleared"))
			assert.True(t, f.linked(t))
			f.rec.Reset()
			require.NoError(t, f.deliver(t, "sweep"))
			assert.Empty(t, f.rec.Writes(), "adopted once: a later sweep changes nothing")
		})
	}
}

func TestAccountPolicyDefaultsFollowTheProvidersRules(t *testing.T) {
	for _, tc := range []struct{ retention, key, mode, want string }{
		{"2", "", "", "RetentionInDays"},
		{"", "not-a-key", "", "KmsKeyId"},
		{"", "", "sometimes", "Remediation"},
		{"", "", "off", "Remediation"},
	} {
		_, err := remediator.NewAccountPolicy(tc.retention, tc.key, tc.mode)
		assert.ErrorContains(t, err, "property "+tc.want, tc)
	}
	p, err := remediator.NewAccountPolicy("", "", "")
	require.NoError(t, err)
	assert.Equal(t, spec.Enforce, p.Defaults.Remediation, "the provider's defaults")
	assert.True(t, p.Defaults.EnforceLogging)
}

// A KMS key of another account given as the default is refused for every trail: adoption goes through the
// provider's key rule, so nothing is changed, and the refusal is told once.
func TestADefaultKeyOfAnotherAccountIsRefusedAndNothingIsChanged(t *testing.T) {
	f := newAccountFixture(t, "", "arn:aws:kms:us-east-1:210987654321:key/0b0b0b0b-1111-2222-3333-444444444444", "")
	for range 2 {
		require.NoError(t, f.deliver(t, "sweep"))
	}
	assert.Empty(t, f.rec.ResourceWrites(), "no log group, no policy, no link")
	assert.False(t, f.linked(t))
	got := f.notifications(t, 1)
	require.Len(t, got, 1, "told once, not at every sweep")
	assert.Contains(t, got[0].Subject, "CANNOT guard")
	assert.Contains(t, got[0].Message, "KmsKeyId")
}

func TestAnOptedOutTrailIsLeftAloneAndReportedOnce(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, remediator.TagOptOut, "true"))
	for _, event := range []string{"sweep", "create-trail", "sweep"} {
		require.NoError(t, f.deliver(t, event))
	}
	assert.Empty(t, f.rec.ResourceWrites(), "an opted-out trail is never changed, nor tagged")
	assert.False(t, f.linked(t))
	got := f.notifications(t, 1)
	require.Len(t, got, 1, "reported once, not at every sweep")
	assert.Contains(t, got[0].Subject, "opted-out")
	rec := f.record(t)
	assert.Equal(t, spec.Off, rec.Spec.Remediation)
	assert.Equal(t, registry.Unguarded, rec.Status)

	// The owner removes the tag: the next sweep adopts the trail.
	_, err := f.aws.CloudTrail.RemoveTags(f.ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(testbed.TrailARN),
		TagsList: []cttypes.Tag{{Key: aws.String(remediator.TagOptOut)}}})
	require.NoError(t, err)
	require.NoError(t, f.deliver(t, "sweep"))
	assert.True(t, f.linked(t))
	assert.Equal(t, spec.Enforce, f.record(t).Spec.Remediation)
}

// The opt-out tag is no off switch for a tamperer: once adopted, a trail stays guarded whatever its tags say.
func TestTheOptOutTagDoesNotReleaseAnAdoptedTrail(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	require.NoError(t, f.deliver(t, "sweep"))
	require.True(t, f.linked(t))
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, remediator.TagOptOut, "true"))
	f.tamper(t)
	require.NoError(t, f.deliver(t, "sweep"))
	assert.True(t, f.linked(t))
}

// A trail that already delivers elsewhere is kept as it is: its own log group and role become the desired state,
// and they are what the sweep restores.
func TestATrailDeliveringElsewhereIsKeptAndGuardedAsItIs(t *testing.T) {
	f := newAccountFixture(t, "30", "", "")
	const own = "/security/own-group"
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(own)})
	require.NoError(t, err)
	_, err = f.aws.Logs.PutRetentionPolicy(f.ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(own), RetentionInDays: aws.Int32(3653)})
	require.NoError(t, err)
	ownARN := "arn:aws:logs:us-east-1:" + testbed.Account + ":log-group:" + own + ":*"
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String(ownARN), CloudWatchLogsRoleArn: aws.String(testbed.DeliveryRoleARN)})
	require.NoError(t, err)

	require.NoError(t, f.deliver(t, "sweep"))
	group, role, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, ownARN, group, "not rewired")
	assert.Equal(t, testbed.DeliveryRoleARN, role)
	assert.NotContains(t, f.rec.ResourceWrites(), "CloudTrail.UpdateTrail")
	_, found, err := f.aws.LogGroup(f.ctx, logGroup)
	require.NoError(t, err)
	assert.False(t, found, "the default log group is not created")
	rec := f.record(t)
	assert.Equal(t, own, rec.Target.LogGroupName)
	assert.Equal(t, int32(3653), rec.Target.RetentionInDays, "its own retention, not the default")
	assert.False(t, rec.Target.CreatedLogGroup, "trailguard did not create it")

	f.tamper(t)
	require.NoError(t, f.deliver(t, "sweep"))
	group, _, err = f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, ownARN, group, "the sweep restores the trail's own link")
}

// A trail whose role fails the provider's role checks cannot be adopted: nothing is changed, and a person is
// told once, with the reason.
func TestATrailWhoseRoleFailsTheChecksIsReportedOnceAndNeverChanged(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	const handMade = "HandMadeCloudTrailRole"
	_, err := f.aws.IAM.CreateRole(f.ctx, &iam.CreateRoleInput{RoleName: aws.String(handMade),
		AssumeRolePolicyDocument: aws.String(testbed.DeliveryTrustPolicy)}) // no boundary
	require.NoError(t, err)
	_, err = f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("hand-made")})
	require.NoError(t, err)
	handARN := "arn:aws:logs:us-east-1:" + testbed.Account + ":log-group:hand-made:*"
	_, err = f.aws.CloudTrail.UpdateTrail(f.ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(testbed.TrailName),
		CloudWatchLogsLogGroupArn: aws.String(handARN), CloudWatchLogsRoleArn: aws.String("arn:aws:iam::" + testbed.Account + ":role/" + handMade)})
	require.NoError(t, err)
	f.rec.Reset()

	for range 3 {
		require.NoError(t, f.deliver(t, "sweep"))
	}
	assert.Empty(t, f.rec.ResourceWrites(), "never changed: no policy written into the hand-made role, no tag")
	got := f.notifications(t, 1)
	require.Len(t, got, 1, "told once")
	assert.Contains(t, got[0].Subject, "CANNOT guard")
	assert.Contains(t, got[0].Message, "permissions boundary")
}

// A stack takes over a trail the account policy adopted (the trail permits it), and gives it back when it deletes
// its resource: the next sweep adopts it again.
func TestAStackTakesOverAnAdoptedTrailAndGivesItBackOnDelete(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	require.NoError(t, f.deliver(t, "sweep"))
	require.Equal(t, registry.AccountPolicy, f.record(t).Owner)

	p := provider.New(f.engine, f.reg, testbed.Region)
	stackID := "arn:aws:cloudformation:us-east-1:" + testbed.Account + ":stack/security-trails/1"
	req := customresource.Request{RequestType: customresource.RequestCreate, StackID: stackID, LogicalResourceID: "Delivery",
		ResourceProperties: map[string]any{"TrailName": testbed.TrailName, "Remediation": "report"}}

	_, err := p.Handle(f.ctx, req)
	var notPermitted *provider.NotPermittedError
	require.ErrorAs(t, err, &notPermitted, "superseding the account policy still takes the ownership rule")
	assert.Equal(t, registry.AccountPolicy, f.record(t).Owner)

	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, "arn:aws:cloudformation:us-east-1:"+testbed.Account+":stack/security-trails/1"))
	res, err := p.Handle(f.ctx, req)
	require.NoError(t, err)
	rec := f.record(t)
	assert.Equal(t, registry.Owner{StackID: stackID, LogicalResourceID: "Delivery"}, rec.Owner)
	assert.Equal(t, spec.Report, rec.Spec.Remediation, "the stack's settings")
	assert.False(t, rec.Target.CreatedLogGroup, "the account policy's log group is not the stack's to delete")

	f.tamper(t)
	require.NoError(t, f.deliver(t, "sweep"))
	assert.False(t, f.linked(t), "report mode, the stack's: the sweep does not take the trail back")
	assert.Equal(t, stackID, f.record(t).Owner.StackID)

	req.RequestType, req.PhysicalResourceID = customresource.RequestDelete, res.PhysicalResourceID
	_, err = p.Handle(f.ctx, req)
	require.NoError(t, err)
	_, found := f.optionalRecord(t)
	require.False(t, found)

	require.NoError(t, f.deliver(t, "sweep"))
	assert.Equal(t, registry.AccountPolicy, f.record(t).Owner, "adopted again")
	assert.True(t, f.linked(t))
}

// Another stack's registration is never superseded, account-wide mode or not.
func TestOnlyTheAccountPolicyCanBeSuperseded(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, "arn:aws:cloudformation:us-east-1:"+testbed.Account+":stack/security-trails/1"))
	p := provider.New(f.engine, f.reg, testbed.Region, provider.WithAllowedStacks([]string{"platform-*"}))
	first := customresource.Request{RequestType: customresource.RequestCreate, LogicalResourceID: "Delivery",
		StackID:            "arn:aws:cloudformation:us-east-1:" + testbed.Account + ":stack/security-trails/1",
		ResourceProperties: map[string]any{"TrailName": testbed.TrailName}}
	_, err := p.Handle(f.ctx, first)
	require.NoError(t, err)
	second := first
	second.StackID = "arn:aws:cloudformation:us-east-1:" + testbed.Account + ":stack/platform-trails/1"
	_, err = p.Handle(f.ctx, second)
	var owned *registry.OwnedError
	require.ErrorAs(t, err, &owned)
	assert.Equal(t, first.StackID, f.record(t).Owner.StackID)
}

// An organization trail's shadow copy and another account's organization trail are their owner's: a CreateTrail
// event or a sweep that names them adopts nothing, writes nothing and alerts nobody.
func TestShadowCopiesAndOtherAccountsOrganizationTrailsAreIgnoredWithoutAlerts(t *testing.T) {
	foreign := `{"Trail":{"Name":"org-trail","TrailARN":"arn:aws:cloudtrail:us-east-1:210987654321:trail/org-trail",` +
		`"HomeRegion":"us-east-1","IsOrganizationTrail":true,"IsMultiRegionTrail":true,"S3BucketName":"org-bucket"}}`
	shadow := `{"Trail":{"Name":"management-trail","TrailARN":"arn:aws:cloudtrail:eu-west-1:123456789012:trail/management-trail",` +
		`"HomeRegion":"eu-west-1","IsOrganizationTrail":true,"IsMultiRegionTrail":true,"S3BucketName":"org-bucket"}}`
	for name, reply := range map[string]string{"another account's organization trail": foreign, "a shadow copy": shadow} {
		t.Run(name, func(t *testing.T) {
			f := newAccountFixture(t, "", "", "")
			// The event's prefetch and the adoption each read the trail: both see the other account's trail.
			f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "GetTrail", Times: 2, Reply: reply})
			require.NoError(t, f.deliver(t, "create-trail"))
			assert.Empty(t, f.rec.Writes())
			_, found := f.optionalRecord(t)
			assert.False(t, found)
			for _, l := range f.logs.Lines() {
				assert.NotContains(t, l, `"level":"WARN"`, l)
				assert.NotContains(t, l, `"level":"ERROR"`, l)
			}
			// The account's own trail, seen next, is the first and only message: none came for the other one.
			require.NoError(t, f.deliver(t, "sweep"))
			got := f.notifications(t, 1)
			require.Len(t, got, 1)
			assert.Contains(t, got[0].Subject, "adopted trail management-trail (Sweep) in 123456789012 us-east-1")
		})
	}
	t.Run("the sweep", func(t *testing.T) {
		f := newAccountFixture(t, "", "", "")
		// DescribeTrails as a member account could see it: its own trail and the management account's trail.
		own := `{"Name":"management-trail","TrailARN":"` + testbed.TrailARN + `","HomeRegion":"us-east-1","S3BucketName":"trail-bucket-management-trail"}`
		org := `{"Name":"org-trail","TrailARN":"arn:aws:cloudtrail:us-east-1:210987654321:trail/org-trail","HomeRegion":"us-east-1","IsOrganizationTrail":true}`
		f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "DescribeTrails", Reply: `{"trailList":[` + own + `,` + org + `]}`})
		f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "ListTags", Times: 1, Reply: `{"ResourceTagList":[]}`})
		require.NoError(t, f.deliver(t, "sweep"))
		assert.Equal(t, registry.AccountPolicy, f.record(t).Owner, "its own trail is adopted")
		for _, c := range f.rec.Calls() {
			assert.NotContains(t, c, "org-trail", c)
		}
		recs, err := f.reg.List(f.ctx)
		require.NoError(t, err)
		assert.Len(t, recs, 1, "nothing recorded for the other account's trail")
		got := f.notifications(t, 1)
		require.Len(t, got, 1)
		assert.NotContains(t, got[0].Message, "org-trail")
	})
}

// Without the function's identity account-wide mode adopts nothing: it could not tell its own trails from
// another account's.
func TestNoAdoptionWithoutTheFunctionsAccount(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	f.ctx = context.Background()
	require.NoError(t, f.deliver(t, "sweep"))
	assert.Empty(t, f.rec.ResourceWrites())
	assert.True(t, strings.Contains(strings.Join(f.logs.Lines(), "\n"), "account is unknown"))
}

// Every decision names the account (the function's) and the region, in the log line and the notification.
func TestDecisionsNameAccountAndRegion(t *testing.T) {
	f := newAccountFixture(t, "", "", "")
	require.NoError(t, f.deliver(t, "sweep"))
	f.tamper(t)
	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	got := f.notifications(t, 2)
	for _, m := range got {
		assert.Contains(t, m.Subject, "in 123456789012 us-east-1")
		assert.Contains(t, m.Message, "Account:       123456789012")
		assert.Contains(t, m.Message, "Region:        us-east-1")
	}
	d := findJSON(t, f.logs.Lines(), "decision")
	assert.Equal(t, testbed.Account, d["account"])
	assert.Equal(t, testbed.Region, d["region"])
}

// sentEvents records the decisions the remediator sends as events.
type sentEvents struct {
	mu        sync.Mutex
	decisions []notify.Decision
}

func (e *sentEvents) Send(_ context.Context, _ time.Time, d notify.Decision) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.decisions = append(e.decisions, d)
	return nil
}

// An organization member sends every decision a person is told of as an event too, naming its account and region;
// a sweep that finds nothing to do sends none.
func TestNotifiedDecisionsAreSentAsEventsNamingAccountAndRegion(t *testing.T) {
	events := &sentEvents{}
	f := newAccountFixture(t, "", "", "", remediator.WithEvents(events))
	require.NoError(t, f.deliver(t, "sweep"))
	require.NoError(t, f.deliver(t, "sweep"))
	f.tamper(t)
	require.NoError(t, f.deliver(t, "update-trail-cleared"))
	f.notifications(t, 2)

	events.mu.Lock()
	defer events.mu.Unlock()
	var actions []string
	for _, d := range events.decisions {
		actions = append(actions, d.Action)
		assert.Equal(t, testbed.Account, d.Account)
		assert.Equal(t, testbed.Region, d.Region)
	}
	assert.Equal(t, []string{notify.ActionAdopted, notify.ActionRepaired}, actions, "the quiet second sweep sends nothing")
}
