package notify

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/trailguard/trailguard/internal/printable"
)

// Publisher is the part of the SNS client the Notifier uses.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Notifier publishes decisions to an SNS topic.
type Notifier struct {
	sns      Publisher
	topicARN string
}

// NewNotifier returns a Notifier publishing to topicARN. An empty topicARN disables notifications: Notify then
// does nothing, so a deployment without a topic still repairs and logs.
func NewNotifier(p Publisher, topicARN string) *Notifier {
	return &Notifier{sns: p, topicARN: topicARN}
}

// Message attribute names, for subscription filter policies (e.g. {"action": ["contested", "gone", "failed"]},
// or {"account": ["123456789012"]} on an organization's central topic).
const (
	AttrTrail   = "trail"
	AttrAction  = "action"
	AttrAccount = "account"
	AttrRegion  = "region"
)

// NewSNSClient returns an SNS client for the topic's own region, whatever cfg's region is: in an organization the
// central topic lives in the deploying account's home region, while each member function runs in its own, and SNS
// accepts a Publish only in the topic's region. An empty topicARN (notifications off) gets cfg's region.
func NewSNSClient(cfg aws.Config, topicARN string) (*sns.Client, error) {
	region, err := TopicRegion(topicARN)
	if err != nil {
		return nil, err
	}
	return sns.NewFromConfig(cfg, func(o *sns.Options) {
		if region != "" {
			o.Region = region
		}
	}), nil
}

// TopicRegion is the region of an SNS topic ARN; "" for an empty ARN.
func TopicRegion(topicARN string) (string, error) {
	if topicARN == "" {
		return "", nil
	}
	a, err := arn.Parse(topicARN)
	if err != nil || a.Service != "sns" || a.Region == "" || a.AccountID == "" || a.Resource == "" {
		return "", fmt.Errorf("topic %q: want an SNS topic ARN, arn:PARTITION:sns:REGION:ACCOUNT:NAME", topicARN)
	}
	return a.Region, nil
}

// Notify publishes the decision, with the trail and the action as message attributes so that subscribers can
// filter.
func (n *Notifier) Notify(ctx context.Context, d Decision) error {
	if n == nil || n.topicARN == "" {
		return nil
	}
	if n.sns == nil {
		return fmt.Errorf("notify about trail %s: no SNS client configured for topic %s", d.TrailARN, n.topicARN)
	}
	attrs := map[string]types.MessageAttributeValue{}
	account, region := Where(d)
	for name, value := range map[string]string{AttrTrail: d.Trail, AttrAction: d.Action, AttrAccount: account, AttrRegion: region} {
		if value != "" { // SNS rejects empty attribute values
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
		}
	}
	_, err := n.sns.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(n.topicARN),
		Subject:           aws.String(Subject(d)),
		Message:           aws.String(Body(d)),
		MessageAttributes: attrs,
	})
	if err != nil {
		return fmt.Errorf("publish notification about trail %s (%s) to SNS topic %s: %w", d.TrailARN, d.Action, n.topicARN, err)
	}
	return nil
}

// maxSubject is SNS's limit on a subject; it must also be ASCII text with no control characters.
const maxSubject = 100

// minSubjectName is how much of a trail's name a subject keeps before it cuts the event part.
const minSubjectName = 20

// Subject is a one-line summary fit for an SNS (and e-mail) subject, e.g. "trailguard repaired trail
// management-trail (UpdateTrail by alice?) in 123456789012 us-east-1" (the "?": the actor is as the event
// claims): at most 100 printable ASCII characters,
// whatever the names hold. The account and region always fit, at the end (an organization's subscribers sort by
// them; earlier subjects read the same up to there); the name keeps at least 20 characters, and the event part
// gets what is left.
func Subject(d Decision) string {
	head := "trailguard " + verb(d.Action) + " trail "
	name := d.Trail
	if name == "" { // the ARN is too long for a subject: its last part is the name
		name = d.TrailARN[strings.LastIndexByte(d.TrailARN, '/')+1:]
	}
	name = ascii(name)
	var loc string
	if account, region := Where(d); account != "" || region != "" {
		loc = " in " + clip(ascii(strings.TrimSpace(account+" "+region)), 32)
	}
	var tail string
	if ev := ascii(d.EventName); ev != "" {
		if who := ascii(shortActor(d.Actor)); who != "" {
			ev += " by " + who
			if !d.ActorConfirmed {
				ev += "?" // as the event claims: the body says so in words
			}
		}
		tail = " (" + clip(ev, 44) + ")"
	}
	rest := maxSubject - len(head) - len(loc)
	name = clip(name, min(len(name), max(rest-len(tail), min(rest, minSubjectName))))
	return clip(head+name+clip(tail, rest-len(name))+loc, maxSubject)
}

func verb(action string) string {
	switch action {
	case ActionRepaired:
		return "repaired"
	case ActionReported:
		return "found drift on"
	case ActionContested:
		return "alerts on contested"
	case ActionInvalid:
		return "REFUSED the registry record of"
	case ActionUnregistered:
		return "lost the registration of"
	case ActionGone:
		return "lost"
	case ActionFailed:
		return "FAILED to repair"
	case ActionAdopted:
		return "adopted"
	case ActionOptedOut:
		return "leaves opted-out"
	case ActionNotAdopted:
		return "CANNOT guard"
	case ActionConsentByName:
		return "asks to retag"
	case ActionFinding:
		return "has a finding on"
	case ActionPostureAccepted:
		return "recorded a narrower posture for"
	}
	return "checked"
}

// shortActor is the memorable part of a principal ARN: the session or user name ("alice" from
// arn:aws:sts::123456789012:assumed-role/Admin/alice), "root" for the root user, or a service name as is.
func shortActor(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	if strings.HasPrefix(arn, "arn:") {
		return arn[strings.LastIndexByte(arn, ':')+1:]
	}
	return arn
}

