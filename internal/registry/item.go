package registry

import (
	"time"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/spec"
)

// The stored schema of a registry item. It is the table's contract (docs/architecture.md, "The registry"), kept
// apart from the engine's and the spec's types so that renaming a Go field never renames an attribute: every
// attribute name is written here and nowhere else. Attribute names follow CloudFormation's spelling (TrailArn,
// KmsKeyId) because the spec's attributes are the resource's properties.
type item struct {
	TrailArn        string           `dynamodbav:"TrailArn"`
	Owner           ownerItem        `dynamodbav:"Owner"`
	Spec            specItem         `dynamodbav:"Spec"`
	Target          targetItem       `dynamodbav:"Target"`
	Status          string           `dynamodbav:"Status"`
	Repairs         []time.Time      `dynamodbav:"Repairs,omitempty"`
	LastRemediation *remediationItem `dynamodbav:"LastRemediation,omitempty"`
	ConsentNotice   string           `dynamodbav:"ConsentNotice,omitempty"`
	UpdatedAt       time.Time        `dynamodbav:"UpdatedAt"`
	Version         int64            `dynamodbav:"Version"`
}

type ownerItem struct {
	StackID           string `dynamodbav:"StackId"`
	LogicalResourceID string `dynamodbav:"LogicalResourceId"`
}

type specItem struct {
	TrailName               string `dynamodbav:"TrailName"`
	LogGroupName            string `dynamodbav:"LogGroupName,omitempty"`
	LogGroupArn             string `dynamodbav:"LogGroupArn,omitempty"`
	RetentionInDays         int32  `dynamodbav:"RetentionInDays,omitempty"`
	KmsKeyID                string `dynamodbav:"KmsKeyId,omitempty"`
	RoleName                string `dynamodbav:"RoleName,omitempty"`
	RoleArn                 string `dynamodbav:"RoleArn,omitempty"`
	Remediation             string `dynamodbav:"Remediation"`
	EnforceLogging          bool   `dynamodbav:"EnforceLogging"`
	DeleteLogGroupOnDelete  bool   `dynamodbav:"DeleteLogGroupOnDelete"`
	ReplaceExistingDelivery bool   `dynamodbav:"ReplaceExistingDelivery,omitempty"`
	AllowCrossAccountKey    bool   `dynamodbav:"AllowCrossAccountKey,omitempty"`
	RepairPosture           bool   `dynamodbav:"RepairPosture,omitempty"`
	DeletionProtectionOff   bool   `dynamodbav:"DeletionProtectionOff,omitempty"`
	MonitoringPack          string `dynamodbav:"MonitoringPack,omitempty"`
	AlarmTopicArn           string `dynamodbav:"AlarmTopicArn,omitempty"`
}

type targetItem struct {
	TrailName        string       `dynamodbav:"TrailName"`
	TrailArn         string       `dynamodbav:"TrailArn"`
	HomeRegion       string       `dynamodbav:"HomeRegion"`
	Partition        string       `dynamodbav:"Partition"`
	Account          string       `dynamodbav:"Account"`
	TrailAccount     string       `dynamodbav:"TrailAccount,omitempty"`
	OrgID            string       `dynamodbav:"OrgId,omitempty"`
	LogGroupName     string       `dynamodbav:"LogGroupName"`
	RetentionInDays  int32        `dynamodbav:"RetentionInDays,omitempty"`
	KmsKeyID         string       `dynamodbav:"KmsKeyId,omitempty"`
	CreatedLogGroup  bool         `dynamodbav:"CreatedLogGroup,omitempty"`
	RoleName         string       `dynamodbav:"RoleName"`
	RolePath         string       `dynamodbav:"RolePath"`
	PolicyName       string       `dynamodbav:"PolicyName"`
	EnforceLogging   bool         `dynamodbav:"EnforceLogging"`
	ManagementEvents bool         `dynamodbav:"ManagementEvents,omitempty"`
	GlobalServices   bool         `dynamodbav:"GlobalServiceEvents,omitempty"`
	MultiRegion      bool         `dynamodbav:"MultiRegion,omitempty"`
	Previous         *linkItem    `dynamodbav:"Previous,omitempty"`
	Posture          *postureItem `dynamodbav:"Posture,omitempty"`
	RepairPosture    bool         `dynamodbav:"RepairPosture,omitempty"`
	// DeletionProtectionOff is stored as the opt-out, so that a record written before it existed keeps the
	// protection on. RegisteredAt is absent from records that prove no creation (see delivery.Target).
	DeletionProtectionOff bool       `dynamodbav:"DeletionProtectionOff,omitempty"`
	RegisteredAt          *time.Time `dynamodbav:"RegisteredAt,omitempty"`
	Pack                  *packItem  `dynamodbav:"Pack,omitempty"`
}

