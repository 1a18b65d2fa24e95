package stacks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/trigger"
)

// moto's TestEventPattern does not evaluate patterns, so these tests evaluate the synthesized rules with a matcher
// of their own. It implements only the operators the rules use (exact strings, exists, anything-but wildcard, $or,
// nested objects) and fails the test on any other, so a new operator cannot slip past unevaluated.

// sampleAccount and sampleRemediatorRole are what the sample events in events/remediator use for the account and
// for the remediator's role name (update-trail-own.json is the remediator's own UpdateTrail).
const (
	sampleAccount        = "123456789012"
	sampleRemediatorRole = "trailguard-remediator"
)

// resolveIntrinsics replaces Ref and Fn::Join with strings, as CloudFormation does at deploy time.
func resolveIntrinsics(t *testing.T, v any, refs map[string]string) any {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		if name, ok := x["Ref"].(string); ok && len(x) == 1 {
			val, ok := refs[name]
			require.True(t, ok, "no value for Ref %s", name)
			return val
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(x) == 1 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, resolveIntrinsics(t, p, refs).(string))
			}
			return strings.Join(parts, j[0].(string))
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolveIntrinsics(t, e, refs)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveIntrinsics(t, e, refs)
		}
		return out
	}
	return v
}

// patternMatches reports whether an EventBridge pattern matches an event (or a nested object of one).
func patternMatches(t *testing.T, pattern, event map[string]any) bool {
	t.Helper()
	for k, pv := range pattern {
		if k == "$or" {
			var matched bool
			for _, alt := range pv.([]any) {
				if patternMatches(t, alt.(map[string]any), event) {
					matched = true
				}
			}
			if !matched {
				return false
			}
			continue
		}
		ev, present := event[k]
		switch p := pv.(type) {
		case map[string]any:
			sub, _ := ev.(map[string]any) // absent, or not an object: every nested field is absent
			if sub == nil {
				sub = map[string]any{}
			}
			if !patternMatches(t, p, sub) {
				return false
			}
		case []any:
			if !leafMatches(t, p, ev, present) {
				return false
			}
		default:
			t.Fatalf("pattern field %s: %v is neither an object nor a list", k, pv)
		}
	}
	return true
}

// leafMatches reports whether any of a leaf's matchers matches the event's value (or any element of an array).
func leafMatches(t *testing.T, matchers []any, ev any, present bool) bool {
	t.Helper()
	values := []any{ev}
	if arr, ok := ev.([]any); ok {
		values = arr
	}
	for _, m := range matchers {
		switch x := m.(type) {
		case string:
			for _, v := range values {
				if present && v == x {
					return true
				}
			}
		case map[string]any:
			require.Len(t, x, 1, "matcher %v: one operator per matcher", x)
			if e, ok := x["exists"]; ok {
				if present == e.(bool) {
					return true
				}
				continue
			}
			if pre, ok := x["prefix"].(string); ok {
				for _, v := range values {
					if s, isString := v.(string); present && isString && strings.HasPrefix(s, pre) {
						return true
					}
				}
				continue
			}
			ab, ok := x["anything-but"].(map[string]any)
			w, wok := ab["wildcard"].(string)
			require.True(t, ok && wok && len(ab) == 1,
				"matcher %v: this test's matcher knows only exists, prefix and anything-but wildcard", x)
			for _, v := range values {
				if s, isString := v.(string); present && isString && !eventWildcard(w, s) {
					return true
				}
			}
		default:
			t.Fatalf("matcher %v: unsupported", m)
		}
	}
	return false
}

// eventWildcard matches an EventBridge wildcard: * is any run of characters; there is no other metacharacter in
// the patterns under test.
func eventWildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// apiRules returns the synthesized API-call rules' patterns, resolved for the sample account and role name.
func apiRules(t *testing.T) map[string]map[string]any {
	_, m := providerTemplate(t)
	refs := map[string]string{"AWS::Partition": "aws", "AWS::AccountId": sampleAccount, "AWS::Region": "us-east-1",
		mustID(t, m, "AWS::IAM::Role", "RemediatorRole"): sampleRemediatorRole}
	out := map[string]map[string]any{}
	for _, name := range []string{"CloudTrailChanges", "LogsChanges", "IamChanges", "AlarmChanges", "TopicChanges"} {
		_, r := m.one(t, "AWS::Events::Rule", name)
		out[name] = resolveIntrinsics(t, props(r)["EventPattern"], refs).(map[string]any)
	}
	return out
}

func matchingRules(t *testing.T, rules map[string]map[string]any, event map[string]any) []string {
	var out []string
	for name, p := range rules {
		if patternMatches(t, p, event) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

var ruleForSource = map[string]string{"aws.cloudtrail": "CloudTrailChanges", "aws.logs": "LogsChanges", "aws.iam": "IamChanges",
	"aws.cloudwatch": "AlarmChanges", "aws.sns": "TopicChanges"}

func loadEvent(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var e map[string]any
	require.NoError(t, json.Unmarshal(b, &e))
	return e
}

// Every sample API-call event in events/remediator reaches the remediator through the rule of its source, except
// the ones the remediator must not see.
func TestRulesMatchTheSampleEvents(t *testing.T) {
	rules := apiRules(t)
	notSeen := map[string]string{
		"update-trail-own.json":    "the remediator's own repair must not trigger it again",
		"update-trail-failed.json": "a failed call changed nothing",
		"sweep.json":               "a schedule, delivered by the Sweep rule, not an API call",
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "remediator", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			e := loadEvent(t, f)
			got := matchingRules(t, rules, e)
			if why, ok := notSeen[name]; ok {
				assert.Empty(t, got, why)
				return
			}
			assert.Equal(t, []string{ruleForSource[e["source"].(string)]}, got)
		})
	}
	for name := range notSeen {
		assert.True(t, seen[name], "sample %s is missing: the negative case would pass vacuously", name)
	}
}

