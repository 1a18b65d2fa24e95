package registry_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
	"github.com/trailguard/trailguard/internal/testbed"
)

func TestMain(m *testing.M) { os.Exit(testbed.RunWithMoto(m)) }

const trailARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail"

var (
	ownerA = registry.Owner{StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/a/1", LogicalResourceID: "Delivery"}
	ownerB = registry.Owner{StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/b/2", LogicalResourceID: "Delivery"}
)

func newRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	cfg := testbed.StartMoto(t).Config("us-east-1")
	require.NoError(t, testbed.NewAWS(cfg).CreateRegistryTable(context.Background(), "registry"))
	return registry.New(dynamodb.NewFromConfig(cfg), "registry")
}

func record(owner registry.Owner, group string) registry.Record {
	return registry.Record{
		TrailArn: trailARN, Owner: owner,
		Spec:   spec.Spec{TrailName: "management-trail", Remediation: spec.Enforce, EnforceLogging: true},
		Target: delivery.Target{TrailARN: trailARN, TrailName: "management-trail", LogGroupName: group, RoleName: "CloudTrail_CloudWatchLogs_Role"},
	}
}

func TestClaimGetRelease(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	require.NoError(t, reg.Claim(ctx, record(ownerA, "group-1")))

	got, found, err := reg.Get(ctx, trailARN)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, ownerA, got.Owner)
	assert.Equal(t, registry.Compliant, got.Status)
	assert.Equal(t, "group-1", got.Target.LogGroupName)
	assert.Equal(t, int64(1), got.Version)

	// The same owner may claim again (an Update); history is kept.
	got.Status = registry.Drifted
	require.NoError(t, reg.Save(ctx, got))
	require.NoError(t, reg.Claim(ctx, record(ownerA, "group-2")))
	got, _, err = reg.Get(ctx, trailARN)
	require.NoError(t, err)
	assert.Equal(t, "group-2", got.Target.LogGroupName)
	assert.Equal(t, registry.Drifted, got.Status)

	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cache := registry.NewCache(reg, time.Minute, func() time.Time { return now })
	byGroup, err := cache.Lookup(ctx, registry.ByLogGroup("group-2"))
	require.NoError(t, err)
	assert.Len(t, byGroup, 1)
	byRole, err := cache.Lookup(ctx, registry.ByRole("CloudTrail_CloudWatchLogs_Role"))
	require.NoError(t, err)
	assert.Len(t, byRole, 1)
	byName, err := cache.Lookup(ctx, registry.ByTrailName("other"))
	require.NoError(t, err)
	assert.Empty(t, byName)
	byARN, err := cache.Lookup(ctx, registry.ByTrailARN(trailARN))
	require.NoError(t, err)
	assert.Len(t, byARN, 1)

	require.NoError(t, reg.Release(ctx, trailARN, ownerA))
	_, found, err = reg.Get(ctx, trailARN)
	require.NoError(t, err)
	assert.False(t, found)
	require.NoError(t, reg.Release(ctx, trailARN, ownerA), "releasing twice is fine")

	// The snapshot still holds the trail until it is older than its time to live.
	stale, err := cache.Lookup(ctx, registry.ByTrailARN(trailARN))
	require.NoError(t, err)
	assert.Len(t, stale, 1)
	now = now.Add(time.Minute)
	gone, err := cache.Lookup(ctx, registry.ByTrailARN(trailARN))
	require.NoError(t, err)
	assert.Empty(t, gone)
}

func TestSecondOwnerIsRefusedAndNamed(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	require.NoError(t, reg.Claim(ctx, record(ownerA, "group-1")))

	err := reg.Claim(ctx, record(ownerB, "group-9"))
	var owned *registry.OwnedError
	require.ErrorAs(t, err, &owned)
	assert.Equal(t, ownerA, owned.Owner)
	assert.Contains(t, err.Error(), "stack/a/1")

	// B's release must not remove A's registration.
	require.NoError(t, reg.Release(ctx, trailARN, ownerB))
	got, found, err := reg.Get(ctx, trailARN)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "group-1", got.Target.LogGroupName)
}

func TestSaveDetectsAConcurrentWrite(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	require.NoError(t, reg.Claim(ctx, record(ownerA, "group-1")))
	first, _, err := reg.Get(ctx, trailARN)
	require.NoError(t, err)
	second := first

	first.Status = registry.Drifted
	require.NoError(t, reg.Save(ctx, first))
	second.Status = registry.Contested
	err = reg.Save(ctx, second)
	var conflict *registry.ConflictError
	require.ErrorAs(t, err, &conflict, "a write based on a stale read must fail")

	got, _, err := reg.Get(ctx, trailARN)
	require.NoError(t, err)
	assert.Equal(t, registry.Drifted, got.Status)
}
