package delivery

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// What guards the audit events already in the log group, beyond its retention: CloudWatch Logs deletion protection
// (a protected group's DeleteLogGroup fails) and the group's KMS key (a foreign key, later disabled by its owner,
// makes every event unreadable without unlinking anything).
const (
	// DeletionProtectionOff means the log group's deletion protection is off although the target keeps it on.
	DeletionProtectionOff DriftKind = "deletion-protection-off"
	// LogGroupKeyChanged means the log group's KMS key is not the registered one: a key added, changed or
	// removed. Repaired (AssociateKmsKey back, or DisassociateKmsKey) and always alerted: events written under
	// the foreign key stay encrypted with it.
	LogGroupKeyChanged DriftKind = "log-group-key-changed"
	// LogStreamDeleted means someone deleted one of the log group's streams: its events are gone for good, so it
	// is alerted at once, never repaired. It is found from the event (DeleteLogStream), not by reading.
	LogStreamDeleted DriftKind = "log-stream-deleted"
)

// checkGuard compares the log group's deletion protection and key with the target.
func checkGuard(t Target, g *logGroup) []Drift {
	var drifts []Drift
	if g.KmsKeyID != t.KmsKeyID {
		drifts = append(drifts, Drift{Kind: LogGroupKeyChanged, Want: orNone(t.KmsKeyID), Got: orNone(g.KmsKeyID)})
	}
	if !t.DeletionProtectionOff && !g.Protected {
		drifts = append(drifts, Drift{Kind: DeletionProtectionOff, Want: "on", Got: "off"})
	}
	return drifts
}

// StreamDeleted is the drift a DeleteLogStream of the trail's log group is: stream is the stream's name.
func StreamDeleted(t Target, stream string) Drift {
	return Drift{Kind: LogStreamDeleted, Want: t.LogGroupName, Got: stream}
}

// guardText is the alert's wording of the drift kinds above.
func (d Drift) guardText() string {
	switch d.Kind {
	case DeletionProtectionOff:
		return "log group deletion protection was turned off: anyone allowed logs:DeleteLogGroup could now delete every audit event in it"
	case LogGroupKeyChanged:
		return fmt.Sprintf("log group KMS key is %s, want %s: events written under another key are readable only while its owner lets them be", d.Got, d.Want)
	case LogStreamDeleted:
		return fmt.Sprintf("log stream %s of log group %s was deleted: its audit events are gone and cannot be restored", d.Got, d.Want)
	}
	return string(d.Kind)
}

// protect turns the log group's deletion protection on.
func (e *Engine) protect(ctx context.Context, t Target) error {
	return e.setProtection(ctx, t, true)
}

func (e *Engine) setProtection(ctx context.Context, t Target, on bool) error {
	if _, err := e.c.Logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
		LogGroupIdentifier: aws.String(t.LogGroupName), DeletionProtectionEnabled: aws.Bool(on),
	}); err != nil {
		return fmt.Errorf("turn deletion protection of log group %s %s: %w", t.LogGroupName, onOff(on), err)
	}
	e.log.InfoContext(ctx, "set log group deletion protection", "trail", t.TrailARN, "log_group", t.LogGroupName, "on", on)
	return nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// restoreKey gives the log group back its registered key, or none when none was registered. It returns the call it
// made.
func (e *Engine) restoreKey(ctx context.Context, t Target) (string, error) {
	if t.KmsKeyID == "" {
		if _, err := e.c.Logs.DisassociateKmsKey(ctx, &cloudwatchlogs.DisassociateKmsKeyInput{LogGroupName: aws.String(t.LogGroupName)}); err != nil {
			return "", fmt.Errorf("remove the foreign KMS key of log group %s: %w", t.LogGroupName, err)
		}
		return "DisassociateKmsKey", nil
	}
	if _, err := e.c.Logs.AssociateKmsKey(ctx, &cloudwatchlogs.AssociateKmsKeyInput{
		LogGroupName: aws.String(t.LogGroupName), KmsKeyId: aws.String(t.KmsKeyID),
	}); err != nil {
		return "", fmt.Errorf("associate the registered KMS key %s with log group %s: %w", t.KmsKeyID, t.LogGroupName, err)
	}
	return "AssociateKmsKey", nil
}
