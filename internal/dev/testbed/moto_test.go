package testbed

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A person's AWS settings must not reach moto: a profile that does not exist made its botocore answer every
// DynamoDB call with a bare 500.
func TestMotoIgnoresTheCallersAWSEnvironment(t *testing.T) {
	NeedMoto(t)
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_CONFIG_FILE", "/no/such/config")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
	s, err := Launch(context.Background())
	require.NoError(t, err)
	defer s.Stop()

	env := strings.Join(motoEnv(os.Environ()), "\n")
	assert.NotContains(t, env, "no-such-profile")
	assert.NotContains(t, env, "AKIAREALLOOKINGKEY00")
	require.NoError(t, NewAWS(s.Config(Region)).CreateRegistryTable(context.Background(), "t"), "moto's DynamoDB works")
	assert.Empty(t, s.Failures())
}

// moto_server runs with the test bed's sitecustomize.py, which reads moto's service list once instead of twice a
// request (about 40 % of its time for a call), the caller's PYTHONPATH still after it. The file lives in the
// checkout's dist/, never in the temp directory, which a killed process could not clean.
func TestMotoRunsWithTheServiceListReadOnce(t *testing.T) {
	NeedMoto(t)
	t.Setenv("PYTHONPATH", "/opt/callers/python")
	s, err := Launch(context.Background())
	require.NoError(t, err)
	assert.True(t, s.SpedUp(), "moto_server did not say that sitecustomize.py took effect")
	boot, err := writeMotoBoot(true)
	require.NoError(t, err)
	root, err := ModuleRoot()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(boot, filepath.Join(root, "dist")+string(filepath.Separator)), boot)
	assert.FileExists(t, filepath.Join(boot, "sitecustomize.py"))
	assert.Contains(t, withPythonPath(motoEnv(os.Environ()), boot), "PYTHONPATH="+boot+":/opt/callers/python")
	require.NoError(t, NewAWS(s.Config(Region)).CreateRegistryTable(context.Background(), "t"), "moto answers as before")
	assert.Empty(t, s.Failures())
	s.Stop()
}

// With SplitServices each group of services has a moto_server of its own behind the one endpoint: a call reaches
// the process of the service it is signed for, the rest share the first, and Reset empties them all.
func TestSplitServicesRoutesEachCallToItsServicesProcess(t *testing.T) {
	NeedMoto(t)
	ctx := context.Background()
	s, err := Launch(ctx, SplitServices([]string{"iam"}, []string{"dynamodb"}))
	require.NoError(t, err)
	defer s.Stop()
	require.Len(t, s.PIDs(), 3)
	assert.True(t, s.SpedUp())
	a := NewAWS(s.Config(Region))
	_, err = a.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("split-role"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	require.NoError(t, err)
	require.NoError(t, a.CreateRegistryTable(ctx, "split-table"))
	_, err = a.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	require.NoError(t, err, "a service of no group goes to the first process")

	roles := func(p *motoProcess) int {
		out, err := iam.NewFromConfig((&Server{url: p.url}).Config(Region)).ListRoles(ctx, &iam.ListRolesInput{})
		require.NoError(t, err)
		return len(out.Roles)
	}
	tables := func(p *motoProcess) int {
		out, err := dynamodb.NewFromConfig((&Server{url: p.url}).Config(Region)).ListTables(ctx, &dynamodb.ListTablesInput{})
		require.NoError(t, err)
		return len(out.TableNames)
	}
	assert.Equal(t, []int{0, 1, 0}, []int{roles(s.procs[0]), roles(s.procs[1]), roles(s.procs[2])}, "the role is in the iam process only")
	assert.Equal(t, []int{0, 0, 1}, []int{tables(s.procs[0]), tables(s.procs[1]), tables(s.procs[2])}, "the table is in the dynamodb process only")

	require.NoError(t, s.Reset(ctx))
	assert.Zero(t, roles(s.procs[1]))
	assert.Zero(t, tables(s.procs[2]))
	assert.Empty(t, s.Failures())
}

// moto's 5xx answers are remembered with their bodies, which the SDK's error does not carry.
func TestServerFailuresKeepTheBody(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "<!doctype html><title>500 Internal Server Error</title><p>botocore: The config profile (x) could not be found</p>")
	}))
	defer fake.Close()
	s := &Server{url: fake.URL}
	_, err := dynamodb.NewFromConfig(s.Config(Region)).ListTables(context.Background(), &dynamodb.ListTablesInput{})
	require.Error(t, err)
	got := s.Failures()
	require.NotEmpty(t, got)
	assert.Contains(t, got[0], "500 Internal Server Error to DynamoDB ListTables")
	assert.Contains(t, got[0], "botocore: The config profile (x) could not be found")
	assert.NotContains(t, got[0], "<p>")
}