// packItem is the CIS monitoring pack a target keeps (absent: none).
type packItem struct {
	Set      string `dynamodbav:"Set"`
	TopicArn string `dynamodbav:"TopicArn"`
}

// postureItem is what the trail recorded and where it kept it when registered (delivery.Posture).
type postureItem struct {
	OrganizationTrail bool     `dynamodbav:"IsOrganizationTrail"`
	S3BucketName      string   `dynamodbav:"S3BucketName"`
	S3KeyPrefix       string   `dynamodbav:"S3KeyPrefix,omitempty"`
	KmsKeyID          string   `dynamodbav:"KmsKeyId,omitempty"`
	LogFileValidation bool     `dynamodbav:"LogFileValidationEnabled"`
	ReadWriteType     string   `dynamodbav:"ReadWriteType,omitempty"`
	ExcludedSources   []string `dynamodbav:"ExcludeManagementEventSources,omitempty"`
	OnlySources       []string `dynamodbav:"OnlyManagementEventSources,omitempty"`
	MaxEventSize      string   `dynamodbav:"MaxEventSize,omitempty"`
	ContextKeys       []string `dynamodbav:"ContextKeySelectors,omitempty"`
}

type linkItem struct {
	LogGroupArn string `dynamodbav:"LogGroupArn"`
	RoleArn     string `dynamodbav:"RoleArn"`
}

type remediationItem struct {
	At        time.Time `dynamodbav:"At"`
	EventID   string    `dynamodbav:"EventId,omitempty"`
	EventName string    `dynamodbav:"EventName,omitempty"`
	Actor     string    `dynamodbav:"Actor,omitempty"`
	Drift     []string  `dynamodbav:"Drift,omitempty"`
	Action    string    `dynamodbav:"Action"`
	Result    string    `dynamodbav:"Result"`
}

func toItem(r Record) item {
	s, t := r.Spec, r.Target
	it := item{
		TrailArn: r.TrailARN, Owner: ownerItem(r.Owner), Status: string(r.Status), Repairs: r.Repairs,
		UpdatedAt: r.UpdatedAt, Version: r.Version, ConsentNotice: r.ConsentNotice,
		Spec: specItem{TrailName: s.TrailName, LogGroupName: s.LogGroupName, LogGroupArn: s.LogGroupARN,
			RetentionInDays: s.RetentionInDays, KmsKeyID: s.KmsKeyID, RoleName: s.RoleName, RoleArn: s.RoleARN,
			Remediation: string(s.Remediation), EnforceLogging: s.EnforceLogging, DeleteLogGroupOnDelete: s.DeleteLogGroupOnDelete,
			ReplaceExistingDelivery: s.ReplaceExistingDelivery, AllowCrossAccountKey: s.AllowCrossAccountKey,
			RepairPosture: s.RepairPosture, DeletionProtectionOff: s.DeletionProtectionOff},
		Target: targetItem{TrailName: t.TrailName, TrailArn: t.TrailARN, HomeRegion: t.HomeRegion, Partition: t.Partition,
			Account: t.Account, TrailAccount: t.TrailAccount, OrgID: t.OrgID, LogGroupName: t.LogGroupName, RetentionInDays: t.RetentionInDays,
			KmsKeyID: t.KmsKeyID, CreatedLogGroup: t.CreatedLogGroup, RoleName: t.RoleName, RolePath: t.RolePath,
			PolicyName: t.PolicyName, EnforceLogging: t.EnforceLogging, ManagementEvents: t.ManagementEvents,
			GlobalServices: t.GlobalServiceEvents, MultiRegion: t.MultiRegion, RepairPosture: t.RepairPosture,
			DeletionProtectionOff: t.DeletionProtectionOff},
	}
	if !t.RegisteredAt.IsZero() {
		at := t.RegisteredAt
		it.Target.RegisteredAt = &at
	}
	if p := t.Previous; p != nil {
		it.Target.Previous = &linkItem{LogGroupArn: p.LogGroupARN, RoleArn: p.RoleARN}
	}
	if p := t.Posture; p != nil {
		pi := postureItem(*p)
		it.Target.Posture = &pi
	}
	if t.Pack.On() {
		it.Target.Pack = &packItem{Set: string(t.Pack.Set), TopicArn: t.Pack.TopicARN}
	}
	it.Spec.MonitoringPack, it.Spec.AlarmTopicArn = s.MonitoringPack, s.AlarmTopicARN
	if l := r.LastRemediation; l != nil {
		it.LastRemediation = &remediationItem{At: l.At, EventID: l.EventID, EventName: l.EventName, Actor: l.Actor,
			Drift: l.Drift, Action: l.Action, Result: l.Result}
	}
	return it
}

