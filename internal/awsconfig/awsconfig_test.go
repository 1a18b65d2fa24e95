package awsconfig_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/awsconfig"
)

func TestFromEnvironment(t *testing.T) {
	cfg, err := awsconfig.FromEnvironment(awsconfig.Environment{Region: "eu-west-1", AccessKeyID: "AKID", SecretKey: "secret",
		SessionToken: "token", EndpointURL: "http://127.0.0.1:5000"})
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", cfg.Region)
	assert.Equal(t, "http://127.0.0.1:5000", aws.ToString(cfg.BaseEndpoint))
	creds, err := cfg.Credentials.Retrieve(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "AKID", creds.AccessKeyID)
	assert.Equal(t, "token", creds.SessionToken)
	assert.Equal(t, awsconfig.MaxAttempts, cfg.Retryer().MaxAttempts())

	cfg, err = awsconfig.FromEnvironment(awsconfig.Environment{Region: "us-east-1", AccessKeyID: "a", SecretKey: "b"})
	require.NoError(t, err)
	assert.Nil(t, cfg.BaseEndpoint, "without AWS_ENDPOINT_URL the SDK resolves the real endpoints")
}

func TestFromEnvironmentNamesWhatIsMissing(t *testing.T) {
	_, err := awsconfig.FromEnvironment(awsconfig.Environment{EndpointURL: "127.0.0.1:5000"})
	require.Error(t, err)
	for _, name := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL"} {
		assert.Contains(t, err.Error(), name)
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	b := awsconfig.Backoff{Base: awsconfig.BackoffBase, Max: awsconfig.MaxBackoff}
	var total time.Duration
	for attempt := 1; attempt < awsconfig.MaxAttempts; attempt++ {
		ceiling := min(awsconfig.MaxBackoff, awsconfig.BackoffBase<<attempt)
		for range 200 {
			d, err := b.BackoffDelay(attempt, errors.New("throttled"))
			require.NoError(t, err)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, ceiling, "attempt %d", attempt)
		}
		total += ceiling
	}
	assert.LessOrEqual(t, total, 3*time.Second, "a throttled call never waits more than a few seconds in all")
	d, err := b.BackoffDelay(64, nil)
	require.NoError(t, err)
	assert.LessOrEqual(t, d, awsconfig.MaxBackoff, "no overflow on a large attempt number")
}

// A burst of throttling must not exhaust a client-side retry quota: every throttled call keeps its retries.
func TestNoRetryQuotaRunsOut(t *testing.T) {
	r := awsconfig.NewRetryer()
	throttled := errors.New("ThrottlingException")
	for i := range 1000 {
		_, err := r.GetRetryToken(context.Background(), throttled)
		require.NoError(t, err, "retry %d refused by a client-side quota", i)
	}
}
