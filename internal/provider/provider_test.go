package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/customresource"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/provider"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
)

func TestMain(m *testing.M) { os.Exit(testbed.RunWithMoto(m)) }

const stackID = "arn:aws:cloudformation:us-east-1:123456789012:stack/trailguard-example/5b8e6a20-c0a1-11ef-9a8c-0e2d3f4a5b6c"

// fixture is the provider as Lambda runs it (wrapped in the CloudFormation protocol), against moto, with a stand-in
// for the pre-signed ResponseURL that shows what CloudFormation receives.
type fixture struct {
	ctx     context.Context
	moto    *testbed.Moto
	aws     *testbed.AWS
	faults  *testbed.Faults
	rec     *testbed.Recorder
	reg     *registry.Registry
	s3      *testbed.ResponseServer
	handler func(context.Context, json.RawMessage) error
	logs    *bytes.Buffer
	notes   notes
	allowed []string
	// propagation bounds the engine's UpdateTrail retries while IAM propagates (2 s unless a test sets it).
	propagation time.Duration
	// stacks is CloudFormation as the provider's stack check sees it.
	stacks *stackServer
	// clock is the provider's clock (time.Now unless a test sets it before the first request).
	clock func() time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	m := testbed.StartMoto(t)
	f := &fixture{ctx: context.Background(), moto: m, faults: testbed.NewFaults(), rec: &testbed.Recorder{},
		s3: testbed.NewResponseServer(), logs: &bytes.Buffer{}, propagation: 2 * time.Second, stacks: newStackServer(), clock: time.Now}
	t.Cleanup(f.s3.Close)
	f.aws = testbed.NewAWS(m.Config(testbed.Region))
	require.NoError(t, f.aws.CreateRegistryTable(f.ctx, testbed.RegistryTable))
	require.NoError(t, f.aws.CreateDeliveryRole(f.ctx))
	_, err := f.aws.CreateTrail(f.ctx, testbed.TrailName, testbed.TrailOptions{})
	require.NoError(t, err)
	// The trail's owner lets the sample stack manage it.
	require.NoError(t, f.aws.TagTrail(f.ctx, testbed.TrailARN, delivery.TagManagedBy, stackID))
	f.handler = f.provider(m.Config(testbed.Region, testbed.WithFaults(f.faults), testbed.WithRecorder(f.rec)), testbed.Region)
	return f
}

// notes collects what the provider tells a person.
type notes struct{ got []notify.Decision }

func (n *notes) Notify(_ context.Context, d notify.Decision) error {
	n.got = append(n.got, d)
	return nil
}

// provider wires a provider for one region's configuration.
func (f *fixture) provider(cfg aws.Config, homeRegion string) func(context.Context, json.RawMessage) error {
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	engine := delivery.New(delivery.NewClients(cfg), homeRegion, delivery.WithLogger(log),
		delivery.WithPropagationBackoff(time.Millisecond, 5*time.Millisecond, f.propagation),
		delivery.WithDeliveryRole(testbed.DeliveryRoleARN), delivery.WithPermissionsBoundary(testbed.DeliveryBoundaryARN))
	f.reg = registry.New(dynamodb.NewFromConfig(cfg), testbed.RegistryTable)
	cfnCfg := cfg.Copy()
	cfnCfg.HTTPClient = &http.Client{Transport: f.stacks}
	p := provider.New(engine, f.reg, homeRegion, provider.WithLogger(log), provider.WithNotifier(&f.notes),
		provider.WithAllowedStacks(f.allowed), provider.WithStackCheck(cloudformation.NewFromConfig(cfnCfg)),
		provider.WithClock(func() time.Time { return f.clock() }))
	return customresource.Wrap(p.Handle, customresource.WithLogger(log), customresource.WithLoopbackResponseURL(true),
		customresource.WithDeadlineMargin(500*time.Millisecond), customresource.WithRetryBackoff(time.Millisecond, 10*time.Millisecond))
}

// event reads a CloudFormation request from events/provider, points it at the response stand-in and applies edits.
func (f *fixture) event(t testing.TB, name string, edit func(ev map[string]any)) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "provider", name+".json"))
	require.NoError(t, err)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(raw, &ev))
	ev["ResponseURL"] = f.s3.URL(ev["RequestId"].(string))
	if edit != nil {
		edit(ev)
	}
	// CloudFormation is in the middle of this very request's operation (a forged request's test says otherwise).
	f.stacks.operate(ev)
	return ev
}

