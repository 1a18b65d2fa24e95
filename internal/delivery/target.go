package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"golang.org/x/sync/errgroup"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/spec"
)

// RolePath is the IAM path of the delivery role the provider stack creates at deploy time.
const RolePath = "/trailguard/"

// Target is a spec resolved against the live account: every name and ARN the engine reads and writes. The provider
// stores it in the registry, so the remediator never has to resolve a spec again.
type Target struct {
	TrailName  string
	TrailARN   string
	HomeRegion string
	Partition  string
	// Account is the account of the log group and the role, the account trailguard runs in: the trail's own, except
	// for an organization trail wired from the CloudTrail delegated administrator account (TrailAccount).
	Account string
	// TrailAccount is set only when the trail belongs to another account than Account: an organization trail,
	// owned by the organization's management account, wired from the CloudTrail delegated administrator account
	// (docs/organizations.md). Its calls name the trail by ARN; its own events are in streams TRAILACCOUNT_CloudTrail_*.
	TrailAccount string
	// OrgID is set for an organization trail: its log streams are also named o-ORGID_*.
	OrgID string

	LogGroupName string
	// RetentionInDays is the shortest retention trailguard accepts on the log group: the value given for a group it
	// creates (365 by default), the group's own value for a group it reuses. 0 means the events never expire. A
	// longer retention is never drift: trailguard only stops audit data from being shortened.
	RetentionInDays int32
	KmsKeyID        string
	// CreatedLogGroup says that this registration created the log group: only then may its Delete delete it.
	CreatedLogGroup bool
	// DeletionProtectionOff says the resource opted out of CloudWatch Logs deletion protection on the log group;
	// by default (false) trailguard keeps it on, and turning it off is drift.
	DeletionProtectionOff bool
	// RegisteredAt is when the provider registered this trail, taken before it created anything: a log group whose
	// creation time is earlier was not created by this registration, whatever its tags or the record say, and is
	// never deleted (see deleteLogGroupIfOurs). Zero (a record from before it was kept, or one the account policy
	// wrote) proves nothing, so such a group is never deleted either.
	RegisteredAt time.Time

	RoleName   string
	RolePath   string
	PolicyName string

	EnforceLogging bool
	// ManagementEvents says that the trail recorded management write events when it was registered: a selector
	// change that stops recording them blinds the audit trail without unlinking it, and is reported.
	ManagementEvents bool
	// GlobalServiceEvents and MultiRegion say that the trail recorded global services' events (IAM, STS) and every
	// region's when it was registered: turning either off narrows what the trail sees without unlinking it.
	GlobalServiceEvents, MultiRegion bool
	// Posture is what the trail recorded and where it kept it when registered (nil for a record made before
	// trailguard recorded it): a loss against it is drift.
	Posture *Posture
	// RepairPosture says the archive part of the posture (bucket, prefix, key, validation) is repaired, not only
	// reported (spec.Spec.RepairPosture).
	RepairPosture bool
	// Previous is the CloudWatch Logs link the trail had before trailguard rewired it (ReplaceExistingDelivery):
	// Delete restores it instead of leaving the trail unlinked.
	Previous *Link
	// Pack is the CIS monitoring pack kept on the log group (pack.go); the zero value keeps none.
	Pack Pack
}

// Link is a trail's CloudWatch Logs fields as CloudTrail reports them. Empty fields mean the trail is not linked.
type Link struct {
	LogGroupARN string
	RoleARN     string
}

// Linked says whether the trail delivers anywhere.
func (l Link) Linked() bool { return l.LogGroupARN != "" && l.RoleARN != "" }

// Same says whether two links name the same log group and role (the log group ARN with or without ":*").
func (l Link) Same(o Link) bool {
	return sameLogGroupARN(l.LogGroupARN, o.LogGroupARN) && l.RoleARN == o.RoleARN
}

// Link is the link the target wants.
func (t Target) Link() Link { return Link{LogGroupARN: t.LogGroupARN(), RoleARN: t.RoleARN()} }