// fakeTB is a test whose failure and log the logger tests control.
type fakeTB struct {
	testing.TB
	failed   bool
	logged   []string
	cleanups []func()
}

func (f *fakeTB) Failed() bool      { return f.failed }
func (f *fakeTB) Name() string      { return "TestFake" }
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Logf(format string, a ...any) {
	f.logged = append(f.logged, fmt.Sprintf(format, a...))
}
func (f *fakeTB) finish() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestTestLoggerShowsOnlyOnFailure(t *testing.T) {
	for _, failed := range []bool{false, true} {
		tb := &fakeTB{TB: t, failed: failed}
		TestLogger(tb).Info("linked trail", "trail", "management-trail")
		tb.finish()
		if !failed {
			assert.Empty(t, tb.logged, "a passing test prints nothing")
			continue
		}
		require.Len(t, tb.logged, 1)
		assert.Contains(t, tb.logged[0], `"msg":"linked trail"`)
		assert.Contains(t, tb.logged[0], "TestFake (1 lines)")
	}
}

// motoBoot changes how fast moto answers, never what: the same calls on a moto with it and on one without get the
// same answers, once what differs between any two servers (request ids, generated ids, times) is masked. The calls
// are the shapes the patches touch: DynamoDB's nested AttributeValues, IAM's XML, CloudTrail's and Logs' JSON.
func TestMotoBootChangesNoAnswer(t *testing.T) {
	NeedMoto(t)
	ctx := context.Background()
	boosted, err := Launch(ctx)
	require.NoError(t, err)
	defer boosted.Stop()
	plain, err := Launch(ctx, func(o *launchOptions) { o.plain = true })
	require.NoError(t, err)
	defer plain.Stop()
	require.True(t, boosted.SpedUp())
	require.False(t, plain.SpedUp())

	item := `{"TableName":"registry","Item":{"TrailArn":{"S":"arn:aws:cloudtrail:us-east-1:123456789012:trail/t"},` +
		`"Spec":{"M":{"TrailName":{"S":"t"},"RetentionInDays":{"N":"365"}}},"Repairs":{"L":[{"S":"2026-11-26T17:00:00Z"}]},` +
		`"Version":{"N":"3"},"Gone":{"BOOL":false},"Tags":{"SS":["a","b"]}}}`
	calls := []struct{ service, target, body string }{
		{"dynamodb", "DynamoDB_20120810.PutItem", item},
		{"dynamodb", "DynamoDB_20120810.Scan", `{"TableName":"registry","ConsistentRead":true}`},
		{"dynamodb", "DynamoDB_20120810.GetItem", `{"TableName":"registry","Key":{"TrailArn":{"S":"arn:aws:cloudtrail:us-east-1:123456789012:trail/t"}}}`},
		{"iam", "", "Action=GetRole&RoleName=" + DeliveryRoleName + "&Version=2010-05-08"},
		{"iam", "", "Action=ListRoles&Version=2010-05-08"},
		{"cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails", `{}`},
		{"cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrailStatus", `{"Name":"` + TrailName + `"}`},
		{"cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetEventSelectors", `{"TrailName":"` + TrailName + `"}`},
		{"logs", "Logs_20140328.DescribeLogGroups", `{"logGroupNamePrefix":"/"}`},
	}
	answers := map[*Server][]string{}
	for _, s := range []*Server{boosted, plain} {
		a := NewAWS(s.Config(Region))
		require.NoError(t, a.CreateRegistryTable(ctx, "registry"))
		require.NoError(t, a.CreateDeliveryRole(ctx))
		_, err := a.CreateTrail(ctx, TrailName, TrailOptions{})
		require.NoError(t, err)
		_, err = a.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/trailguard/compare")})
		require.NoError(t, err)
		for _, c := range calls {
			answers[s] = append(answers[s], c.target+" "+rawCall(t, s.URL(), c.service, c.target, c.body))
		}
	}
	assert.Equal(t, answers[plain], answers[boosted])
}

// varying is what two moto servers answer differently to the same calls: ids, request ids, times.
var varying = regexp.MustCompile(`<RequestId>[^<]*</RequestId>|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[A-Z0-9]{16,}|\d+(\.\d+)?`)

// rawCall sends one call as the SDK would put it on the wire (moto does not check signatures) and returns its status
// and body with what varies between servers masked.
func rawCall(t *testing.T, url, service, target, body string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20261126/"+Region+"/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return fmt.Sprintf("%d %s", resp.StatusCode, varying.ReplaceAllString(string(b), "#"))
}
