// Package registry keeps the desired state of every trail trailguard manages in a DynamoDB table: one item per
// trail ARN, owned by the CloudFormation resource that declared it. The provider writes it; the remediator reads it
// and records what it found and did.
//
// Writes are conditional on the owner, so two stacks cannot both manage one trail, and on a version number, so two
// remediator invocations racing on one trail cannot lose each other's repairs.
package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/repair"
	"github.com/trailguard/trailguard/internal/spec"
)

// KeyAttribute is the table's partition key: the trail ARN.
const KeyAttribute = "TrailArn"

// Status is what the remediator last concluded about a trail.
type Status string

// The statuses a remediator's decision stores are the repair policy's (repair.Status): what a rule does lives there.
const (
	Compliant = Status(repair.StatusCompliant)
	Drifted   = Status(repair.StatusDrifted)
	Contested = Status(repair.StatusContested)
	Gone      = Status(repair.StatusGone)
	// Deleting marks a record whose resource's Delete has begun: the remediator leaves the trail alone, so a Delete
	// that fails half-way is not undone while CloudFormation retries it.
	Deleting Status = "deleting"
	// Unguarded marks a record the account policy keeps only to remember what it told a person about a trail it
	// does not guard (opted out, or not adoptable): its mode is off, and the remediator leaves the trail alone.
	Unguarded Status = "unguarded"
)

// Owner is the CloudFormation resource that declared the trail's desired state.
type Owner struct {
	StackID           string
	LogicalResourceID string
}

// AccountPolicy owns the records of trails the remediator adopts in account-wide mode: trails no stack declares.
// It is no CloudFormation resource, so no request can carry it; a stack that the ownership rule permits may
// supersede it (and only it), and when that stack deletes its resource the account policy adopts the trail again.
var AccountPolicy = Owner{StackID: "trailguard:account-policy", LogicalResourceID: "AccountPolicy"}

func (o Owner) String() string {
	if o == AccountPolicy {
		return "the account policy (" + o.StackID + ")"
	}
	return o.LogicalResourceID + " in stack " + o.StackID
}

// Remediation is the last thing the remediator did to a trail, and why.
type Remediation struct {
	At        time.Time
	EventID   string
	EventName string
	Actor     string
	Drift     []string
	Action    string
	Result    string
}

// Record is one trail's registration. Its stored form is item (item.go).
type Record struct {
	TrailARN string
	Owner    Owner
	Spec     spec.Spec
	Target   delivery.Target
	Status   Status
	// Repairs are the times of recent repairs, for the repair policy's "more than N in a window" rule.
	Repairs         []time.Time
	LastRemediation *Remediation
	// ConsentNotice is the name-only trailguard:managed-by value the sweep last told the owner to replace with the
	// stack id: told once per value.
	ConsentNotice string
	UpdatedAt     time.Time
	// Version increases with every write; a write based on an older version fails with *ConflictError.
	Version int64
}

// API is the part of the DynamoDB client the registry calls.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Registry reads and writes the table.
type Registry struct {
	db    API
	table string
	now   func() time.Time
}

// Option configures a Registry.
type Option func(*Registry)