// send invokes the provider with a deadline like Lambda's and returns the one response CloudFormation received.
func (f *fixture) send(t testing.TB, ev map[string]any) testbed.CFNResponse {
	t.Helper()
	before := len(f.s3.Responses())
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, f.handler(ctx, raw), "a request that was answered returns nil to Lambda")
	got := f.s3.Responses()[before:]
	require.Len(t, got, 1, "exactly one response per request")
	require.NoError(t, got[0].DecodeError)
	return got[0]
}

func props(ev map[string]any) map[string]any { return ev["ResourceProperties"].(map[string]any) }

func TestCreateWiresTheTrailAndRegistersIt(t *testing.T) {
	f := newFixture(t)
	got := f.send(t, f.event(t, "create", nil))

	assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	assert.Equal(t, "PUT", got.Method)
	assert.True(t, got.HasContentType && got.ContentType == "", "pre-signed S3 URLs need an empty Content-Type")
	assert.Equal(t, testbed.TrailARN, got.Body.PhysicalResourceID)
	assert.Equal(t, map[string]any{
		"TrailArn": testbed.TrailARN, "HomeRegion": testbed.Region,
		"LogGroupName": "aws-cloudtrail-logs-123456789012-management-trail",
		"LogGroupArn":  "arn:aws:logs:us-east-1:123456789012:log-group:aws-cloudtrail-logs-123456789012-management-trail:*",
		"RoleName":     "CloudTrail_CloudWatchLogs_Role",
		"RoleArn":      "arn:aws:iam::123456789012:role/trailguard/CloudTrail_CloudWatchLogs_Role",
		"PolicyName":   "trailguard-us-east-1-management-trail",
	}, got.Body.Data)

	group, role, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, got.Body.Data["LogGroupArn"], group)
	assert.Equal(t, got.Body.Data["RoleArn"], role)
	lg, found, err := f.aws.LogGroup(f.ctx, got.Body.Data["LogGroupName"].(string))
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, int32(365), aws.ToInt32(lg.RetentionInDays))

	rec, found, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	require.True(t, found, "an enforced trail is registered for the remediator")
	assert.Equal(t, registry.Owner{StackID: stackID, LogicalResourceID: "TrailDelivery"}, rec.Owner)

	// CloudFormation may send the same request again (Lambda retries): nothing changes in AWS.
	f.rec.Reset()
	again := f.send(t, f.event(t, "create", nil))
	assert.Equal(t, "SUCCESS", again.Body.Status, again.Body.Reason)
	assert.Empty(t, f.rec.ResourceWrites(), "a repeated Create must not change AWS")
}

func TestUpdateToAnotherLogGroupRelinksAndKeepsTheOldGroup(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)

	got := f.send(t, f.event(t, "update", nil))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	assert.Equal(t, testbed.TrailARN, got.Body.PhysicalResourceID, "same trail: same physical id, no replacement")
	group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Equal(t, got.Body.Data["LogGroupArn"], group)
	assert.NotContains(t, group, "aws-cloudtrail-logs-123456789012-management-trail")
	_, found, err := f.aws.LogGroup(f.ctx, "aws-cloudtrail-logs-123456789012-management-trail")
	require.NoError(t, err)
	assert.True(t, found, "the old log group keeps its data")
}

func TestUpdateOfTheTrailReplacesTheResource(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)
	second, err := f.aws.CreateTrail(f.ctx, "second-trail", testbed.TrailOptions{})
	require.NoError(t, err)
	require.NoError(t, f.aws.TagTrail(f.ctx, second, delivery.TagManagedBy, stackID))

	got := f.send(t, f.event(t, "update", func(ev map[string]any) { props(ev)["TrailName"] = "second-trail" }))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	assert.Equal(t, "arn:aws:cloudtrail:us-east-1:123456789012:trail/second-trail", got.Body.PhysicalResourceID)
}