// ascii replaces whatever is not printable ASCII (control characters, line breaks, non-ASCII) with '?'.
func ascii(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// clip shortens an ASCII string to at most n bytes, marking the cut with "...".
func clip(s string, n int) string {
	switch {
	case len(s) <= n:
		return s
	case n <= 3:
		return s[:max(n, 0)]
	}
	return s[:n-3] + "..."
}

// maxBody keeps the message well under SNS's 256 KB limit, attributes and subject included.
const maxBody = 200 << 10

// Body is the plain-text notification: what drifted, who changed it and from where, which event, what trailguard
// did about it and with which result, in which mode, and on which trail. Every value is printable.Text: names,
// actors and error messages come from whoever made the change, and the body is read in mail clients and
// terminals, where a control character could hide or fake a line.
func Body(d Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "trailguard %s trail %s.\n\n", verb(d.Action), orUnknown(d.Trail))
	fmt.Fprintf(&b, "%s\n\n", explain(d.Action))
	line := func(label, value string) { fmt.Fprintf(&b, "%-14s %s\n", label+":", orUnknown(value)) }
	account, region := Where(d)
	line("Trail", d.TrailARN)
	line("Account", account)
	line("Region", region)
	line("Mode", d.Mode)
	line("Event", d.EventName)
	line("Event ID", d.EventID)
	if d.Actor == "" && d.EventName == EventSweep {
		line("Changed by", "(unknown: found by the periodic sweep; look in CloudTrail event history)")
	} else if d.Actor != "" && !d.ActorConfirmed {
		line("Changed by", d.Actor+" (as the event claims: not confirmed; compare the event ID with CloudTrail event history)")
	} else {
		line("Changed by", d.Actor)
	}
	line("From", d.SourceIP)
	b.WriteString("\nWhat drifted:\n")
	list(&b, d.Drift, "nothing")
	b.WriteString("\nWhat trailguard did:\n")
	line("Action", d.Action)
	b.WriteString("Write calls:\n")
	list(&b, d.Repairs, "none")
	line("Result", d.Result)
	line("Took", d.Duration.Round(time.Millisecond).String())
	out := b.String()
	if len(out) > maxBody {
		cut := maxBody
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "\n... (truncated; the full decision is in the remediator's log)\n"
	}
	return out
}

func explain(action string) string {
	switch action {
	case ActionRepaired:
		return "Someone changed how this trail delivers to CloudWatch Logs. trailguard put it back; check that the change was not intended, and if it was, change the desired state in the owning stack instead."
	case ActionReported:
		return "This trail no longer delivers to CloudWatch Logs as its stack declares. Its remediation mode (or the kind of drift) means trailguard did not repair it: a person must."
	case ActionContested:
		return "This trail was repaired too many times in a short while: something keeps changing it back. trailguard no longer repairs it on each change, but its periodic sweep still does, so it is never left broken longer than one sweep interval. Find who (below) and why."
	case ActionInvalid:
		return "The registry record of this trail breaks the rules the provider enforces (another account or region, a retention or key the provider would refuse): someone wrote the registry directly. trailguard did nothing it asks for. Find who changed the table."
	case ActionUnregistered:
		return "This trail carries trailguard's registration tag but its registry record is gone, although no stack Delete removed it: the trail is no longer guarded. Find who deleted the record; update or redeploy the owning stack to register it again."
	case ActionGone:
		return "This trail was deleted. trailguard cannot recreate it (it does not own the trail's S3 bucket); recreate it or remove its stack."
	case ActionFailed:
		return "trailguard tried to check or repair this trail and failed. Lambda retries the event; if it keeps failing it lands in the on-failure queue."
	case ActionAdopted:
		return "No stack declares this trail, and trailguard runs in account-wide mode: it now guards the trail with the account policy's desired state (below). To give it other settings, declare it in a stack; to leave it unguarded, tag it trailguard:opt-out=true before trailguard first sees it, or declare it with Remediation off."
	case ActionOptedOut:
		return "This trail is tagged trailguard:opt-out=true: account-wide mode does not guard it and will not tell you again. Remove the tag to have it adopted at the next sweep."
	case ActionPostureAccepted:
		return "An Update of the stack that owns this trail recorded the trail's current posture as its desired state, and that posture records or keeps less than the one it replaces (below). If nobody meant that, put the trail back and update the stack again."
	case ActionFinding:
		return "This trail, as registered, does not meet what the CIS AWS Foundations Benchmark audits (a multi-Region trail, logging, management events with ReadWriteType All). trailguard guards what the trail recorded when registered and does not change its scope; widen the trail if it should meet the benchmark. This is told once, not at every sweep."
	case ActionConsentByName:
		return "This trail's trailguard:managed-by tag names a stack by name. A stack name is not proof of identity: whoever creates a stack of that name (again) gets what the tag grants, so a name admits only wiring an unwired trail, never a rewire, a cross-account key, superseding a registration or weakening one by Update. Put the stack id given below in the tag. trailguard will not tell you again for this tag value."
	case ActionNotAdopted:
		return "trailguard runs in account-wide mode but cannot guard this trail without breaking its own rules (the result says why). It changed nothing and will not tell you again until the reason changes. Fix the cause, or declare the trail in a stack."
	}
	return "trailguard checked this trail."
}

func list(b *strings.Builder, items []string, none string) {
	if len(items) == 0 {
		fmt.Fprintf(b, "  (%s)\n", none)
		return
	}
	for _, it := range items {
		fmt.Fprintf(b, "  - %s\n", printable.Text(it))
	}
}

// orUnknown is a value as the body shows it: printable, and "(unknown)" when empty.
func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return printable.Text(s)
}
