// Package awsconfig builds the AWS SDK configuration every trailguard Lambda uses, so that credentials, endpoint
// and retry behaviour are decided in one place.
package awsconfig

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// MaxAttempts bounds the SDK's own retries of throttling and 5xx answers. Adaptive mode also slows the client down
// when AWS throttles it, which matters when a burst of events hits one account's CloudTrail and IAM rate limits.
const MaxAttempts = 8

// Environment is what a Lambda execution environment tells its function about AWS.
type Environment struct {
	Region                               string // AWS_REGION
	AccessKeyID, SecretKey, SessionToken string // the function role's credentials, which Lambda refreshes per environment
	// EndpointURL (AWS_ENDPOINT_URL) points every client at one endpoint: moto for tests and the demo.
	EndpointURL string
}

// FromEnvironment builds the configuration from the variables Lambda sets, with adaptive retries. It deliberately
// does not use the SDK's config.LoadDefaultConfig: inside Lambda that chain always ends at these same environment
// credentials, and leaving out the shared-file, SSO and IMDS providers takes about a fifth off each function's zip,
// which is cold-start time. Outside Lambda (make invoke against an account), export the credentials first, e.g.
// with `aws configure export-credentials --format env`.
func FromEnvironment(env Environment) (aws.Config, error) {
	var errs []error
	if env.Region == "" {
		errs = append(errs, errors.New("AWS_REGION is not set: every trailguard call is regional"))
	}
	if env.AccessKeyID == "" || env.SecretKey == "" {
		errs = append(errs, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: Lambda sets them from the function's role"))
	}
	if env.EndpointURL != "" {
		if u, err := url.Parse(env.EndpointURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("AWS_ENDPOINT_URL=%q: want an http(s) URL such as http://127.0.0.1:5000", env.EndpointURL))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	cfg := aws.Config{
		Region:      env.Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(env.AccessKeyID, env.SecretKey, env.SessionToken)),
		Retryer:     func() aws.Retryer { return NewRetryer() },
	}
	if env.EndpointURL != "" {
		cfg.BaseEndpoint = aws.String(env.EndpointURL)
	}
	return cfg, nil
}

// NewRetryer is the retryer trailguard's clients use: adaptive mode, MaxAttempts attempts. Options adjust it
// further; tests use them to shorten the backoff, never to change what is retried.
func NewRetryer(opts ...func(*retry.StandardOptions)) aws.Retryer {
	return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) { so.MaxAttempts = MaxAttempts })
		o.StandardOptions = append(o.StandardOptions, opts...)
	})
}
