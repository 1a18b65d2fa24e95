package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"golang.org/x/sync/errgroup"

	"github.com/trailguard/trailguard/internal/cis"
	"github.com/trailguard/trailguard/internal/spec"
)

// The CIS monitoring pack (internal/cis, docs/cis.md): metric filters on the trail's log group, one alarm each, and
// the SNS topic the alarms notify. It is one aspect of the delivery: checked, repaired and removed like the rest,
// and only under names that start with the trail's own prefix (Target.PackNames), so nobody else's filters and alarms
// are ever touched.

// AspectPack is the trail's CIS monitoring pack: its metric filters, alarms and topic.
const AspectPack Aspect = 1 << 7

// Drift of the pack.
const (
	// PackFilterMissing and PackFilterChanged are a pack filter deleted, or changed (its pattern, its metric). Want
	// names the filters, space-separated.
	PackFilterMissing DriftKind = "pack-filter-missing"
	PackFilterChanged DriftKind = "pack-filter-changed"
	// PackAlarmMissing and PackAlarmChanged are a pack alarm deleted, or changed (statistic, period, threshold,
	// comparison, actions, actions disabled, metric). Want names the alarms, space-separated.
	PackAlarmMissing DriftKind = "pack-alarm-missing"
	PackAlarmChanged DriftKind = "pack-alarm-changed"
	// PackTopicMissing and PackTopicUnsubscribed are the alarms' topic deleted, or left without a confirmed
	// subscriber. Reported, never repaired: trailguard creates no topic and no subscription.
	PackTopicMissing      DriftKind = "pack-topic-missing"
	PackTopicUnsubscribed DriftKind = "pack-topic-unsubscribed"
	// PackTopicUnusable is a topic CloudWatch cannot publish to: encrypted with an AWS managed key (whose policy
	// CloudWatch is not in) or another key than the one it had when registered, or a topic policy that denies
	// CloudWatch sns:Publish. Got says which. Reported, never repaired: the topic is its owner's.
	PackTopicUnusable DriftKind = "pack-topic-unusable"
	// PackMetricForeign is a pack metric that another metric filter (another name, or another log group) also
	// publishes to: a filter publishing -1 for the same events keeps the alarm's Sum at 0. Want names the metrics,
	// Got the foreign filters. Reported, never repaired: trailguard never touches a filter that is not its own.
	PackMetricForeign DriftKind = "pack-metric-foreign-publisher"
	// NoisySelectors is a guarded trail that sends data events or network-activity events to CloudWatch Logs: the
	// usual cause of a surprise ingestion bill. Reported, never repaired: what a trail records is its owner's choice.
	NoisySelectors DriftKind = "noisy-selectors"
)

// Pack is the monitoring pack a target keeps; the zero value keeps none.
type Pack struct {
	// Set is which controls (cis.SecurityHub or cis.CISv5); "" or cis.None: no pack.
	Set cis.Set
	// TopicARN is the SNS topic every alarm notifies.
	TopicARN string
	// TopicKey is the topic's KmsMasterKeyId when the pack was registered ("" for an unencrypted topic): the one
	// key, beside none, the topic may have later (packtopic.go).
	TopicKey string
}

// PackNames are the names of the target's pack: cis.NamesOfTrail, with the trail's account when it is another's.
func (t Target) PackNames() cis.Names { return cis.NamesOfTrail(t.TrailName, t.TrailAccount) }

// On says whether the target keeps a pack.
func (p Pack) On() bool { return p.Set != "" && p.Set != cis.None }

// MetricFiltersAPI is the part of the CloudWatch Logs client the pack's filters need.
type MetricFiltersAPI interface {
	DescribeMetricFilters(context.Context, *cloudwatchlogs.DescribeMetricFiltersInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeMetricFiltersOutput, error)
	PutMetricFilter(context.Context, *cloudwatchlogs.PutMetricFilterInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutMetricFilterOutput, error)
	DeleteMetricFilter(context.Context, *cloudwatchlogs.DeleteMetricFilterInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteMetricFilterOutput, error)
}

