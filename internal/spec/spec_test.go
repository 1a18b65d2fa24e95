package spec_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/spec"
)

func TestParseAppliesDefaults(t *testing.T) {
	s, err := spec.Parse(map[string]any{"TrailName": "management-trail", "ServiceToken": "arn:aws:lambda:x", "ServiceTimeout": "300"})
	require.NoError(t, err)
	assert.Equal(t, spec.Spec{TrailName: "management-trail", Remediation: spec.Enforce, EnforceLogging: true}, s)
}

func TestParseReadsCloudFormationStrings(t *testing.T) {
	s, err := spec.Parse(map[string]any{
		"TrailName":              "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail",
		"LogGroupName":           "/org/cloudtrail",
		"RetentionInDays":        "90",
		"KmsKeyId":               "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"RoleName":               "TrailDelivery",
		"Remediation":            "REPORT",
		"EnforceLogging":         "false",
		"DeleteLogGroupOnDelete": "true",
	})
	require.NoError(t, err)
	assert.Equal(t, int32(90), s.RetentionInDays)
	assert.Equal(t, spec.Report, s.Remediation)
	assert.False(t, s.EnforceLogging)
	assert.True(t, s.DeleteLogGroupOnDelete)
	assert.Equal(t, "TrailDelivery", s.RoleName)
}

func TestParseRejectsBadInputNamingTheField(t *testing.T) {
	cases := []struct {
		name  string
		props map[string]any
		field string
		rule  string
	}{
		{"missing trail", map[string]any{}, "TrailName", "required"},
		{"malformed trail ARN", map[string]any{"TrailName": "arn:aws:cloudtrail:us-east-1:123:trail/x"}, "TrailName", "not a trail ARN"},
		{"bad trail name", map[string]any{"TrailName": "-bad"}, "TrailName", "3-128"},
		{"both log groups", map[string]any{"TrailName": "tt1", "LogGroupName": "a", "LogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:a"}, "LogGroupArn", "exclusive"},
		{"bad log group ARN", map[string]any{"TrailName": "tt1", "LogGroupArn": "arn:aws:s3:::bucket"}, "LogGroupArn", "not a log group ARN"},
		{"both roles", map[string]any{"TrailName": "tt1", "RoleName": "a", "RoleArn": "arn:aws:iam::123456789012:role/a"}, "RoleArn", "exclusive"},
		{"retention not a number", map[string]any{"TrailName": "tt1", "RetentionInDays": "400x"}, "RetentionInDays", "whole number"},
		{"retention not allowed", map[string]any{"TrailName": "tt1", "RetentionInDays": "42"}, "RetentionInDays", "allows"},
		{"unknown remediation", map[string]any{"TrailName": "tt1", "Remediation": "fix"}, "Remediation", "enforce, report, off"},
		{"unknown property", map[string]any{"TrailName": "tt1", "LogGroup": "x"}, "LogGroup", "unknown property"},
		{"bad boolean", map[string]any{"TrailName": "tt1", "EnforceLogging": "yes"}, "EnforceLogging", "\"true\" or \"false\""},
		{"bad kms key", map[string]any{"TrailName": "tt1", "KmsKeyId": "alias/foo"}, "KmsKeyId", "KMS key ARN"},
		{"object value", map[string]any{"TrailName": map[string]any{"a": 1}}, "TrailName", "must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spec.Parse(tc.props)
			var fe *spec.FieldError
			require.True(t, errors.As(err, &fe), "want a FieldError, got %v", err)
			assert.Contains(t, err.Error(), "property "+tc.field+":")
			assert.Contains(t, err.Error(), tc.rule)
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := spec.Parse(map[string]any{"RetentionInDays": "7x", "Bogus": "1"})
	require.Error(t, err)
	for _, field := range []string{"TrailName", "RetentionInDays", "Bogus"} {
		assert.Contains(t, err.Error(), "property "+field+":")
	}
}

func TestParseARNs(t *testing.T) {
	tr, err := spec.ParseTrailARN("arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/org")
	require.NoError(t, err)
	assert.Equal(t, spec.TrailARN{Partition: "aws-us-gov", Region: "us-gov-west-1", Account: "123456789012", Name: "org"}, tr)
	assert.Equal(t, "arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/org", tr.String())

	lg, err := spec.ParseLogGroupARN("arn:aws-cn:logs:cn-north-1:123456789012:log-group:/a/b:*")
	require.NoError(t, err)
	assert.Equal(t, "/a/b", lg.Name)

	r, err := spec.ParseRoleARN("arn:aws:iam::123456789012:role/service-role/x/Delivery")
	require.NoError(t, err)
	assert.Equal(t, spec.RoleARN{Partition: "aws", Account: "123456789012", Path: "/service-role/x/", Name: "Delivery"}, r)
	_, err = spec.ParseRoleARN("arn:aws:iam::123456789012:user/bob")
	assert.Error(t, err)
}

// FuzzParse feeds arbitrary property values: Parse never panics, and a spec it accepts always names a trail.
func FuzzParse(f *testing.F) {
	f.Add("management-trail", "365", "enforce", "true", "")
	f.Add("arn:aws:cloudtrail:us-east-1:123456789012:trail/t", "400x", "off", "yes", "arn:aws:logs:us-east-1:123456789012:log-group:g")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, trail, retention, mode, enforce, group string) {
		s, err := spec.Parse(map[string]any{"TrailName": trail, "RetentionInDays": retention, "Remediation": mode,
			"EnforceLogging": enforce, "LogGroupArn": group})
		require.False(t, err == nil && s.TrailName == "", "accepted a spec without a trail: %+v", s)
	})
}

// Only a retention that keeps events for less time loses audit data; 0 keeps them forever.
func TestShorterRetentionTreatsZeroAsForever(t *testing.T) {
	for _, c := range []struct {
		got, want int32
		shorter   bool
	}{
		{30, 365, true}, {365, 30, false}, {365, 365, false},
		{30, 0, true}, {0, 0, false}, {0, 30, false},
	} {
		assert.Equal(t, c.shorter, spec.ShorterRetention(c.got, c.want), "%d days against %d", c.got, c.want)
	}
	assert.Equal(t, "forever", spec.RetentionText(0))
	assert.Equal(t, "30 days", spec.RetentionText(30))
}
