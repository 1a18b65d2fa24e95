package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/trailguard/trailguard/internal/spec"
)

// RolePath is the IAM path of roles trailguard creates, so that its IAM permissions can be limited to them.
const RolePath = "/trailguard/"

// Target is a spec resolved against the live account: every name and ARN the engine reads and writes. The provider
// stores it in the registry, so the remediator never has to resolve a spec again.
type Target struct {
	TrailName  string `json:"TrailName" dynamodbav:"TrailName"`
	TrailARN   string `json:"TrailArn" dynamodbav:"TrailArn"`
	HomeRegion string `json:"HomeRegion" dynamodbav:"HomeRegion"`
	Partition  string `json:"Partition" dynamodbav:"Partition"`
	Account    string `json:"Account" dynamodbav:"Account"`
	// OrgID is set for an organization trail: its log streams are also named o-ORGID_*.
	OrgID string `json:"OrgId,omitempty" dynamodbav:"OrgId,omitempty"`

	LogGroupName string `json:"LogGroupName" dynamodbav:"LogGroupName"`
	// RetentionInDays is the retention trailguard keeps; 0 leaves a reused group's retention alone.
	RetentionInDays int32  `json:"RetentionInDays,omitempty" dynamodbav:"RetentionInDays,omitempty"`
	KmsKeyID        string `json:"KmsKeyId,omitempty" dynamodbav:"KmsKeyId,omitempty"`

	RoleName   string `json:"RoleName" dynamodbav:"RoleName"`
	RolePath   string `json:"RolePath" dynamodbav:"RolePath"`
	PolicyName string `json:"PolicyName" dynamodbav:"PolicyName"`

	EnforceLogging bool `json:"EnforceLogging" dynamodbav:"EnforceLogging"`
}

// LogGroupARN is the log group ARN in the form CloudTrail expects, ending in ":*".
func (t Target) LogGroupARN() string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", t.Partition, t.HomeRegion, t.Account, t.LogGroupName)
}

// RoleARN is the ARN of the role CloudTrail assumes.
func (t Target) RoleARN() string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", t.Partition, t.Account, t.RolePath, t.RoleName)
}

// Caller is the account trailguard acts for, taken from the CloudFormation request or the EventBridge event.
type Caller struct {
	Partition string
	Account   string
}

// ShadowTrailError means the trail is a copy of a multi-region or organization trail whose home region is
// elsewhere: only the home region may update it.
type ShadowTrailError struct {
	Trail, Region, HomeRegion string
}

func (e *ShadowTrailError) Error() string {
	return fmt.Sprintf("trail %s is a shadow copy in %s of a trail whose home region is %s: only %s can update it, "+
		"so declare the resource in a stack deployed to %s", e.Trail, e.Region, e.HomeRegion, e.HomeRegion, e.HomeRegion)
}

// TrailNotFoundError means no trail of that name or ARN exists in the region.
type TrailNotFoundError struct {
	Trail, Region string
}

func (e *TrailNotFoundError) Error() string {
	return fmt.Sprintf("trail %s not found in %s: it must exist before it can deliver to CloudWatch Logs", e.Trail, e.Region)
}

// Resolve reads the trail named in s and settles every name and ARN of its desired delivery. It refuses shadow
// trails, trails of another account, and log groups or roles outside the trail's account and home region. It writes
// nothing.
func (e *Engine) Resolve(ctx context.Context, caller Caller, s spec.Spec) (Target, error) {
	if strings.HasPrefix(s.TrailName, "arn:") {
		a, err := spec.ParseTrailARN(s.TrailName)
		if err != nil {
			return Target{}, &spec.FieldError{Field: "TrailName", Rule: err.Error()}
		}
		if a.Region != e.region {
			return Target{}, &ShadowTrailError{Trail: s.TrailName, Region: e.region, HomeRegion: a.Region}
		}
	}
	out, err := e.c.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(s.TrailName)})
	var nf *cttypes.TrailNotFoundException
	if errors.As(err, &nf) {
		return Target{}, e.notFound(ctx, s.TrailName)
	}
	if err != nil {
		return Target{}, fmt.Errorf("read trail %s: %w", s.TrailName, err)
	}
	tr := out.Trail
	trailARN := aws.ToString(tr.TrailARN)
	a, err := spec.ParseTrailARN(trailARN)
	if err != nil {
		return Target{}, fmt.Errorf("trail %s: CloudTrail returned an unexpected ARN: %w", s.TrailName, err)
	}
	if home := aws.ToString(tr.HomeRegion); home != "" && home != e.region {
		return Target{}, &ShadowTrailError{Trail: trailARN, Region: e.region, HomeRegion: home}
	}
	if a.Region != e.region {
		return Target{}, &ShadowTrailError{Trail: trailARN, Region: e.region, HomeRegion: a.Region}
	}
	if caller.Account != "" && a.Account != caller.Account {
		if aws.ToBool(tr.IsOrganizationTrail) {
			return Target{}, fmt.Errorf("trail %s is an organization trail owned by account %s: only the management account "+
				"(or a delegated administrator, through the API) can configure it, not account %s", trailARN, a.Account, caller.Account)
		}
		return Target{}, fmt.Errorf("trail %s belongs to account %s, not to this account %s", trailARN, a.Account, caller.Account)
	}

	t, err := TargetFor(a, s)
	if err != nil {
		return Target{}, err
	}
	if aws.ToBool(tr.IsOrganizationTrail) {
		org, err := e.c.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		if err != nil {
			return Target{}, fmt.Errorf("trail %s is an organization trail; reading the organization id for its log stream names: %w", trailARN, err)
		}
		t.OrgID = aws.ToString(org.Organization.Id)
	}
	if s.RoleArn == "" {
		if err := e.findRolePath(ctx, &t); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}