// WithClock replaces time.Now, which stamps UpdatedAt.
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// New returns a registry on the named table.
func New(db API, table string, opts ...Option) *Registry {
	r := &Registry{db: db, table: table, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

// OwnedError means another CloudFormation resource already manages the trail, or (LogGroup set) registered the
// log group with other settings.
type OwnedError struct {
	Trail string
	Owner Owner
	// LogGroup, when set, is a log group another owner registered with another retention or key.
	LogGroup string
}

func (e *OwnedError) Error() string {
	if e.LogGroup != "" {
		return fmt.Sprintf("log group %s is registered by %s with another retention or key: trails that share a log group "+
			"must agree on its settings (trail %s refused)", e.LogGroup, e.Owner, e.Trail)
	}
	return fmt.Sprintf("trail %s is already managed by %s: one trail can have one owner; remove it there first", e.Trail, e.Owner)
}

// ConflictError means the item changed since it was read: read it again and redo the decision.
type ConflictError struct{ Trail string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("registry item of trail %s changed while it was being updated", e.Trail)
}

// Claim writes the record for its owner: it creates the item, or replaces one the same owner wrote. Another owner's
// item is left alone and reported as *OwnedError. Status and remediation history of the owner's earlier item are
// kept.
func (r *Registry) Claim(ctx context.Context, rec Record) error {
	old, found, err := r.Get(ctx, rec.TrailARN)
	if err != nil {
		return err
	}
	if found && old.Owner != rec.Owner {
		return &OwnedError{Trail: rec.TrailARN, Owner: old.Owner}
	}
	if found {
		rec.Status, rec.Repairs, rec.LastRemediation, rec.Version = old.Status, old.Repairs, old.LastRemediation, old.Version
	}
	if rec.Status == "" || rec.Status == Deleting {
		// A claim is the owner saying the trail is theirs again (an Update after a failed Delete): a Deleting mark
		// left behind would keep the remediator away from it for good.
		rec.Status = Compliant
	}
	err = r.put(ctx, rec, found)
	var conflict *ConflictError
	if errors.As(err, &conflict) {
		// Someone wrote between our read and write: if it was another owner, say who.
		if now, ok, gerr := r.Get(ctx, rec.TrailARN); gerr == nil && ok && now.Owner != rec.Owner {
			return &OwnedError{Trail: rec.TrailARN, Owner: now.Owner}
		}
	}
	return err
}

// Save writes a record the caller read and changed, if nobody wrote it since (else *ConflictError).
func (r *Registry) Save(ctx context.Context, rec Record) error { return r.put(ctx, rec, true) }

// put writes rec with Version+1, conditional on the item being absent (exists false) or at rec.Version with the
// same owner (exists true).
func (r *Registry) put(ctx context.Context, rec Record, exists bool) error {
	next := rec
	next.Version++
	next.UpdatedAt = r.now().UTC()
	item, err := attributevalue.MarshalMap(toItem(next))
	if err != nil {
		return fmt.Errorf("encode registry item of trail %s: %w", rec.TrailARN, err)
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(r.table), Item: item}
	if exists {
		in.ConditionExpression = aws.String("#v = :v AND #o.#s = :s AND #o.#l = :l")
		in.ExpressionAttributeNames = map[string]string{"#v": "Version", "#o": "Owner", "#s": "StackId", "#l": "LogicalResourceId"}
		in.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{
			":v": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(rec.Version)},
			":s": &ddbtypes.AttributeValueMemberS{Value: rec.Owner.StackID},
			":l": &ddbtypes.AttributeValueMemberS{Value: rec.Owner.LogicalResourceID},
		}
	} else {
		in.ConditionExpression = aws.String("attribute_not_exists(#k)")
		in.ExpressionAttributeNames = map[string]string{"#k": KeyAttribute}
	}
	_, err = r.db.PutItem(ctx, in)
	var failed *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return &ConflictError{Trail: rec.TrailARN}
	}
	if err != nil {
		return fmt.Errorf("write registry item of trail %s to table %s: %w", rec.TrailARN, r.table, err)
	}
	return nil
}

// Get reads one trail's record; found is false when the trail is not registered.
func (r *Registry) Get(ctx context.Context, trailARN string) (rec Record, found bool, err error) {
	out, err := r.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(r.table),
		Key:            map[string]ddbtypes.AttributeValue{KeyAttribute: &ddbtypes.AttributeValueMemberS{Value: trailARN}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("read registry item of trail %s from table %s: %w", trailARN, r.table, err)
	}
	if len(out.Item) == 0 {
		return Record{}, false, nil
	}
	var it item
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Record{}, false, fmt.Errorf("decode registry item of trail %s: %w", trailARN, err)
	}
	return it.record(), true, nil
}

// Release deletes the owner's record. A record that is gone, or that another owner holds, is left alone: the
// Delete of a resource that never owned the trail must change nothing.
func (r *Registry) Release(ctx context.Context, trailARN string, owner Owner) error {
	_, err := r.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(r.table),
		Key:                      map[string]ddbtypes.AttributeValue{KeyAttribute: &ddbtypes.AttributeValueMemberS{Value: trailARN}},
		ConditionExpression:      aws.String("attribute_not_exists(#k) OR (#o.#s = :s AND #o.#l = :l)"),
		ExpressionAttributeNames: map[string]string{"#k": KeyAttribute, "#o": "Owner", "#s": "StackId", "#l": "LogicalResourceId"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":s": &ddbtypes.AttributeValueMemberS{Value: owner.StackID},
			":l": &ddbtypes.AttributeValueMemberS{Value: owner.LogicalResourceID},
		},
	})
	var failed *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete registry item of trail %s from table %s: %w", trailARN, r.table, err)
	}
	return nil
}

// List reads every record. A region holds few trails, so a scan is cheaper than keeping indexes.
func (r *Registry) List(ctx context.Context) ([]Record, error) {
	in := &dynamodb.ScanInput{TableName: aws.String(r.table), ConsistentRead: aws.Bool(true)}
	var recs []Record
	for {
		out, err := r.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan registry table %s: %w", r.table, err)
		}
		for _, raw := range out.Items {
			var it item
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("decode registry item: %w", err)
			}
			recs = append(recs, it.record())
		}
		if len(out.LastEvaluatedKey) == 0 {
			return recs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