func (it item) record() Record {
	s, t := it.Spec, it.Target
	r := Record{
		TrailARN: it.TrailArn, Owner: Owner(it.Owner), Status: Status(it.Status), Repairs: it.Repairs,
		UpdatedAt: it.UpdatedAt, Version: it.Version, ConsentNotice: it.ConsentNotice,
		Spec: spec.Spec{TrailName: s.TrailName, LogGroupName: s.LogGroupName, LogGroupARN: s.LogGroupArn,
			RetentionInDays: s.RetentionInDays, KmsKeyID: s.KmsKeyID, RoleName: s.RoleName, RoleARN: s.RoleArn,
			Remediation: spec.Mode(s.Remediation), EnforceLogging: s.EnforceLogging, DeleteLogGroupOnDelete: s.DeleteLogGroupOnDelete,
			ReplaceExistingDelivery: s.ReplaceExistingDelivery, AllowCrossAccountKey: s.AllowCrossAccountKey,
			RepairPosture: s.RepairPosture, DeletionProtectionOff: s.DeletionProtectionOff},
		Target: delivery.Target{TrailName: t.TrailName, TrailARN: t.TrailArn, HomeRegion: t.HomeRegion, Partition: t.Partition,
			Account: t.Account, TrailAccount: t.TrailAccount, OrgID: t.OrgID, LogGroupName: t.LogGroupName, RetentionInDays: t.RetentionInDays,
			KmsKeyID: t.KmsKeyID, CreatedLogGroup: t.CreatedLogGroup, RoleName: t.RoleName, RolePath: t.RolePath,
			PolicyName: t.PolicyName, EnforceLogging: t.EnforceLogging, ManagementEvents: t.ManagementEvents,
			GlobalServiceEvents: t.GlobalServices, MultiRegion: t.MultiRegion, RepairPosture: t.RepairPosture,
			DeletionProtectionOff: t.DeletionProtectionOff},
	}
	if t.RegisteredAt != nil {
		r.Target.RegisteredAt = *t.RegisteredAt
	}
	if p := t.Previous; p != nil {
		r.Target.Previous = &delivery.Link{LogGroupARN: p.LogGroupArn, RoleARN: p.RoleArn}
	}
	if p := t.Posture; p != nil {
		dp := delivery.Posture(*p)
		r.Target.Posture = &dp
	}
	if p := t.Pack; p != nil {
		r.Target.Pack = delivery.Pack{Set: cis.Set(p.Set), TopicARN: p.TopicArn}
	}
	r.Spec.MonitoringPack, r.Spec.AlarmTopicARN = s.MonitoringPack, s.AlarmTopicArn
	if l := it.LastRemediation; l != nil {
		r.LastRemediation = &Remediation{At: l.At, EventID: l.EventID, EventName: l.EventName, Actor: l.Actor,
			Drift: l.Drift, Action: l.Action, Result: l.Result}
	}
	return r
}
