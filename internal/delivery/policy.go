package delivery

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// cloudTrailService is the principal that assumes the delivery role.
const cloudTrailService = "cloudtrail.amazonaws.com"

// policyDoc is an IAM policy document. Action, Resource and Principal.Service accept IAM's "string or list" form.
type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid          string          `json:"Sid,omitempty"`
	Effect       string          `json:"Effect"`
	Principal    *principal      `json:"Principal,omitempty"`
	NotPrincipal json.RawMessage `json:"NotPrincipal,omitempty"`
	Action       stringList      `json:"Action,omitempty"`
	Resource     stringList      `json:"Resource,omitempty"`
	Condition    json.RawMessage `json:"Condition,omitempty"`
}

type principal struct {
	Service       stringList `json:"Service,omitempty"`
	AWS           stringList `json:"AWS,omitempty"`
	Federated     stringList `json:"Federated,omitempty"`
	CanonicalUser stringList `json:"CanonicalUser,omitempty"`
}

// UnmarshalJSON also takes IAM's Principal "*", which means anybody.
func (p *principal) UnmarshalJSON(b []byte) error {
	var star string
	if err := json.Unmarshal(b, &star); err == nil {
		*p = principal{AWS: stringList{star}}
		return nil
	}
	type plain principal
	return json.Unmarshal(b, (*plain)(p))
}

// others lists every principal but CloudTrail's service.
func (p *principal) others() []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, s := range p.Service {
		if s != cloudTrailService {
			out = append(out, s)
		}
	}
	out = append(out, p.AWS...)
	out = append(out, p.Federated...)
	return append(out, p.CanonicalUser...)
}

// stringList decodes IAM's "a string or a list of strings".
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*l = many
	return nil
}

// StreamResources are the log stream ARNs CloudTrail writes for this trail: ACCOUNT_CloudTrail_REGION*, ACCOUNT
// being the trail's owner (the management account for an organization trail wired from the delegated
// administrator, whose log group it is), and for an organization trail also o-ORGID_*.
func (t Target) StreamResources() []string {
	prefix := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:log-stream:", t.Partition, t.HomeRegion, t.Account, t.LogGroupName)
	res := []string{prefix + t.trailOwner() + "_CloudTrail_" + t.HomeRegion + "*"}
	if t.OrgID != "" {
		res = append(res, prefix+t.OrgID+"_*")
	}
	return res
}

// RolePolicy is the inline policy document for this trail, as AWS documents it: CreateLogStream and PutLogEvents on
// the trail's log streams only.
func (t Target) RolePolicy() string {
	res := stringList(t.StreamResources())
	return mustJSON(policyDoc{Version: "2012-10-17", Statement: []statement{
		{Sid: "AWSCloudTrailCreateLogStream", Effect: "Allow", Action: stringList{"logs:CreateLogStream"}, Resource: res},
		{Sid: "AWSCloudTrailPutLogEvents", Effect: "Allow", Action: stringList{"logs:PutLogEvents"}, Resource: res},
	}})
}

// decodePolicy parses a policy document as IAM returns it: URL-encoded (RFC 3986) JSON.
func decodePolicy(doc string) (policyDoc, error) {
	if un, err := url.PathUnescape(doc); err == nil {
		doc = un
	}
	var p policyDoc
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return policyDoc{}, fmt.Errorf("parse policy document: %w", err)
	}
	return p, nil
}

// grants flattens a policy into sorted "effect action resource condition" lines, so that two documents that grant
// the same thing compare equal whatever their statement order, Sids or list forms.
func (p policyDoc) grants() []string {
	var out []string
	for _, s := range p.Statement {
		for _, a := range s.Action {
			for _, r := range s.Resource {
				out = append(out, strings.Join([]string{s.Effect, strings.ToLower(a), r, string(s.Condition)}, " "))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// samePolicy says whether the live document grants exactly what the desired one does.
func samePolicy(live, desired string) bool {
	l, err := decodePolicy(live)
	if err != nil {
		return false
	}
	d, err := decodePolicy(desired)
	if err != nil {
		return false
	}
	return slices.Equal(l.grants(), d.grants())
}

// trustsCloudTrail says whether a trust policy lets CloudTrail assume the role for this trail: an Allow of
// sts:AssumeRole to cloudtrail.amazonaws.com whose conditions (if any, e.g. aws:SourceAccount or aws:SourceArn, the
// hardening AWS recommends) hold for this trail, and no Deny that names CloudTrail.
func trustsCloudTrail(doc string, t Target) bool {
	p, err := decodePolicy(doc)
	if err != nil {
		return false
	}
	allowed := false
	for _, s := range p.Statement {
		if !s.namesCloudTrail() || !s.allowsAssumeRole() {
			continue
		}
		switch s.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = allowed || conditionHolds(s.Condition, t)
		}
	}
	return allowed
}

func (s statement) namesCloudTrail() bool {
	return s.Principal != nil && slices.Contains(s.Principal.Service, cloudTrailService)
}

func (s statement) allowsAssumeRole() bool {
	return slices.ContainsFunc(s.Action, func(a string) bool {
		a = strings.ToLower(a)
		return a == "sts:assumerole" || a == "sts:*" || a == "*"
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("delivery: encode policy: %v", err)) // only plain structs of strings are encoded
	}
	return string(b)
}
