package trigger

import (
	"slices"
	"strings"

	"github.com/trailguard/trailguard/internal/delivery"
)

// Watched is one API call the remediator reacts to.
type Watched struct {
	// Source is the service's event source, e.g. "cloudtrail.amazonaws.com".
	Source string
	// EventName is the API call, e.g. "UpdateTrail".
	EventName string
	// Kind is the kind of resource the call names.
	Kind Kind
	// Names are the request parameters that name that resource; all must be present.
	Names []string
	// Aspects are the parts of a trail's delivery the call can change: what the remediator reads.
	Aspects delivery.Aspect
	// Creates marks a call that creates the trail: a trail known to be gone is wired again.
	Creates bool
	// OnlyIn is the one region whose EventBridge receives the call's events ("us-east-1" for IAM, a global
	// service); "" means every region. The CDK app creates the rule only there.
	OnlyIn string
	// Destroys marks a call that destroys audit events no repair brings back (DeleteLogStream): every trail it
	// affects is alerted at once, naming the actor and what was lost, whatever the live state says.
	Destroys bool
}

// Catalogue lists every API call the remediator reacts to, and is the one place that does: the decoder classifies
// events with it, the remediator reads the aspects it names, and the CDK app (infra/stacks) builds its EventBridge
// rules from it. Adding an event is one row here plus one sample in events/remediator.
var Catalogue = []Watched{
	{Source: sourceCloudTrail, EventName: "UpdateTrail", Kind: KindTrail, Names: []string{"name"}, Aspects: delivery.AspectTrail},
	{Source: sourceCloudTrail, EventName: "StopLogging", Kind: KindTrail, Names: []string{"name"}, Aspects: delivery.AspectLogging},
	{Source: sourceCloudTrail, EventName: "DeleteTrail", Kind: KindTrail, Names: []string{"name"}, Aspects: delivery.AspectTrail},
	{Source: sourceCloudTrail, EventName: "CreateTrail", Kind: KindTrail, Names: []string{"name"}, Aspects: delivery.AspectAll, Creates: true},
	{Source: sourceCloudTrail, EventName: "PutEventSelectors", Kind: KindTrail, Names: []string{"trailName"}, Aspects: delivery.AspectSelectors},
	{Source: sourceCloudTrail, EventName: "PutEventConfiguration", Kind: KindTrail, Names: []string{"trailName"}, Aspects: delivery.AspectSelectors},
	{Source: sourceLogs, EventName: "DeleteLogGroup", Kind: KindLogGroup, Names: []string{"logGroupName"}, Aspects: delivery.AspectLogGroup},
	{Source: sourceLogs, EventName: "PutRetentionPolicy", Kind: KindLogGroup, Names: []string{"logGroupName"}, Aspects: delivery.AspectLogGroup},
	{Source: sourceLogs, EventName: "DeleteRetentionPolicy", Kind: KindLogGroup, Names: []string{"logGroupName"}, Aspects: delivery.AspectLogGroup},
	{Source: sourceIAM, EventName: "PutRolePolicy", Kind: KindRole, Names: []string{"roleName", "policyName"}, Aspects: delivery.AspectRole, OnlyIn: iamEventRegion},
	{Source: sourceIAM, EventName: "DeleteRolePolicy", Kind: KindRole, Names: []string{"roleName", "policyName"}, Aspects: delivery.AspectRole, OnlyIn: iamEventRegion},
	{Source: sourceIAM, EventName: "DeleteRole", Kind: KindRole, Names: []string{"roleName"}, Aspects: delivery.AspectRole, OnlyIn: iamEventRegion},
	{Source: sourceIAM, EventName: "UpdateAssumeRolePolicy", Kind: KindRole, Names: []string{"roleName"}, Aspects: delivery.AspectRole, OnlyIn: iamEventRegion},
	// What destroys or hides the audit events already delivered, without unlinking anything (issue 20).
	{Source: sourceLogs, EventName: "DeleteLogStream", Kind: KindLogGroup, Names: []string{"logGroupName", "logStreamName"}, Aspects: delivery.AspectLogGroup, Destroys: true},
	{Source: sourceLogs, EventName: "AssociateKmsKey", Kind: KindLogGroup, Names: []string{"logGroupName"}, Aspects: delivery.AspectLogGroup},
	{Source: sourceLogs, EventName: "DisassociateKmsKey", Kind: KindLogGroup, Names: []string{"logGroupName"}, Aspects: delivery.AspectLogGroup},
	{Source: sourceLogs, EventName: "PutLogGroupDeletionProtection", Kind: KindLogGroup, Names: []string{"logGroupIdentifier"}, Aspects: delivery.AspectLogGroup},
	// The trail's tags are the owner's consent (trailguard:managed-by) and the registration mark
	// (trailguard:registered-by): a change is checked again at once.
	{Source: sourceCloudTrail, EventName: "AddTags", Kind: KindTrail, Names: []string{"resourceId"}, Aspects: delivery.AspectTrail},
	{Source: sourceCloudTrail, EventName: "RemoveTags", Kind: KindTrail, Names: []string{"resourceId"}, Aspects: delivery.AspectTrail},
	// The CIS monitoring pack (docs/cis.md): its filters on the log group, its alarms, their topic.
	{Source: sourceLogs, EventName: "DeleteMetricFilter", Kind: KindLogGroup, Names: []string{"logGroupName"}, Aspects: delivery.AspectPack},
	{Source: sourceLogs, EventName: "PutMetricFilter", Kind: KindLogGroup, Names: []string{"logGroupName"}, Aspects: delivery.AspectPack},
	{Source: sourceCloudWatch, EventName: "DeleteAlarms", Kind: KindPack, Names: []string{"alarmNames"}, Aspects: delivery.AspectPack},
	{Source: sourceCloudWatch, EventName: "PutMetricAlarm", Kind: KindPack, Names: []string{"alarmName"}, Aspects: delivery.AspectPack},
	{Source: sourceCloudWatch, EventName: "DisableAlarmActions", Kind: KindPack, Names: []string{"alarmNames"}, Aspects: delivery.AspectPack},
	{Source: sourceSNS, EventName: "DeleteTopic", Kind: KindPack, Names: []string{"topicArn"}, Aspects: delivery.AspectPack},
	{Source: sourceSNS, EventName: "Unsubscribe", Kind: KindPack, Names: []string{"subscriptionArn"}, Aspects: delivery.AspectPack},
}

// iamEventRegion is where EventBridge receives the API-call events of IAM, a global service.
const iamEventRegion = "us-east-1"

// EventBridgeSource is the EventBridge "source" of a service's API-call events ("aws.cloudtrail" for
// cloudtrail.amazonaws.com).
func EventBridgeSource(eventSource string) string {
	if eventSource == sourceCloudWatch {
		return "aws.cloudwatch" // CloudWatch signs as "monitoring" but its events come from aws.cloudwatch
	}
	return "aws." + strings.TrimSuffix(eventSource, ".amazonaws.com")
}

// Sources lists the catalogue's event sources in order of first appearance.
func Sources() []string {
	var out []string
	for _, w := range Catalogue {
		if !slices.Contains(out, w.Source) {
			out = append(out, w.Source)
		}
	}
	return out
}

// EventNames lists the catalogue's calls of one event source.
func EventNames(source string) []string {
	var out []string
	for _, w := range Catalogue {
		if w.Source == source {
			out = append(out, w.EventName)
		}
	}
	return out
}

// OnlyIn is the one region whose EventBridge receives a source's API-call events, "" for every region.
func OnlyIn(source string) string {
	for _, w := range Catalogue {
		if w.Source == source {
			return w.OnlyIn
		}
	}
	return ""
}