// notFound explains a trail GetTrail does not find: if DescribeTrails lists a shadow copy of that name, say where its
// home region is, because that is the mistake a person most likely made.
func (e *Engine) notFound(ctx context.Context, name string) error {
	out, err := e.c.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err == nil {
		for _, tr := range out.TrailList {
			if home := aws.ToString(tr.HomeRegion); aws.ToString(tr.Name) == name && home != e.region {
				return &ShadowTrailError{Trail: aws.ToString(tr.TrailARN), Region: e.region, HomeRegion: home}
			}
		}
	}
	return &TrailNotFoundError{Trail: name, Region: e.region}
}

// TargetFor settles a spec's names and ARNs for a known trail without calling AWS. A role given by name is assumed
// to be under RolePath until Resolve finds it elsewhere; an organization trail's id is left for Resolve to read.
// Delete uses it directly: it must work even when the trail is gone.
func TargetFor(trail spec.TrailARN, s spec.Spec) (Target, error) {
	t := Target{
		TrailName: trail.Name, TrailARN: trail.String(), HomeRegion: trail.Region, Partition: trail.Partition,
		Account: trail.Account, RetentionInDays: s.RetentionInDays, KmsKeyID: s.KmsKeyID, EnforceLogging: s.EnforceLogging,
		PolicyName: PolicyName(trail.Region, trail.Name),
	}
	if err := t.resolveLogGroup(s); err != nil {
		return Target{}, err
	}
	if err := t.resolveRole(s); err != nil {
		return Target{}, err
	}
	return t, nil
}

func (t *Target) resolveLogGroup(s spec.Spec) error {
	switch {
	case s.LogGroupArn != "":
		lg, err := spec.ParseLogGroupARN(s.LogGroupArn)
		if err != nil {
			return &spec.FieldError{Field: "LogGroupArn", Rule: err.Error()}
		}
		if lg.Account != t.Account || lg.Region != t.HomeRegion || lg.Partition != t.Partition {
			return &spec.FieldError{Field: "LogGroupArn", Rule: fmt.Sprintf(
				"log group %s is in account %s, region %s; CloudTrail delivers only to a log group in the trail's own account "+
					"(%s) and home region (%s)", lg.Name, lg.Account, lg.Region, t.Account, t.HomeRegion)}
		}
		t.LogGroupName = lg.Name
	case s.LogGroupName != "":
		t.LogGroupName = s.LogGroupName
	default:
		t.LogGroupName = fmt.Sprintf("aws-cloudtrail-logs-%s-%s", t.Account, t.TrailName)
	}
	return nil
}

// resolveRole settles the role's name and path from the spec: an ARN is taken as given, a name defaults to the
// documented one under RolePath.
func (t *Target) resolveRole(s spec.Spec) error {
	if s.RoleArn == "" {
		t.RoleName, t.RolePath = s.RoleName, RolePath
		if t.RoleName == "" {
			t.RoleName = spec.DefaultRoleName
		}
		return nil
	}
	r, err := spec.ParseRoleARN(s.RoleArn)
	if err != nil {
		return &spec.FieldError{Field: "RoleArn", Rule: err.Error()}
	}
	if r.Account != t.Account || r.Partition != t.Partition {
		return &spec.FieldError{Field: "RoleArn", Rule: fmt.Sprintf(
			"role %s is in account %s; CloudTrail can only use a role of the trail's own account %s", r.Name, r.Account, t.Account)}
	}
	t.RoleName, t.RolePath = r.Name, r.Path
	return nil
}

// findRolePath looks a role given by name up, because a role that already exists may live under any path.
func (e *Engine) findRolePath(ctx context.Context, t *Target) error {
	out, err := e.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(t.RoleName)})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
		return nil // Apply creates it under RolePath
	case err != nil:
		return fmt.Errorf("read role %s: %w", t.RoleName, err)
	}
	if p := aws.ToString(out.Role.Path); p != "" {
		t.RolePath = p
	}
	return nil
}

var policyNameUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

// PolicyName is the name of the inline role policy for one trail. It includes the home region because trail names
// are unique per region while a role is shared by the whole account, and it stays within IAM's 128 characters.
func PolicyName(region, trail string) string {
	name := policyNameUnsafe.ReplaceAllString("trailguard-"+region+"-"+trail, "-")
	if len(name) <= 128 {
		return name
	}
	sum := sha256.Sum256([]byte(region + "/" + trail))
	return name[:119] + "-" + hex.EncodeToString(sum[:4])
}