// Events whose userIdentity has no arn (an AWS service, an AWSAccount caller) or no userIdentity at all are seen;
// only the remediator's own role's sessions are not.
func TestRulesSeeCallersWithoutAnARNButNotTheRemediator(t *testing.T) {
	rules := apiRules(t)
	base := loadEvent(t, filepath.Join("..", "..", "events", "remediator", "stop-logging.json"))
	variant := func(source, eventSource, eventName string, identity any) map[string]any {
		raw, err := json.Marshal(base)
		require.NoError(t, err)
		var e map[string]any
		require.NoError(t, json.Unmarshal(raw, &e))
		e["source"] = source
		d := e["detail"].(map[string]any)
		d["eventSource"], d["eventName"] = eventSource, eventName
		if identity == nil {
			delete(d, "userIdentity")
		} else {
			d["userIdentity"] = identity
		}
		return e
	}
	own := func(session string) map[string]any {
		return map[string]any{"type": "AssumedRole", "accountId": sampleAccount,
			"arn": "arn:aws:sts::" + sampleAccount + ":assumed-role/" + sampleRemediatorRole + "/" + session}
	}
	cases := []struct {
		name  string
		event map[string]any
		want  []string
	}{
		{"AWS service stops logging", variant("aws.cloudtrail", "cloudtrail.amazonaws.com", "StopLogging",
			map[string]any{"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}), []string{"CloudTrailChanges"}},
		{"AWSAccount caller deletes a log group", variant("aws.logs", "logs.amazonaws.com", "DeleteLogGroup",
			map[string]any{"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "111122223333"}), []string{"LogsChanges"}},
		{"no userIdentity at all", variant("aws.iam", "iam.amazonaws.com", "PutRolePolicy", nil), []string{"IamChanges"}},
		{"event selectors changed", variant("aws.cloudtrail", "cloudtrail.amazonaws.com", "PutEventSelectors",
			base["detail"].(map[string]any)["userIdentity"]), []string{"CloudTrailChanges"}},
		{"another role whose name starts like the remediator's", variant("aws.cloudtrail", "cloudtrail.amazonaws.com", "UpdateTrail",
			map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::" + sampleAccount + ":assumed-role/" + sampleRemediatorRole + "-x/s"}),
			[]string{"CloudTrailChanges"}},
		{"remediator writes a role policy", variant("aws.iam", "iam.amazonaws.com", "PutRolePolicy", own("any-session")), nil},
		{"remediator sets retention", variant("aws.logs", "logs.amazonaws.com", "PutRetentionPolicy", own("s")), nil},
		{"remediator restarts logging", variant("aws.cloudtrail", "cloudtrail.amazonaws.com", "StartLogging", own("s")), nil},
		{"an event name no rule lists", variant("aws.cloudtrail", "cloudtrail.amazonaws.com", "GetTrail",
			map[string]any{"type": "AWSService"}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, matchingRules(t, rules, c.event))
		})
	}
}

func TestEventWildcard(t *testing.T) {
	assert.True(t, eventWildcard("arn:*:role/x/*", "arn:aws:role/x/s"))
	assert.True(t, eventWildcard("a", "a"))
	assert.False(t, eventWildcard("arn:*:role/x/*", "arn:aws:role/x-y/s"))
	assert.False(t, eventWildcard("a*b", "ac"))
}

// The rules and trigger.Catalogue agree: every watched call has a sample that its source's rule matches, and a call
// the catalogue lacks matches no rule (the remediator would ignore it anyway; delivering it only costs money).
func TestRulesAreTheCatalogue(t *testing.T) {
	rules := apiRules(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "remediator", "*.json"))
	require.NoError(t, err)
	samples := map[string]map[string]any{}
	for _, f := range files {
		e := loadEvent(t, f)
		if d, ok := e["detail"].(map[string]any); ok && d["errorCode"] == nil {
			samples[fmt.Sprint(d["eventSource"], " ", d["eventName"])] = e
		}
	}
	for _, w := range trigger.Catalogue {
		e, ok := samples[w.Source+" "+w.EventName]
		if !assert.True(t, ok, "no sample for %s %s", w.Source, w.EventName) {
			continue
		}
		assert.NotEmpty(t, matchingRules(t, rules, e), "%s is in the catalogue but no rule delivers it", w.EventName)

		unknown := loadEvent(t, filepath.Join("..", "..", "events", "remediator", "delete-log-group.json"))
		unknown["source"] = trigger.EventBridgeSource(w.Source)
		unknown["detail"].(map[string]any)["eventSource"] = w.Source
		unknown["detail"].(map[string]any)["eventName"] = "Describe" + w.EventName
		assert.Empty(t, matchingRules(t, rules, unknown), "a call the catalogue lacks (%s) reaches the remediator", "Describe"+w.EventName)
	}
}