// AlarmsAPI is the part of the CloudWatch client the pack's alarms need.
type AlarmsAPI interface {
	DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	PutMetricAlarm(context.Context, *cloudwatch.PutMetricAlarmInput, ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
	DeleteAlarms(context.Context, *cloudwatch.DeleteAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error)
}

// TopicsAPI reads the alarms' topic: its subscriptions, its key and policy (GetTopicAttributes), and each
// subscription's filter policy (GetSubscriptionAttributes).
type TopicsAPI interface {
	ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	GetTopicAttributes(context.Context, *sns.GetTopicAttributesInput, ...func(*sns.Options)) (*sns.GetTopicAttributesOutput, error)
	GetSubscriptionAttributes(context.Context, *sns.GetSubscriptionAttributesInput, ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error)
}

// WithPackTopic sets the SNS topic (an ARN) a pack's alarms notify when the resource names none: the provider
// stack's notification topic.
func WithPackTopic(topicARN string) Option { return func(e *Engine) { e.packTopic = topicARN } }

// packFor settles a pack's topic: the one given, or the provider's; it must be in the trail's account and home
// region, because an alarm notifies only a topic of its own region and alarm notifications must not leave the
// account.
func (e *Engine) packFor(t Target, set cis.Set, topic string) (Pack, error) {
	if set == "" || set == cis.None {
		return Pack{}, nil
	}
	field := "AlarmTopicArn"
	if topic == "" {
		field, topic = "(the provider's notification topic)", e.packTopic
	}
	if topic == "" {
		return Pack{}, &spec.FieldError{Field: "AlarmTopicArn", Rule: "is required with MonitoringPack: this provider has no notification " +
			"topic; name an SNS topic of the trail's account and region that has a subscriber"}
	}
	parts := strings.Split(topic, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[5] == "" {
		return Pack{}, &spec.FieldError{Field: field, Rule: fmt.Sprintf("must be an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME), got %q", topic)}
	}
	if parts[1] != t.Partition || parts[3] != t.HomeRegion || parts[4] != t.Account {
		return Pack{}, &spec.FieldError{Field: field, Rule: fmt.Sprintf("topic %s is in account %s, region %s; the pack's alarms notify "+
			"only a topic of the trail's own account (%s) and home region (%s)", topic, parts[4], parts[3], t.Account, t.HomeRegion)}
	}
	return Pack{Set: set, TopicARN: topic}, nil
}

// checkPack reads the pack's filters, alarms and topic at once and, in a sweep, the filters of any log group that
// publish to the pack's metrics. That last read is one DescribeMetricFilters per control, one after another: an event
// (an alarm deleted, a topic changed) cannot add such a filter, and one on another log group matches no registration
// at its own event, so the sweep is where it is found, and an event's repair stays a few round trips.
func (e *Engine) checkPack(ctx context.Context, t Target, sweep bool) ([]Drift, error) {
	if !t.Pack.On() {
		return nil, nil
	}
	names := t.PackNames()
	controls := cis.Of(t.Pack.Set)
	var filters map[string][]cwltypes.MetricFilter
	var alarms map[string]cwtypes.MetricAlarm
	var topic, foreign []Drift
	var reads errgroup.Group
	reads.Go(func() (err error) { filters, err = e.packFilters(ctx, t, names); return err })
	reads.Go(func() (err error) { alarms, err = e.packAlarms(ctx, names); return err })
	reads.Go(func() (err error) { topic, err = e.checkTopic(ctx, t); return err })
	if sweep {
		reads.Go(func() (err error) { foreign, err = e.foreignPublishers(ctx, t, names, controls); return err })
	}
	if err := reads.Wait(); err != nil {
		return nil, err
	}
	var missingF, changedF, missingA, changedA []string
	for _, c := range controls {
		switch fs := filters[names.Filter(c)]; {
		case len(fs) == 0:
			missingF = append(missingF, names.Filter(c))
		case len(fs) > 1 || !sameFilter(fs[0], names, c):
			changedF = append(changedF, names.Filter(c))
		}
		a, ok := alarms[names.Alarm(c)]
		switch {
		case !ok:
			missingA = append(missingA, names.Alarm(c))
		case !sameAlarm(a, names, c, t.Pack.TopicARN, t.TrailARN):
			changedA = append(changedA, names.Alarm(c))
		}
	}
	var drifts []Drift
	add := func(k DriftKind, names []string) {
		if len(names) > 0 {
			drifts = append(drifts, Drift{Kind: k, Want: strings.Join(names, " ")})
		}
	}
	add(PackFilterMissing, missingF)
	add(PackFilterChanged, changedF)
	add(PackAlarmMissing, missingA)
	add(PackAlarmChanged, changedA)
	return append(append(drifts, topic...), foreign...), nil
}

// packFilters reads the log group's filters of this trail's pack, by name (a name can come back twice from an
// emulator that adds instead of replacing; that counts as changed).
func (e *Engine) packFilters(ctx context.Context, t Target, names cis.Names) (map[string][]cwltypes.MetricFilter, error) {
	out := map[string][]cwltypes.MetricFilter{}
	in := &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(t.LogGroupName), FilterNamePrefix: aws.String(names.Prefix)}
	for {
		page, err := e.c.MetricFilters.DescribeMetricFilters(ctx, in)
		var nf *cwltypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read metric filters of log group %s: %w", t.LogGroupName, err)
		}
		for _, f := range page.MetricFilters {
			if aws.ToString(f.LogGroupName) == t.LogGroupName || f.LogGroupName == nil {
				out[aws.ToString(f.FilterName)] = append(out[aws.ToString(f.FilterName)], f)
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// packAlarms reads the account's alarms of this trail's pack.
func (e *Engine) packAlarms(ctx context.Context, names cis.Names) (map[string]cwtypes.MetricAlarm, error) {
	out := map[string]cwtypes.MetricAlarm{}
	in := &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(names.Prefix), AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}}
	for {
		page, err := e.c.Alarms.DescribeAlarms(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read alarms %s*: %w", names.Prefix, err)
		}
		for _, a := range page.MetricAlarms {
			out[aws.ToString(a.AlarmName)] = a
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// sameFilter says whether f is exactly the filter putFilter writes: the whole desired state, not only the fields a
// scanner prints. Any other field can make the metric unreadable by the alarm while pattern and name stay right: a
// dimension or a unit (the alarm asks for neither, so it sees no data point), a default value (a 0 published for
// every non-matching event is harmless, but a negative one cancels matches in the Sum), field selection or system
// field dimensions (emitted as dimensions), or ApplyOnTransformedLogs (the filter then reads what a log transformer,
// which trailguard does not watch, makes of the events; with it false no transformer can touch the pack).
func sameFilter(f cwltypes.MetricFilter, names cis.Names, c cis.Control) bool {
	if aws.ToString(f.FilterPattern) != c.Pattern || len(f.MetricTransformations) != 1 || f.ApplyOnTransformedLogs ||
		len(f.EmitSystemFieldDimensions) > 0 || aws.ToString(f.FieldSelectionCriteria) != "" {
		return false
	}
	m := f.MetricTransformations[0]
	return aws.ToString(m.MetricName) == names.Metric(c) && aws.ToString(m.MetricNamespace) == cis.Namespace &&
		aws.ToString(m.MetricValue) == cis.MetricValue && len(m.Dimensions) == 0 && noUnit(string(m.Unit)) &&
		m.DefaultValue == nil
}

// noUnit says a unit field is unset: CloudWatch Logs reads back "None" for a filter put without one.
func noUnit(u string) bool { return u == "" || u == string(cwltypes.StandardUnitNone) }

// sameAlarm says whether a is exactly the alarm putAlarm writes. Beside the fields Security Hub reads, a unit (the
// filter publishes none, so an alarm on Seconds sees no data and stays notBreaching), an extended statistic, a
// datapoints-to-alarm above one, metric math (Metrics, ThresholdMetricId) or another description are all changes.
// OKActions and InsufficientDataActions are not compared: more notifications hide nothing (a repair drops them).
func sameAlarm(a cwtypes.MetricAlarm, names cis.Names, c cis.Control, topic, trailARN string) bool {
	return aws.ToString(a.MetricName) == names.Metric(c) && aws.ToString(a.Namespace) == cis.Namespace &&
		a.Statistic == cwtypes.Statistic(cis.Statistic) && aws.ToInt32(a.Period) == cis.PeriodSeconds &&
		aws.ToFloat64(a.Threshold) == cis.Threshold && aws.ToInt32(a.EvaluationPeriods) == cis.EvaluationPeriods &&
		string(a.ComparisonOperator) == cis.ComparisonOperator && aws.ToString(a.TreatMissingData) == cis.TreatMissingData &&
		aws.ToBool(a.ActionsEnabled) && slices.Equal(a.AlarmActions, []string{topic}) && len(a.Dimensions) == 0 &&
		a.Unit == "" && aws.ToString(a.ExtendedStatistic) == "" && aws.ToInt32(a.DatapointsToAlarm) <= cis.EvaluationPeriods &&
		len(a.Metrics) == 0 && aws.ToString(a.ThresholdMetricId) == "" && aws.ToString(a.EvaluateLowSampleCountPercentile) == "" &&
		aws.ToString(a.AlarmDescription) == cis.Description(c, trailARN)
}

// ConfirmedSubscriptions counts a topic's subscriptions whose ARN is an ARN (not "PendingConfirmation").
func ConfirmedSubscriptions(ctx context.Context, c TopicsAPI, topicARN string) (int, error) {
	in := &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topicARN)}
	n := 0
	for {
		page, err := c.ListSubscriptionsByTopic(ctx, in)
		if err != nil {
			return 0, err
		}
		for _, sub := range page.Subscriptions {
			if strings.HasPrefix(aws.ToString(sub.SubscriptionArn), "arn:") {
				n++
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return n, nil
		}
		in.NextToken = page.NextToken
	}
}

// noisy is the sweep's finding on a guarded trail whose selectors send data events or network-activity events to
// CloudWatch Logs (read with AspectSelectors): the usual cause of a surprise ingestion bill, named by selector.
func noisy(out *cloudtrail.GetEventSelectorsOutput) []Drift {
	if got := noisySelectors(out); got != "" {
		return []Drift{{Kind: NoisySelectors, Want: "management events only", Got: got}}
	}
	return nil
}

// packRepairs says whether a kind of pack drift is repaired: filters and alarms are, the topic and selectors are not.
func packRepairs(k DriftKind) (repairs, known bool) {
	switch k {
	case PackFilterMissing, PackFilterChanged, PackAlarmMissing, PackAlarmChanged:
		return true, true
	case PackTopicMissing, PackTopicUnsubscribed, PackTopicUnusable, PackMetricForeign, NoisySelectors:
		return false, true
	}
	return false, false
}

// packDriftString words pack drift for the alert; "" for another kind.
func packDriftString(d Drift) string {
	switch d.Kind {
	case PackFilterMissing:
		return "CIS metric filters deleted: " + d.Want
	case PackFilterChanged:
		return "CIS metric filters changed (pattern or metric): " + d.Want
	case PackAlarmMissing:
		return "CIS alarms deleted: " + d.Want
	case PackAlarmChanged:
		return "CIS alarms changed (threshold, statistic, period, actions or actions disabled): " + d.Want
	case PackTopicMissing:
		return fmt.Sprintf("the CIS alarms' topic %s is deleted: the alarms notify nobody (trailguard creates no topic)", d.Want)
	case PackTopicUnsubscribed:
		return fmt.Sprintf("the CIS alarms' topic %s has no confirmed subscriber that receives them (%s): the alarms notify nobody", d.Want, d.Got)
	case PackTopicUnusable:
		return fmt.Sprintf("CloudWatch cannot publish to the CIS alarms' topic %s: %s; the alarms notify nobody", d.Want, d.Got)
	case PackMetricForeign:
		return fmt.Sprintf("CIS metrics %s also published by filters that are not the pack's (%s): they can cancel its Sum; "+
			"delete them (trailguard never touches others' filters)", d.Want, d.Got)
	case NoisySelectors:
		return "trail sends " + d.Got + " to CloudWatch Logs: ingestion is billed per GB (see docs/cis.md, Cost)"
	}
	return ""
}

// applyPack puts back the filters and alarms the drift names. PutMetricFilter replaces a filter of the same name
// and PutMetricAlarm an alarm of the same name, whole: a repair is a put of the desired state, and ActionsEnabled in
// it switches disabled actions back on, so no EnableAlarmActions (and no permission for it) is needed.
func (e *Engine) applyPack(ctx context.Context, t Target, drifts []Drift) ([]string, error) {
	var actions []string
	names := t.PackNames()
	want := map[DriftKind]map[string]bool{}
	for _, d := range drifts {
		if want[d.Kind] == nil {
			want[d.Kind] = map[string]bool{}
		}
		for _, n := range strings.Fields(d.Want) {
			want[d.Kind][n] = true
		}
	}
	for _, c := range cis.Of(t.Pack.Set) {
		if f := names.Filter(c); want[PackFilterMissing][f] || want[PackFilterChanged][f] {
			if err := e.putFilter(ctx, t, names, c); err != nil {
				return actions, err
			}
			actions = append(actions, "PutMetricFilter")
		}
	}
	for _, c := range cis.Of(t.Pack.Set) {
		if a := names.Alarm(c); want[PackAlarmMissing][a] || want[PackAlarmChanged][a] {
			if err := e.putAlarm(ctx, t, names, c); err != nil {
				return actions, err
			}
			actions = append(actions, "PutMetricAlarm")
		}
	}
	return actions, nil
}

func (e *Engine) putFilter(ctx context.Context, t Target, names cis.Names, c cis.Control) error {
	_, err := e.c.MetricFilters.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{
		LogGroupName: aws.String(t.LogGroupName), FilterName: aws.String(names.Filter(c)), FilterPattern: aws.String(c.Pattern),
		MetricTransformations: []cwltypes.MetricTransformation{{
			MetricName: aws.String(names.Metric(c)), MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String(cis.MetricValue),
		}},
	})
	if err != nil {
		return fmt.Errorf("put metric filter %s on log group %s: %w", names.Filter(c), t.LogGroupName, err)
	}
	e.log.InfoContext(ctx, "put CIS metric filter", "trail", t.TrailARN, "log_group", t.LogGroupName, "filter", names.Filter(c), "control", c.ID)
	return nil
}

func (e *Engine) putAlarm(ctx context.Context, t Target, names cis.Names, c cis.Control) error {
	_, err := e.c.Alarms.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(names.Alarm(c)), AlarmDescription: aws.String(cis.Description(c, t.TrailARN)),
		Namespace: aws.String(cis.Namespace), MetricName: aws.String(names.Metric(c)),
		Statistic: cwtypes.Statistic(cis.Statistic), Period: aws.Int32(cis.PeriodSeconds), Threshold: aws.Float64(cis.Threshold),
		EvaluationPeriods: aws.Int32(cis.EvaluationPeriods), ComparisonOperator: cwtypes.ComparisonOperator(cis.ComparisonOperator),
		TreatMissingData: aws.String(cis.TreatMissingData), ActionsEnabled: aws.Bool(true), AlarmActions: []string{t.Pack.TopicARN},
		Tags: []cwtypes.Tag{{Key: aws.String(TagCreatedBy), Value: aws.String(tagValue)}, {Key: aws.String(TagTrail), Value: aws.String(t.TrailARN)}},
	})
	if err != nil {
		return fmt.Errorf("put alarm %s: %w", names.Alarm(c), err)
	}
	e.log.InfoContext(ctx, "put CIS alarm", "trail", t.TrailARN, "alarm", names.Alarm(c), "control", c.ID)
	return nil
}

// RemovePack deletes the trail's pack: its filters on t's log group and its alarms, by their names only. What is
// already gone is skipped. keepFilters and keepAlarms are sets still wanted (an Update that switches the set keeps
// the new set's alarms, and its filters too unless it moved the pack to another log group): their names stay.
func (e *Engine) RemovePack(ctx context.Context, t Target, keepFilters, keepAlarms cis.Set) ([]string, error) {
	names := t.PackNames()
	keep := func(s cis.Set) map[string]bool {
		kept := map[string]bool{}
		for _, c := range cis.Of(s) {
			kept[c.Key] = true
		}
		return kept
	}
	kept := keep(keepFilters)
	var actions []string
	filters, err := e.packFilters(ctx, t, names)
	if err != nil {
		return nil, err
	}
	for _, c := range cis.Controls {
		if kept[c.Key] || len(filters[names.Filter(c)]) == 0 {
			continue
		}
		_, err := e.c.MetricFilters.DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{
			LogGroupName: aws.String(t.LogGroupName), FilterName: aws.String(names.Filter(c))})
		var nf *cwltypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			return actions, fmt.Errorf("delete metric filter %s: %w", names.Filter(c), err)
		}
		actions = append(actions, "DeleteMetricFilter")
	}
	alarms, err := e.packAlarms(ctx, names)
	if err != nil {
		return actions, err
	}
	var del []string
	kept = keep(keepAlarms)
	for _, c := range cis.Controls {
		if _, ok := alarms[names.Alarm(c)]; ok && !kept[c.Key] {
			del = append(del, names.Alarm(c))
		}
	}
	if len(del) > 0 {
		if _, err := e.c.Alarms.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: del}); err != nil {
			return actions, fmt.Errorf("delete alarms %s: %w", strings.Join(del, ", "), err)
		}
		actions = append(actions, "DeleteAlarms")
		e.log.InfoContext(ctx, "removed CIS alarms", "trail", t.TrailARN, "alarms", del)
	}
	return actions, nil
}

// noisySelectors describes the selectors that record data events or network-activity events; "" when none do.
func noisySelectors(out *cloudtrail.GetEventSelectorsOutput) string {
	var got []string
	for _, s := range out.EventSelectors {
		for _, r := range s.DataResources {
			got = append(got, "data events of "+aws.ToString(r.Type))
		}
	}
	for _, s := range out.AdvancedEventSelectors {
		if c := advancedCategory(s); c == "Data" || c == "NetworkActivity" {
			got = append(got, fmt.Sprintf("%s events (advanced selector %q)", c, orNone(aws.ToString(s.Name))))
		}
	}
	return strings.Join(got, ", ")
}

// advancedCategory is the eventCategory an advanced selector keeps.
func advancedCategory(s cttypes.AdvancedEventSelector) string {
	for _, f := range s.FieldSelectors {
		if aws.ToString(f.Field) == "eventCategory" && len(f.Equals) > 0 {
			return f.Equals[0]
		}
	}
	return ""
}
