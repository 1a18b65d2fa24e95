// Command hello is the floor the functions' cold start is measured against: the smallest aws-lambda-go bootstrap,
// built with the functions' flags and started the same way by the benchmark harness, so that what trailguard's
// init adds (SDK configuration, clients, its own set-up) is the difference between the two in one run.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "hello", nil })
}
