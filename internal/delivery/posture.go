package delivery

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// Posture is what a trail records and where it keeps it, beyond its CloudWatch Logs link: recorded when the trail
// is registered or adopted, it is desired state. An attacker who cannot unlink a guarded trail can still make it
// record less (an organization trail narrowed to one account, a management event source left out) or keep it where
// its owner cannot read it (another account's bucket or key, validation off so edits go unnoticed); each such loss
// is drift, reported naming the field, the old and the new value. What the trail records beyond the record (more
// events, validation turned on) is not drift: trailguard guards against loss, not change.
type Posture struct {
	OrganizationTrail bool
	S3BucketName      string
	S3KeyPrefix       string
	// KmsKeyID is the trail's own SSE-KMS key for its log files (not the log group's key).
	KmsKeyID          string
	LogFileValidation bool
	// ReadWriteType is which management events the selectors keep: All, WriteOnly, ReadOnly, or "" for none.
	ReadWriteType string
	// ExcludedSources are management event sources the selectors leave out (basic ExcludeManagementEventSources,
	// advanced eventSource NotEquals or NotStartsWith).
	ExcludedSources []string
	// OnlySources, when set, are the only management event sources kept (advanced eventSource Equals or
	// StartsWith): every other source is left out.
	OnlySources []string
	// MaxEventSize and ContextKeys are what GetEventConfiguration (added in 2025) returns for the trail. The API
	// reference documents both for event data stores (a larger maximum event size; context key selectors add those
	// keys to every event) and AggregationConfigurations for trails, which is not recorded here; a trail that
	// answers them is held to them: going back to Standard, or dropping a key, makes later events say less.
	MaxEventSize string
	ContextKeys  []string
}

// eventConfiguration reads the trail's event configuration into p.
func (e *Engine) eventConfiguration(ctx context.Context, trailARN string, p *Posture) error {
	out, err := e.c.CloudTrail.GetEventConfiguration(ctx, &cloudtrail.GetEventConfigurationInput{TrailName: aws.String(trailARN)})
	if err != nil {
		return fmt.Errorf("read event configuration of trail %s: %w", trailARN, err)
	}
	p.MaxEventSize, p.ContextKeys = string(out.MaxEventSize), nil
	for _, s := range out.ContextKeySelectors {
		for _, k := range s.Equals {
			p.ContextKeys = append(p.ContextKeys, string(s.Type)+":"+k)
		}
	}
	slices.Sort(p.ContextKeys)
	return nil
}

// PostureChanged means the trail records less than its recorded posture (an organization trail narrowed, fewer
// management events): reported, never repaired, because setting it back takes rights trailguard must not hold
// (Organizations for an organization trail) or rewriting selectors that are the owner's.
const PostureChanged DriftKind = "posture-changed"

// ArchiveChanged means the trail keeps its log files elsewhere or less safely than recorded: another bucket or
// prefix, another key, log file validation off. Reported; repaired with UpdateTrail when the resource opts in
// (Target.RepairPosture).
const ArchiveChanged DriftKind = "archive-changed"

// postureOf reads a trail's posture from its configuration and its event selectors (sel nil: the selector fields
// are left empty).
func postureOf(tr *cttypes.Trail, sel *cloudtrail.GetEventSelectorsOutput) Posture {
	p := Posture{
		OrganizationTrail: aws.ToBool(tr.IsOrganizationTrail),
		S3BucketName:      aws.ToString(tr.S3BucketName),
		S3KeyPrefix:       aws.ToString(tr.S3KeyPrefix),
		KmsKeyID:          aws.ToString(tr.KmsKeyId),
		LogFileValidation: aws.ToBool(tr.LogFileValidationEnabled),
	}
	if sel != nil {
		p.ReadWriteType, p.ExcludedSources, p.OnlySources = managementScope(sel.EventSelectors, sel.AdvancedEventSelectors)
	}
	return p
}

// managementScope is which management events a trail's selectors keep. No selector at all keeps every management
// event (CloudTrail's default).
func managementScope(basic []cttypes.EventSelector, advanced []cttypes.AdvancedEventSelector) (rw string, excluded, only []string) {
	if len(basic) == 0 && len(advanced) == 0 {
		return string(cttypes.ReadWriteTypeAll), nil, nil
	}
	reads, writes := false, false
	for _, s := range basic {
		if !aws.ToBool(s.IncludeManagementEvents) {
			continue
		}
		reads = reads || s.ReadWriteType != cttypes.ReadWriteTypeWriteOnly
		writes = writes || s.ReadWriteType != cttypes.ReadWriteTypeReadOnly
		excluded = append(excluded, s.ExcludeManagementEventSources...)
	}
	for _, s := range advanced {
		management, r, w := false, true, true
		var out, in []string
		for _, f := range s.FieldSelectors {
			switch aws.ToString(f.Field) {
			case "eventCategory":
				management = slices.Contains(f.Equals, "Management")
			case "readOnly":
				switch {
				case slices.Contains(f.Equals, "true") || slices.Contains(f.NotEquals, "false"):
					w = false
				case slices.Contains(f.Equals, "false") || slices.Contains(f.NotEquals, "true"):
					r = false
				}
			case "eventSource":
				out = append(append(out, f.NotEquals...), prefixes(f.NotStartsWith)...)
				in = append(append(in, f.Equals...), prefixes(f.StartsWith)...)
			}
		}
		if !management {
			continue
		}
		reads, writes = reads || r, writes || w
		excluded, only = append(excluded, out...), append(only, in...)
	}
	switch {
	case reads && writes:
		rw = string(cttypes.ReadWriteTypeAll)
	case writes:
		rw = string(cttypes.ReadWriteTypeWriteOnly)
	case reads:
		rw = string(cttypes.ReadWriteTypeReadOnly)
	}
	slices.Sort(excluded)
	slices.Sort(only)
	return rw, slices.Compact(excluded), slices.Compact(only)
}

