// Package awsconfig loads the AWS SDK configuration every trailguard Lambda uses, so that retry behaviour is decided
// in one place.
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
)

// MaxAttempts bounds the SDK's own retries of throttling and 5xx answers. Adaptive mode also slows the client down
// when AWS throttles it, which matters when a burst of events hits one account's CloudTrail and IAM rate limits.
const MaxAttempts = 8

// Load reads the standard AWS configuration (environment, shared files, the Lambda role) with adaptive retries.
// AWS_ENDPOINT_URL, honoured by the SDK itself, points every client at a local emulator for tests and the demo.
func Load(ctx context.Context, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := append([]func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return NewRetryer() }),
	}, optFns...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
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