func TestDeleteUnwiresAndKeepsTheLogGroup(t *testing.T) {
	f := newFixture(t)
	created := f.send(t, f.event(t, "create", nil))
	require.Equal(t, "SUCCESS", created.Body.Status)

	got := f.send(t, f.event(t, "delete", nil))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	assert.Equal(t, testbed.TrailARN, got.Body.PhysicalResourceID)
	group, role, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Empty(t, group)
	assert.Empty(t, role)
	_, err = f.aws.RolePolicy(f.ctx, "CloudTrail_CloudWatchLogs_Role", "trailguard-us-east-1-management-trail")
	assert.Error(t, err, "the inline policy is gone")
	_, err = f.aws.IAM.GetRole(f.ctx, &iam.GetRoleInput{RoleName: aws.String("CloudTrail_CloudWatchLogs_Role")})
	assert.NoError(t, err, "the deploy-time role stays: trailguard never creates or deletes roles")
	_, found, err := f.aws.LogGroup(f.ctx, created.Body.Data["LogGroupName"].(string))
	require.NoError(t, err)
	assert.True(t, found, "the log group and its data are kept")
	_, registered, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.False(t, registered)

	// A Delete retried by Lambda is still a success and changes nothing.
	f.rec.Reset()
	assert.Equal(t, "SUCCESS", f.send(t, f.event(t, "delete", nil)).Body.Status)
	assert.Empty(t, f.rec.Writes())
}

func TestDeleteOfAnIDNeverIssuedTouchesNothing(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"trailguard-example-TrailDelivery-1A2B3C4D5E6F", "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail"} {
		f.rec.Reset()
		got := f.send(t, f.event(t, "delete", func(ev map[string]any) { ev["PhysicalResourceId"] = id }))
		assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
		assert.Equal(t, id, got.Body.PhysicalResourceID)
		assert.Empty(t, f.rec.Writes(), id)
	}
}

func TestASecondStackCannotClaimTheSameTrail(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, "SUCCESS", f.send(t, f.event(t, "create", nil)).Body.Status)

	other := "arn:aws:cloudformation:us-east-1:123456789012:stack/other-stack/0c9d8e7f-0000-11ef-9a8c-0e2d3f4a5b6c"
	got := f.send(t, f.event(t, "create", func(ev map[string]any) { ev["StackId"] = other }))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "trailguard-example", "the reason names the owner")

	// Its rollback Delete must not unwire the first stack's trail.
	f.send(t, f.event(t, "delete", func(ev map[string]any) { ev["StackId"] = other; ev["PhysicalResourceId"] = got.Body.PhysicalResourceID }))
	group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.NotEmpty(t, group)
}

func TestRemediationOffIsRegisteredSoItsDeleteCanBeProven(t *testing.T) {
	f := newFixture(t)
	got := f.send(t, f.event(t, "create", func(ev map[string]any) { props(ev)["Remediation"] = "off" }))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	rec, registered, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	require.True(t, registered, "the registration is what lets its Delete act")
	assert.Equal(t, spec.Off, rec.Spec.Remediation, "the remediator leaves it alone")

	got = f.send(t, f.event(t, "delete", nil))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	group, _, err := f.aws.TrailLink(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.Empty(t, group)
}

func TestBadInputFailsNamingTheFieldAndChangesNothing(t *testing.T) {
	cases := map[string]struct {
		edit  func(p map[string]any)
		field string
	}{
		"missing TrailName":   {func(p map[string]any) { delete(p, "TrailName") }, "TrailName"},
		"malformed trail ARN": {func(p map[string]any) { p["TrailName"] = "arn:aws:cloudtrail:us-east-1:trail" }, "TrailName"},
		"log group in another account": {func(p map[string]any) {
			p["LogGroupArn"] = "arn:aws:logs:us-east-1:210987654321:log-group:elsewhere"
		}, "LogGroupArn"},
		"log group in another region": {func(p map[string]any) {
			p["LogGroupArn"] = "arn:aws:logs:eu-west-1:123456789012:log-group:elsewhere:*"
		}, "LogGroupArn"},
		"both log group forms": {func(p map[string]any) {
			p["LogGroupName"] = "a"
			p["LogGroupArn"] = "arn:aws:logs:us-east-1:123456789012:log-group:a"
		}, "LogGroupArn"},
		"retention not a number":   {func(p map[string]any) { p["RetentionInDays"] = "400x" }, "RetentionInDays"},
		"retention not allowed":    {func(p map[string]any) { p["RetentionInDays"] = "366" }, "RetentionInDays"},
		"unknown Remediation":      {func(p map[string]any) { p["Remediation"] = "sometimes" }, "Remediation"},
		"unknown property":         {func(p map[string]any) { p["LogGroup"] = "typo" }, "LogGroup"},
		"EnforceLogging not bool":  {func(p map[string]any) { p["EnforceLogging"] = "yes please" }, "EnforceLogging"},
		"role in another account":  {func(p map[string]any) { p["RoleArn"] = "arn:aws:iam::210987654321:role/x" }, "RoleArn"},
		"trail in another account": {func(p map[string]any) { p["TrailName"] = "arn:aws:cloudtrail:us-east-1:210987654321:trail/x" }, "TrailName"},
	}
	f := newFixture(t)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f.rec.Reset()
			got := f.send(t, f.event(t, "create", func(ev map[string]any) { c.edit(props(ev)) }))
			assert.Equal(t, "FAILED", got.Body.Status)
			assert.Contains(t, got.Body.Reason, c.field)
			assert.True(t, customresource.IsFallbackID(got.Body.PhysicalResourceID), got.Body.PhysicalResourceID)
			assert.Empty(t, f.rec.Writes(), "bad input changes nothing")
		})
	}
}

