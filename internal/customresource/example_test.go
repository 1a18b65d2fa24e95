package customresource_test

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/trailguard/trailguard/internal/customresource"
)

// A Lambda main wires a handler like this; lambda.Start(handler) then serves CloudFormation.
func ExampleWrap() {
	handler := customresource.Wrap(func(ctx context.Context, req customresource.Request) (customresource.Result, error) {
		if req.RequestType == customresource.RequestDelete && customresource.IsFallbackID(req.PhysicalResourceID) {
			return customresource.Result{}, nil // the Create failed: there is nothing to delete
		}
		name, _ := req.ResourceProperties["TrailName"].(string)
		if name == "" {
			return customresource.Result{}, errors.New("TrailName is required")
		}
		return customresource.Result{PhysicalResourceID: "arn:aws:cloudtrail:us-east-1:123456789012:trail/" + name}, nil
	}, customresource.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil))))
	_ = handler // lambda.Start(handler)
}
