package testbed

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