func TestShadowTrailFailsNamingTheHomeRegion(t *testing.T) {
	f := newFixture(t)
	handler := f.provider(f.moto.Config("eu-west-1", testbed.WithRecorder(f.rec)), "eu-west-1")
	ev := f.event(t, "create", func(ev map[string]any) {
		ev["StackId"] = strings.Replace(stackID, "us-east-1", "eu-west-1", 1)
		props(ev)["TrailName"] = testbed.TrailARN
	})
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NoError(t, handler(f.ctx, raw))
	got := f.s3.Responses()
	require.Len(t, got, 1)
	assert.Equal(t, "FAILED", got[0].Body.Status)
	assert.Contains(t, got[0].Body.Reason, "us-east-1")
	assert.Empty(t, f.rec.Writes())
}

func TestInvalidHomeRegionFailsClearly(t *testing.T) {
	f := newFixture(t)
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Code: "InvalidHomeRegionException",
		Message: "This operation must be called from the trail's home region."})
	got := f.send(t, f.event(t, "create", nil))
	assert.Equal(t, "FAILED", got.Body.Status)
	assert.Contains(t, got.Body.Reason, "home region")
	_, registered, err := f.reg.Get(f.ctx, testbed.TrailARN)
	require.NoError(t, err)
	assert.False(t, registered, "a failed Create gives its claim back, so its rollback Delete has nothing to undo")
}

func TestPropagationErrorsAreRetriedUntilTheyPass(t *testing.T) {
	f := newFixture(t)
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Times: 3,
		Code: "InvalidCloudWatchLogsRoleArnException", Message: "Access denied. Verify in IAM that the role has adequate permissions."})
	got := f.send(t, f.event(t, "create", nil))
	assert.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	assert.Equal(t, 4, f.rec.Count("CloudTrail", "UpdateTrail"))
}

func TestTheDeadlineStillGetsExactlyOneFailedResponse(t *testing.T) {
	f := newFixture(t)
	// IAM never propagates: the engine retries until its context ends.
	f.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Code: "InvalidCloudWatchLogsRoleArnException", Message: "Access denied."})
	raw, err := json.Marshal(f.event(t, "create", nil))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(f.ctx, 2*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()

	require.NoError(t, f.handler(ctx, raw))
	got := f.s3.Responses()
	require.Len(t, got, 1)
	assert.Equal(t, "FAILED", got[0].Body.Status)
	assert.True(t, time.Now().Before(deadline), "answered before the Lambda deadline")
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, f.s3.Responses(), 1, "the late work does not answer again")
}

func TestRetentionOfAReusedGroupIsKeptAsItIs(t *testing.T) {
	f := newFixture(t)
	_, err := f.aws.Logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("existing-group")})
	require.NoError(t, err)
	got := f.send(t, f.event(t, "create", func(ev map[string]any) {
		delete(props(ev), "RetentionInDays")
		props(ev)["LogGroupName"] = "existing-group"
	}))
	require.Equal(t, "SUCCESS", got.Body.Status, got.Body.Reason)
	lg, _, err := f.aws.LogGroup(f.ctx, "existing-group")
	require.NoError(t, err)
	assert.Nil(t, lg.RetentionInDays, "a reused group keeps its retention unless RetentionInDays is given")
}