// LogGroupARN is the log group ARN in the form CloudTrail expects, ending in ":*".
func (t Target) LogGroupARN() string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", t.Partition, t.HomeRegion, t.Account, t.LogGroupName)
}

// RoleARN is the ARN of the role CloudTrail assumes.
func (t Target) RoleARN() string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", t.Partition, t.Account, t.RolePath, t.RoleName)
}

// Live is what Resolve read about the trail that is not desired state: who the trail says may manage it and where
// it delivers now. The provider decides ownership and replacement from it.
type Live struct {
	// Tags are the trail's tags, e.g. aws:cloudformation:stack-id for a trail a stack declared.
	Tags map[string]string
	// Link is where the trail delivers now.
	Link Link
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
	// Hint says what else the name may have meant (an organization trail named by name from the delegated
	// administrator); empty when there is nothing to add.
	Hint string
}

func (e *TrailNotFoundError) Error() string {
	return fmt.Sprintf("trail %s not found in %s: it must exist before it can deliver to CloudWatch Logs%s", e.Trail, e.Region, e.Hint)
}

// Resolve reads the trail named in s and settles every name and ARN of its desired delivery, and what the trail is
// live (its tags, its current link). It refuses shadow trails, trails of another account, log groups, roles and
// keys outside the trail's account and home region, a role that grants more than CloudTrail delivery, and a
// retention shorter than the one a reused log group already keeps. It writes nothing.
//
// prior is the target this same resource registered before (an Update, or a retried Create), nil for a new one: a
// log group it created stays its own.
func (e *Engine) Resolve(ctx context.Context, caller Caller, s spec.Spec, prior *Target) (Target, Live, error) {
	tr, err := e.readTrailToResolve(ctx, s.TrailName)
	if err != nil {
		return Target{}, Live{}, err
	}
	trailARN := aws.ToString(tr.TrailARN)
	a, err := spec.ParseTrailARN(trailARN)
	if err != nil {
		return Target{}, Live{}, fmt.Errorf("trail %s: CloudTrail returned an unexpected ARN: %w", s.TrailName, err)
	}
	if home := aws.ToString(tr.HomeRegion); home != "" && home != e.region {
		return Target{}, Live{}, &ShadowTrailError{Trail: trailARN, Region: e.region, HomeRegion: home}
	}
	if a.Region != e.region {
		return Target{}, Live{}, &ShadowTrailError{Trail: trailARN, Region: e.region, HomeRegion: a.Region}
	}
	account := a.Account
	if caller.Account != "" && a.Account != caller.Account {
		if !aws.ToBool(tr.IsOrganizationTrail) {
			return Target{}, Live{}, fmt.Errorf("trail %s belongs to account %s, not to this account %s", trailARN, a.Account, caller.Account)
		}
		// An organization trail of the management account, wired from the CloudTrail delegated administrator: the
		// log group and the role are this account's.
		if err := e.checkDelegatedAdministrator(ctx, a, caller.Account); err != nil {
			return Target{}, Live{}, err
		}
		account = caller.Account
	}

	t, err := e.targetFor(a, account, s)
	if err != nil {
		return Target{}, Live{}, err
	}
	t.GlobalServiceEvents, t.MultiRegion = aws.ToBool(tr.IncludeGlobalServiceEvents), aws.ToBool(tr.IsMultiRegionTrail)
	live := Live{Link: Link{LogGroupARN: aws.ToString(tr.CloudWatchLogsLogGroupArn), RoleARN: aws.ToString(tr.CloudWatchLogsRoleArn)}}
	if live.Tags, err = e.trailTags(ctx, trailARN); err != nil {
		return Target{}, Live{}, err
	}
	if aws.ToBool(tr.IsOrganizationTrail) {
		org, err := e.c.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		if err != nil {
			return Target{}, Live{}, fmt.Errorf("trail %s is an organization trail; reading the organization id for its log stream names: %w", trailARN, err)
		}
		t.OrgID = aws.ToString(org.Organization.Id)
		if t.TrailAccount != "" && aws.ToString(org.Organization.MasterAccountId) != t.TrailAccount {
			return Target{}, Live{}, &DelegatedAdministratorError{Trail: trailARN, Account: t.Account, Reason: fmt.Sprintf(
				"it belongs to account %s, which is not the management account (%s) of organization %s", t.TrailAccount,
				aws.ToString(org.Organization.MasterAccountId), t.OrgID)}
		}
		if e.boundary != "" && t.OrgID != e.boundaryOrg {
			return Target{}, Live{}, &BoundaryOrganizationError{Trail: trailARN, OrgID: t.OrgID, Admitted: e.boundaryOrg}
		}
	}
	if t.Pack, err = e.packFor(t, cis.Set(s.MonitoringPack), s.AlarmTopicARN); err != nil {
		return Target{}, Live{}, err
	}
	if t.Pack.TopicKey, err = e.topicKey(ctx, t.Pack); err != nil {
		return Target{}, Live{}, err
	}
	if err := e.resolveRetention(ctx, &t, s, prior); err != nil {
		return Target{}, Live{}, err
	}
	if err := e.checkExistingRole(ctx, &t, s); err != nil {
		return Target{}, Live{}, err
	}
	var sel *cloudtrail.GetEventSelectorsOutput
	var config Posture
	var reads errgroup.Group
	reads.Go(func() (err error) { sel, err = e.getSelectors(ctx, t); return err })
	reads.Go(func() error { return e.eventConfiguration(ctx, trailARN, &config) })
	if err := reads.Wait(); err != nil {
		return Target{}, Live{}, err
	}
	t.ManagementEvents = recordsManagementWrites(sel.EventSelectors, sel.AdvancedEventSelectors)
	p := postureOf(tr, sel)
	p.MaxEventSize, p.ContextKeys = config.MaxEventSize, config.ContextKeys
	t.Posture = &p
	return t, live, nil
}

