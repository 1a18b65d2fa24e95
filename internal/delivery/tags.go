package delivery

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// MarkRegistered tags the trail with the stack whose registration guards it (TagRegisteredBy), unless live tags
// say so already. The sweep compares these tags with the registry: a record that disappears without a Delete is
// noticed.
func (e *Engine) MarkRegistered(ctx context.Context, t Target, live Live, stackID string) (bool, error) {
	if live.Tags[TagRegisteredBy] == stackID {
		return false, nil
	}
	_, err := e.c.CloudTrail.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(t.TrailARN),
		TagsList: []cttypes.Tag{{Key: aws.String(TagRegisteredBy), Value: aws.String(stackID)}}})
	if err != nil {
		return false, fmt.Errorf("tag trail %s as registered: %w", t.TrailARN, err)
	}
	return true, nil
}

// UnmarkRegistered removes TagRegisteredBy from the trail if it names stackID. A trail that is gone, or that
// another stack's registration marks, is left alone.
func (e *Engine) UnmarkRegistered(ctx context.Context, t Target, stackID string) (bool, error) {
	tags, err := e.trailTags(ctx, t.TrailARN)
	var nf *cttypes.TrailNotFoundException
	var rnf *cttypes.ResourceNotFoundException
	if errors.As(err, &nf) || errors.As(err, &rnf) {
		return false, nil
	}
	if err != nil || tags[TagRegisteredBy] != stackID {
		return false, err
	}
	_, err = e.c.CloudTrail.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(t.TrailARN),
		TagsList: []cttypes.Tag{{Key: aws.String(TagRegisteredBy)}}})
	if err != nil {
		return false, fmt.Errorf("untag trail %s: %w", t.TrailARN, err)
	}
	return true, nil
}

// listTagsBatch is how many trails one ListTags call may name.
const listTagsBatch = 20

// SweepTags reads the tags of every trail of the region (as sh found them), by trail ARN: the registration marks
// and the consent tags a sweep checks. It costs one ListTags per 20 trails.
func (e *Engine) SweepTags(ctx context.Context, sh *Shared) (map[string]map[string]string, error) {
	arns := sh.TrailARNs()
	all := map[string]map[string]string{}
	for start := 0; start < len(arns); start += listTagsBatch {
		batch := arns[start:min(start+listTagsBatch, len(arns))]
		tags, err := e.c.CloudTrail.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: batch})
		if err != nil {
			return nil, fmt.Errorf("read tags of trails: %w", err)
		}
		for _, r := range tags.ResourceTagList {
			m := map[string]string{}
			for _, tag := range r.TagsList {
				m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			all[aws.ToString(r.ResourceId)] = m
		}
	}
	return all, nil
}
