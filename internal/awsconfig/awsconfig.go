// Package awsconfig builds the AWS SDK configuration every trailguard Lambda uses, so that credentials, endpoint
// and retry behaviour are decided in one place.
package awsconfig

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The retry policy, sized for Lambda, where every second a function waits is billed and an invocation has a
// deadline. A throttled or 5xx call is retried up to MaxAttempts times in all, after a delay drawn at random up
// to BackoffBase·2^attempt, capped at MaxBackoff ("full jitter": concurrent invocations spread out instead of
// retrying in step). So a call waits at most 2.5 s in all, 1.25 s on average, and the context's deadline cuts any
// wait short. There is deliberately no client-side rate limiting: the SDK's adaptive mode sleeps for seconds once
// it has seen throttling, and standard mode's retry quota makes calls fail without trying once a burst has spent
// it; both cost more Lambda time, or lost repairs, than the few retries they save.
const (
	MaxAttempts = 6
	BackoffBase = 50 * time.Millisecond
	MaxBackoff  = time.Second
)

// Environment is what a Lambda execution environment tells its function about AWS.
type Environment struct {
	Region                               string // AWS_REGION
	AccessKeyID, SecretKey, SessionToken string // the function role's credentials, which Lambda refreshes per environment
	// EndpointURL (AWS_ENDPOINT_URL) points every client at one endpoint: moto for tests and the demo.
	EndpointURL string
}

// FromEnvironment builds the configuration from the variables Lambda sets, with trailguard's retry policy. It deliberately
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

// NewRetryer is the retryer trailguard's clients use (see MaxAttempts). Options adjust it further; tests use them
// to shorten the backoff, never to change what is retried.
func NewRetryer(opts ...func(*retry.StandardOptions)) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.Backoff = Backoff{Base: BackoffBase, Max: MaxBackoff}
		o.RateLimiter = ratelimit.None
		for _, opt := range opts {
			opt(o)
		}
	})
}

// Backoff is full-jitter exponential backoff: a delay drawn uniformly from [0, min(Max, Base·2^attempt)].
type Backoff struct{ Base, Max time.Duration }

// BackoffDelay implements retry.BackoffDelayer. attempt counts from 1.
func (b Backoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceiling := b.Max
	if attempt < 31 && b.Base<<attempt < ceiling {
		ceiling = b.Base << attempt
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1)), nil
}
