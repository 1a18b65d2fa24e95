package customresource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// origin is where a request must come from to be served: CloudFormation, for a stack of this function's own
// partition, region and account. Anyone allowed to invoke the function can hand it an event; only these checks
// make a copied StackId or a hand-picked ResponseURL worthless.
type origin struct {
	Partition, Region, Account string
}

// isAccountID reports whether s is an AWS account ID: exactly 12 ASCII digits. A loop rather than a regular
// expression, which would be compiled at every cold start whether or not a request ever comes.
func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// functionOrigin is this invocation's own origin: the partition and account of the invoked function's ARN, which
// Lambda puts in the context, and the region the function runs in (region, from its environment; the ARN's when
// empty). Without an ARN the requests cannot be checked, and are refused.
func functionOrigin(ctx context.Context, region string) (origin, error) {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok || lc.InvokedFunctionArn == "" {
		return origin{}, errors.New("the invocation carries no invoked function ARN, so the StackId's account cannot be checked")
	}
	a, err := arn.Parse(lc.InvokedFunctionArn)
	if err != nil || a.Service != "lambda" || !isAccountID(a.AccountID) || a.Region == "" {
		return origin{}, fmt.Errorf("the invoked function ARN %q is not a Lambda function ARN", lc.InvokedFunctionArn)
	}
	if region == "" {
		region = a.Region
	}
	return origin{Partition: a.Partition, Region: region, Account: a.AccountID}, nil
}

// stackOrigin reads the partition, region and account of a StackId
// (arn:aws:cloudformation:us-east-1:123456789012:stack/name/id).
func stackOrigin(stackID string) (origin, error) {
	a, err := arn.Parse(stackID)
	if err != nil || a.Service != "cloudformation" || !strings.HasPrefix(a.Resource, "stack/") ||
		!isAccountID(a.AccountID) || a.Region == "" {
		return origin{}, errors.New("StackId is not a CloudFormation stack ARN (arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>)")
	}
	return origin{Partition: a.Partition, Region: a.Region, Account: a.AccountID}, nil
}

// checkStack refuses a stack of another partition, region or account than the function's: a provider serves the
// stacks of its own account and region (README: one provider per account and region), and a StackId copied from
// elsewhere must not make it act.
func checkStack(stack, fn origin) error {
	switch {
	case stack.Partition != fn.Partition:
		return fmt.Errorf("StackId is in partition %s, not this function's partition %s: a provider serves only its own partition's stacks", stack.Partition, fn.Partition)
	case stack.Account != fn.Account:
		return fmt.Errorf("StackId is in account %s, not this function's account %s: a provider serves only its own account's stacks", stack.Account, fn.Account)
	case stack.Region != fn.Region:
		return fmt.Errorf("StackId is in region %s, not this function's region %s: a provider serves only its own region's stacks", stack.Region, fn.Region)
	}
	return nil
}

// s3Domain is the S3 endpoint domain of each partition CloudFormation's response buckets are known in.
var s3Domain = map[string]string{"aws": "amazonaws.com", "aws-us-gov": "amazonaws.com", "aws-cn": "amazonaws.com.cn"}

// responseBucket is CloudFormation's custom-resource response bucket of a region: its name without dashes
// (cloudformation-custom-resource-response-useast1), as in CloudFormation's VPC endpoint documentation.
func responseBucket(region string) string {
	return "cloudformation-custom-resource-response-" + strings.ReplaceAll(region, "-", "")
}

// responseHosts are the hosts a ResponseURL for o may name: the response bucket of o's region, virtual-hosted on
// the regional endpoint in both of its spellings (s3.<region>, as sent today, and s3-<region>, as sent before), the
// dual-stack endpoint and, in the commercial partition, the global endpoint (as sent for us-east-1). Path-style
// URLs and other buckets are never sent by CloudFormation and are refused.
func responseHosts(o origin) ([]string, error) {
	domain, ok := s3Domain[o.Partition]
	if !ok {
		return nil, fmt.Errorf("partition %s has no known CloudFormation response bucket", o.Partition)
	}
	b := responseBucket(o.Region)
	hosts := []string{
		b + ".s3." + o.Region + "." + domain,
		b + ".s3-" + o.Region + "." + domain,
		b + ".s3.dualstack." + o.Region + "." + domain,
	}
	if o.Partition == "aws" {
		hosts = append(hosts, b+".s3."+domain)
	}
	return hosts, nil
}