func prefixes(p []string) []string {
	out := make([]string, len(p))
	for i, s := range p {
		out[i] = s + "*"
	}
	return out
}

// PostureLoss lists what got has lost against want, field by field: what an Update would accept if it recorded
// the trail's live posture over the registered one.
func PostureLoss(want, got Posture) []Drift { return postureLoss(want, got, true) }

// postureLoss compares a trail's live posture with the recorded one and returns a drift per field that lost
// something: the field, the recorded value and the live one.
func postureLoss(want, got Posture, selectors bool) []Drift {
	var out []Drift
	lost := func(field, was, now string) {
		out = append(out, Drift{Kind: PostureChanged, Field: field, Want: was, Got: now})
	}
	moved := func(field, was, now string) {
		out = append(out, Drift{Kind: ArchiveChanged, Field: field, Want: was, Got: now})
	}
	if want.OrganizationTrail && !got.OrganizationTrail {
		lost("IsOrganizationTrail", "true", "false")
	}
	if want.S3BucketName != got.S3BucketName {
		moved("S3BucketName", want.S3BucketName, got.S3BucketName)
	}
	if want.S3KeyPrefix != got.S3KeyPrefix {
		moved("S3KeyPrefix", orNone(want.S3KeyPrefix), orNone(got.S3KeyPrefix))
	}
	switch {
	case want.KmsKeyID == got.KmsKeyID:
	case want.KmsKeyID == "":
		// A key where the record had none: UpdateTrail cannot be relied on to remove it, so it is only reported.
		lost("KmsKeyId", "none", got.KmsKeyID)
	default:
		moved("KmsKeyId", want.KmsKeyID, orNone(got.KmsKeyID))
	}
	if want.LogFileValidation && !got.LogFileValidation {
		moved("LogFileValidationEnabled", "true", "false")
	}
	if !selectors {
		return out
	}
	if want.MaxEventSize == string(cttypes.MaxEventSizeLarge) && got.MaxEventSize != want.MaxEventSize {
		lost("MaxEventSize", want.MaxEventSize, orNone(got.MaxEventSize))
	}
	if len(without(want.ContextKeys, got.ContextKeys)) > 0 {
		lost("ContextKeySelectors", list(want.ContextKeys), list(got.ContextKeys))
	}
	if !coversReadWrite(got.ReadWriteType, want.ReadWriteType) {
		lost("ReadWriteType", orNone(want.ReadWriteType), orNone(got.ReadWriteType))
	}
	if newly := without(got.ExcludedSources, want.ExcludedSources); len(newly) > 0 {
		lost("ExcludeManagementEventSources", list(want.ExcludedSources), list(got.ExcludedSources))
	}
	if len(got.OnlySources) > 0 && (len(want.OnlySources) == 0 || len(without(want.OnlySources, got.OnlySources)) > 0) {
		lost("eventSource (only)", orNone(list(want.OnlySources)), list(got.OnlySources))
	}
	return out
}

// coversReadWrite says whether management events of type got include all those of type want.
func coversReadWrite(got, want string) bool {
	return want == "" || got == want || got == string(cttypes.ReadWriteTypeAll)
}

// without lists the items of a that are not in b.
func without(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

func postureText(d Drift) string {
	return fmt.Sprintf("trail's %s changed from %s to %s", d.Field, d.Want, d.Got)
}

// restoreArchive puts the trail's archive back as recorded: its bucket and prefix, its key (when it had one) and
// log file validation (when it was on). One UpdateTrail; the CloudWatch Logs link is not part of it.
func (e *Engine) restoreArchive(ctx context.Context, t Target) error {
	p := t.Posture
	in := &cloudtrail.UpdateTrailInput{Name: aws.String(t.TrailARN), S3BucketName: aws.String(p.S3BucketName),
		S3KeyPrefix: aws.String(p.S3KeyPrefix)}
	if p.KmsKeyID != "" {
		in.KmsKeyId = aws.String(p.KmsKeyID)
	}
	if p.LogFileValidation {
		in.EnableLogFileValidation = aws.Bool(true)
	}
	if _, err := e.c.CloudTrail.UpdateTrail(ctx, in); err != nil {
		return fmt.Errorf("restore the archive of trail %s (bucket %s): %w", t.TrailARN, p.S3BucketName, err)
	}
	e.log.InfoContext(ctx, "restored the trail's archive", "trail", t.TrailARN, "bucket", p.S3BucketName)
	return nil
}

// ManagementGaps says which management events a trail's selectors leave out, "" when they keep them all, read and
// write: the strict reading of CIS "management events, ReadWriteType All" that cis-check -strict applies (Security
// Hub's CloudTrail.1 passes a trail that excludes an event source, such as kms.amazonaws.com).
func ManagementGaps(sel *cloudtrail.GetEventSelectorsOutput) string {
	rw, excluded, only := managementScope(sel.EventSelectors, sel.AdvancedEventSelectors)
	var gaps []string
	if rw != string(cttypes.ReadWriteTypeAll) {
		gaps = append(gaps, "management events "+orNone(rw)+", not All")
	}
	if len(excluded) > 0 {
		gaps = append(gaps, "excludes the management events of "+strings.Join(excluded, ", "))
	}
	if len(only) > 0 {
		gaps = append(gaps, "keeps only the management events of "+strings.Join(only, ", "))
	}
	return strings.Join(gaps, "; ")
}
