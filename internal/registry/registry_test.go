package registry_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/registry"
	"github.com/trailguard/trailguard/internal/spec"
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
		TrailARN: trailARN, Owner: owner,
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
	byGroup, read, err := cache.Lookup(ctx, registry.ByLogGroup("group-2"))
	require.NoError(t, err)
	assert.Len(t, byGroup, 1)
	assert.True(t, read, "the first lookup reads the table")
	byRole, read, err := cache.Lookup(ctx, registry.ByRole("CloudTrail_CloudWatchLogs_Role"))
	require.NoError(t, err)
	assert.Len(t, byRole, 1)
	assert.False(t, read, "later ones use the snapshot")
	byName, _, err := cache.Lookup(ctx, registry.ByTrailName("other"))
	require.NoError(t, err)
	assert.Empty(t, byName)
	byARN, _, err := cache.Lookup(ctx, registry.ByTrailARN(trailARN))
	require.NoError(t, err)
	assert.Len(t, byARN, 1)

	require.NoError(t, reg.Release(ctx, trailARN, ownerA))
	_, found, err = reg.Get(ctx, trailARN)
	require.NoError(t, err)
	assert.False(t, found)
	require.NoError(t, reg.Release(ctx, trailARN, ownerA), "releasing twice is fine")

	// The snapshot still holds the trail until it is older than its time to live.
	stale, _, err := cache.Lookup(ctx, registry.ByTrailARN(trailARN))
	require.NoError(t, err)
	assert.Len(t, stale, 1)
	now = now.Add(time.Minute)
	gone, _, err := cache.Lookup(ctx, registry.ByTrailARN(trailARN))
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

// The stored item is the table's documented schema (docs/architecture.md): attribute names do not follow Go field
// names, and a record survives the round trip whole.
func TestTheStoredItemIsTheDocumentedSchema(t *testing.T) {
	ctx := context.Background()
	cfg := testbed.StartMoto(t).Config("us-east-1")
	require.NoError(t, testbed.NewAWS(cfg).CreateRegistryTable(ctx, "registry"))
	db := dynamodb.NewFromConfig(cfg)
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	reg := registry.New(db, "registry", registry.WithClock(func() time.Time { return at }))
	rec := record(ownerA, "group-1")
	rec.Spec.KmsKeyID, rec.Target.KmsKeyID = "arn:aws:kms:us-east-1:123456789012:key/k", "arn:aws:kms:us-east-1:123456789012:key/k"
	rec.Spec.LogGroupARN = "arn:aws:logs:us-east-1:123456789012:log-group:group-1"
	rec.Target.Previous = &delivery.Link{LogGroupARN: "arn:aws:logs:us-east-1:123456789012:log-group:old:*", RoleARN: "arn:aws:iam::123456789012:role/old"}
	rec.Target.CreatedLogGroup, rec.Target.ManagementEvents = true, true
	rec.Target.GlobalServiceEvents, rec.Target.MultiRegion = true, true
	rec.LastRemediation = &registry.Remediation{At: at, EventID: "e", Action: "repaired", Result: "ok", Drift: []string{"d"}}
	require.NoError(t, reg.Claim(ctx, rec))

	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("registry"),
		Key: map[string]ddbtypes.AttributeValue{"TrailArn": &ddbtypes.AttributeValueMemberS{Value: trailARN}}})
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, attributevalue.UnmarshalMap(out.Item, &raw))
	assert.Equal(t, "arn:aws:kms:us-east-1:123456789012:key/k", raw["Spec"].(map[string]any)["KmsKeyId"])
	assert.Equal(t, "arn:aws:kms:us-east-1:123456789012:key/k", raw["Target"].(map[string]any)["KmsKeyId"])
	assert.Equal(t, trailARN, raw["Target"].(map[string]any)["TrailArn"])
	assert.Equal(t, "arn:aws:logs:us-east-1:123456789012:log-group:group-1", raw["Spec"].(map[string]any)["LogGroupArn"])
	assert.Contains(t, raw["Target"].(map[string]any)["Previous"], "LogGroupArn")
	assert.Equal(t, ownerA.StackID, raw["Owner"].(map[string]any)["StackId"])
	assert.Equal(t, "e", raw["LastRemediation"].(map[string]any)["EventId"])

	got, _, err := reg.Get(ctx, trailARN)
	require.NoError(t, err)
	rec.Status, rec.Version, rec.UpdatedAt = registry.Compliant, 1, at
	assert.Equal(t, rec, got, "nothing is lost on the way through the table")
}