// readTrailToResolve reads the trail a spec names, explaining a shadow copy or a missing trail.
func (e *Engine) readTrailToResolve(ctx context.Context, name string) (*cttypes.Trail, error) {
	if strings.HasPrefix(name, "arn:") {
		a, err := spec.ParseTrailARN(name)
		if err != nil {
			return nil, &spec.FieldError{Field: "TrailName", Rule: err.Error()}
		}
		if a.Region != e.region {
			return nil, &ShadowTrailError{Trail: name, Region: e.region, HomeRegion: a.Region}
		}
	}
	out, err := e.c.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(name)})
	var nf *cttypes.TrailNotFoundException
	if errors.As(err, &nf) {
		err := e.notFound(ctx, name)
		var missing *TrailNotFoundError
		if errors.As(err, &missing) {
			missing.Hint = e.byARNHint(name)
		}
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read trail %s: %w", name, err)
	}
	return out.Trail, nil
}

// TrailTags reads a trail's tags: who the trail says may manage it.
func (e *Engine) TrailTags(ctx context.Context, trailARN string) (map[string]string, error) {
	return e.trailTags(ctx, trailARN)
}

// trailTags reads a trail's tags.
func (e *Engine) trailTags(ctx context.Context, trailARN string) (map[string]string, error) {
	out, err := e.c.CloudTrail.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{trailARN}})
	if err != nil {
		return nil, fmt.Errorf("read tags of trail %s: %w", trailARN, err)
	}
	tags := map[string]string{}
	for _, r := range out.ResourceTagList {
		for _, tag := range r.TagsList {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return tags, nil
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

// targetFor settles a spec's names and ARNs for a known trail without calling AWS. A role given by name is placed
// at the path Resolve finds; an organization trail's id is left for Resolve to read.
func (e *Engine) targetFor(trail spec.TrailARN, account string, s spec.Spec) (Target, error) {
	t := Target{
		TrailName: trail.Name, TrailARN: trail.String(), HomeRegion: trail.Region, Partition: trail.Partition,
		Account: account, RetentionInDays: s.RetentionInDays, KmsKeyID: s.KmsKeyID, EnforceLogging: s.EnforceLogging,
		RepairPosture: s.RepairPosture, DeletionProtectionOff: s.DeletionProtectionOff,
		PolicyName: PolicyName(trail.Region, trail.Name),
	}
	if account != trail.Account {
		t.TrailAccount = trail.Account
	}
	if s.KmsKeyID != "" {
		if err := spec.CheckKey(s.KmsKeyID, trailOf(t), s.AllowCrossAccountKey); err != nil {
			return Target{}, err
		}
	}
	if err := t.resolveLogGroup(s); err != nil {
		return Target{}, err
	}
	if err := e.resolveRole(&t, s); err != nil {
		return Target{}, err
	}
	return t, nil
}

func (t *Target) resolveLogGroup(s spec.Spec) error {
	switch {
	case s.LogGroupARN != "":
		lg, err := spec.ParseLogGroupARN(s.LogGroupARN)
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

// resolveRole settles the role: an ARN as given, a name at the path IAM reports (Resolve reads it), and otherwise
// the delivery role the provider stack created at deploy time.
func (e *Engine) resolveRole(t *Target, s spec.Spec) error {
	field, roleARN := "RoleArn", s.RoleARN
	switch {
	case s.RoleName != "":
		t.RoleName, t.RolePath = s.RoleName, "/"
		return nil
	case roleARN == "":
		if e.deliveryRole == "" {
			return &spec.FieldError{Field: "RoleArn", Rule: "is required: this provider has no default delivery role (" +
				"the provider stack sets one); name an existing role that only CloudTrail can assume"}
		}
		field, roleARN = "(default delivery role)", e.deliveryRole
	}
	r, err := spec.ParseRoleARN(roleARN)
	if err != nil {
		return &spec.FieldError{Field: field, Rule: err.Error()}
	}
	if r.Account != t.Account || r.Partition != t.Partition {
		return &spec.FieldError{Field: field, Rule: fmt.Sprintf(
			"role %s is in account %s; CloudTrail can only use a role of the trail's own account %s", r.Name, r.Account, t.Account)}
	}
	t.RoleName, t.RolePath = r.Name, r.Path
	return nil
}

// resolveRetention settles the retention trailguard keeps and whether this registration creates the log group.
// A group trailguard creates keeps the retention given (365 days by default). A group that exists keeps its own
// retention: a longer one may be given, a shorter one is refused, because shortening retention deletes audit
// events.
func (e *Engine) resolveRetention(ctx context.Context, t *Target, s spec.Spec, prior *Target) error {
	group, err := e.findLogGroup(ctx, t.LogGroupName)
	if err != nil {
		return err
	}
	ours := prior != nil && prior.CreatedLogGroup && prior.LogGroupName == t.LogGroupName
	if group == nil || ours {
		t.CreatedLogGroup = true
		if t.RetentionInDays == 0 {
			t.RetentionInDays = spec.DefaultRetentionInDays
		}
		return nil
	}
	if s.LogGroupName == "" && s.LogGroupARN == "" {
		// The default name is predictable: a group someone made under it in advance (with a one-day retention, a
		// foreign key, a subscription that copies every event out) must not become this trail's desired state.
		if err := e.checkCreatedForTrail(ctx, t); err != nil {
			return err
		}
	}
	if group.KmsKeyID != "" {
		if err := spec.CheckKey(group.KmsKeyID, trailOf(*t), s.AllowCrossAccountKey); err != nil {
			return &spec.FieldError{Field: "LogGroupName", Rule: fmt.Sprintf("log group %s is encrypted with key %s: %v",
				t.LogGroupName, group.KmsKeyID, err)}
		}
	}
	t.KmsKeyID = ""
	if s.KmsKeyID != "" && group.KmsKeyID != s.KmsKeyID {
		return &spec.FieldError{Field: "KmsKeyId", Rule: fmt.Sprintf("log group %s exists with key %q: trailguard sets a key only "+
			"on a log group it creates; omit KmsKeyId or associate the key with the group yourself", t.LogGroupName, group.KmsKeyID)}
	}
	t.KmsKeyID = group.KmsKeyID
	current := aws.ToInt32(group.RetentionInDays) // 0: never expires
	switch given := s.RetentionInDays; {
	case given == 0:
		t.RetentionInDays = current
	case current == 0:
		return &spec.FieldError{Field: "RetentionInDays", Rule: fmt.Sprintf("log group %s keeps its events forever; trailguard "+
			"never shortens the retention of a log group it did not create (that deletes audit events): omit RetentionInDays",
			t.LogGroupName)}
	case given < current:
		return &spec.FieldError{Field: "RetentionInDays", Rule: fmt.Sprintf("log group %s keeps its events %d days; trailguard "+
			"never shortens the retention of a log group it did not create (that deletes audit events): omit RetentionInDays "+
			"or give at least %d", t.LogGroupName, current, current)}
	default:
		t.RetentionInDays = given
	}
	return nil
}

// PolicyName is the name of the inline role policy for one trail. It includes the home region because trail names
// are unique per region while a role is shared by the whole account, and it stays within IAM's 128 characters.
// Every character IAM does not allow in a policy name becomes "-" (a loop, not a regular expression compiled at init).
func PolicyName(region, trail string) string {
	name := strings.Map(func(r rune) rune {
		if r < 128 && spec.IsIAMNameByte(byte(r)) {
			return r
		}
		return '-'
	}, PolicyPrefix+region+"-"+trail)
	if len(name) <= 128 {
		return name
	}
	sum := sha256.Sum256([]byte(region + "/" + trail))
	return name[:119] + "-" + hex.EncodeToString(sum[:4])
}

// checkCreatedForTrail refuses an existing log group under the default name unless trailguard created it for this
// very trail.
func (e *Engine) checkCreatedForTrail(ctx context.Context, t *Target) error {
	tags, err := e.c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{
		ResourceArn: aws.String(strings.TrimSuffix(t.LogGroupARN(), ":*")),
	})
	if err != nil {
		return fmt.Errorf("read tags of log group %s: %w", t.LogGroupName, err)
	}
	if tags.Tags[TagCreatedBy] == tagValue && tags.Tags[TagTrail] == t.TrailARN {
		return nil
	}
	return &spec.FieldError{Field: "LogGroupName", Rule: fmt.Sprintf("log group %s, the default name for trail %s, exists "+
		"already and trailguard did not create it for this trail: name it in LogGroupName to reuse it as it is (its "+
		"retention, key and subscriptions), or delete it", t.LogGroupName, t.TrailName)}
}

// trailOf is the target's trail as the log group's account holds it: the account whose keys, log groups and roles
// the trail's delivery may use (for a delegated administrator's organization trail, the administrator's).
func trailOf(t Target) spec.TrailARN {
	return spec.TrailARN{Partition: t.Partition, Region: t.HomeRegion, Account: t.Account, Name: t.TrailName}
}

// BoundaryOrganizationError says that an organization trail cannot be wired under this deployment's permissions
// boundary, which does not admit its organization's log streams (o-ORGID_*).
type BoundaryOrganizationError struct {
	Trail    string
	OrgID    string // the trail's organization
	Admitted string // the organization the boundary admits, or empty
}

func (e *BoundaryOrganizationError) Error() string {
	admits := "no organization's log streams"
	if e.Admitted != "" {
		admits = "only " + e.Admitted + "_* log streams"
	}
	return fmt.Sprintf("trail %s is an organization trail of %s, but the delivery roles' permissions boundary admits %s, "+
		"so its member accounts could not deliver: deploy the provider stack with -c trailguard:org:organizationId=%s",
		e.Trail, e.OrgID, admits, e.OrgID)
}
