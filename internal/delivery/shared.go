package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Shared holds what one sweep reads once for every trail: the configuration of every trail of the region (one
// DescribeTrails answers for all of them) and each role, read once however many trails use it. It is safe for
// concurrent use and lives as long as one sweep.
type Shared struct {
	trails map[string]*cttypes.Trail
	mu     sync.Mutex
	roles  map[string]*roleRead
}

type roleRead struct {
	once sync.Once
	role *iamtypes.Role
	err  error
}

// ShareRegion reads every trail of the region with one DescribeTrails, for a sweep's checks.
func (e *Engine) ShareRegion(ctx context.Context) (*Shared, error) {
	out, err := e.c.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil {
		return nil, fmt.Errorf("list trails: %w", err)
	}
	sh := &Shared{trails: map[string]*cttypes.Trail{}, roles: map[string]*roleRead{}}
	for i, tr := range out.TrailList {
		if home := aws.ToString(tr.HomeRegion); home == "" || home == e.region {
			sh.trails[aws.ToString(tr.TrailARN)] = &out.TrailList[i]
		}
	}
	return sh, nil
}

// TrailARNs lists the trails ShareRegion found.
func (sh *Shared) TrailARNs() []string {
	out := make([]string, 0, len(sh.trails))
	for arn := range sh.trails {
		out = append(out, arn)
	}
	return out
}

// role reads a role, once per sweep when sh is set.
func (sh *Shared) role(ctx context.Context, c IAMAPI, name string) (*iamtypes.Role, error) {
	read := func() (*iamtypes.Role, error) {
		out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		return out.Role, nil
	}
	if sh == nil {
		return read()
	}
	sh.mu.Lock()
	r, ok := sh.roles[name]
	if !ok {
		r = &roleRead{}
		sh.roles[name] = r
	}
	sh.mu.Unlock()
	r.once.Do(func() { r.role, r.err = read() })
	return r.role, r.err
}

// ShareTrail reads one trail, by name or ARN, for the checks of the event that names it: the read then overlaps with
// the registry lookup instead of following it. A trail that does not exist is shared as missing.
func (e *Engine) ShareTrail(ctx context.Context, trail string) (*Shared, error) {
	sh := &Shared{trails: map[string]*cttypes.Trail{}, roles: map[string]*roleRead{}}
	out, err := e.c.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(trail)})
	var nf *cttypes.TrailNotFoundException
	switch {
	case errors.As(err, &nf):
		return sh, nil
	case err != nil:
		return nil, fmt.Errorf("read trail %s: %w", trail, err)
	}
	sh.trails[aws.ToString(out.Trail.TrailARN)] = out.Trail
	return sh, nil
}
