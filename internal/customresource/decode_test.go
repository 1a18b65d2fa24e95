package customresource

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateResponseURL(t *testing.T) {
	const q = "/arn%3Aaws%3Acloudformation%3Aus-east-1/x?X-Amz-Signature=abc"
	useast1 := origin{"aws", "us-east-1", "123456789012"}
	euwest1 := origin{"aws", "eu-west-1", "123456789012"}
	cn := origin{"aws-cn", "cn-north-1", "123456789012"}
	gov := origin{"aws-us-gov", "us-gov-west-1", "123456789012"}
	iso := origin{"aws-iso", "us-iso-east-1", "123456789012"}
	tests := []struct {
		url      string
		fn       origin
		loopback bool
		ok       bool
	}{
		// The forms CloudFormation sends (or sent), for the function's own region.
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + q, useast1, false, true},
		{"https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com" + q, useast1, false, true},
		{"https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com" + q, euwest1, false, true},
		{"https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com" + q, euwest1, false, true},
		{"https://cloudformation-custom-resource-response-euwest1.s3.dualstack.eu-west-1.amazonaws.com" + q, euwest1, false, true},
		{"https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com" + q, euwest1, false, true},
		{"https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn" + q, cn, false, true},
		{"https://cloudformation-custom-resource-response-usgovwest1.s3-us-gov-west-1.amazonaws.com" + q, gov, false, true},
		{"https://CLOUDFORMATION-CUSTOM-RESOURCE-RESPONSE-USEAST1.S3.AMAZONAWS.COM" + q, useast1, false, true},
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:443" + q, useast1, false, true},
		{"http://127.0.0.1:8080" + q, useast1, true, true},
		{"http://localhost:8080" + q, useast1, true, true},
		{"http://[::1]:8080" + q, useast1, true, true},

		// Another region's bucket, another partition's domain, or a partition without a known bucket.
		{"https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com" + q, useast1, false, false},
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + q, euwest1, false, false},
		{"https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com" + q, cn, false, false},
		{"https://cloudformation-custom-resource-response-cnnorth1.s3.amazonaws.com.cn" + q, cn, false, false},
		{"https://cloudformation-custom-resource-response-usgovwest1.s3.amazonaws.com" + q, gov, false, false},
		{"https://cloudformation-custom-resource-response-usisoeast1.s3.us-iso-east-1.c2s.ic.gov" + q, iso, false, false},
		// Any other bucket, even on the right endpoint, and path-style URLs, which CloudFormation does not send.
		{"https://attacker-bucket.s3.us-east-1.amazonaws.com" + q, useast1, false, false},
		{"https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1" + q, useast1, false, false},
		{"https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1" + q, useast1, false, false},
		{"https://x.cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + q, useast1, false, false},
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.com" + q, useast1, false, false},
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com." + q, useast1, false, false},
		{"https://cloudformation-custom-resource-response-useast1.s3-external-1.amazonaws.com" + q, useast1, false, false},
		{"https://cloudformation-custom-resource-response-useast1.s3-fips.us-east-1.amazonaws.com" + q, useast1, false, false},
		// Wrong scheme, port, userinfo, or no URL at all.
		{"http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + q, useast1, false, false},
		{"http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + q, useast1, true, false},
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443" + q, useast1, false, false},
		{"https://user:pw@cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + q, useast1, false, false},
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com@evil.com" + q, useast1, false, false},
		{"https://evil.com/cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + q, useast1, false, false},
		{"https://evil.com#.cloudformation-custom-resource-response-useast1.s3.amazonaws.com", useast1, false, false},
		{"https://169.254.169.254/latest/meta-data", useast1, false, false},
		{"https://evil.example/x", useast1, true, false},
		{"http://127.0.0.1:8080" + q, useast1, false, false},
		{"http://127.0.0.1" + q, useast1, true, false},
		{"http://127.0.0.1:0" + q, useast1, true, false},
		{"http://127.0.0.2:8080" + q, useast1, true, false},
		{"http://localhost.evil.com:8080" + q, useast1, true, false},
		{"http://0.0.0.0:8080" + q, useast1, true, false},
		{"file:///etc/passwd", useast1, true, false},
		{"cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x", useast1, false, false},
		{"mailto:x@cloudformation-custom-resource-response-useast1.s3.amazonaws.com", useast1, false, false},
		{"https://", useast1, false, false},
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/\x7f", useast1, false, false},
	}
	for _, tt := range tests {
		host, err := validateResponseURL(tt.url, tt.fn, tt.loopback)
		assert.Equal(t, tt.ok, err == nil,
			"validateResponseURL(%q, %s, loopback=%v) = %v, want ok=%v", tt.url, tt.fn.Region, tt.loopback, err, tt.ok)
		assert.False(t, err != nil && strings.Contains(err.Error(), "Signature"), "error %q quotes the URL", err)
		assert.False(t, strings.Contains(host, "?") || strings.Contains(host, "/"), "host %q is more than a host", host)
	}
}

func TestDecodeUsesExactKeys(t *testing.T) {
	raw := `{"ResponseURL":"http://127.0.0.1:9/x","responseurl":"https://evil.example/","RequestType":"Create",` +
		`"StackId":"` + stackID + `","stackid":"arn:aws:cloudformation:us-east-1:210987654321:stack/other/1",` +
		`"requesttype":"Delete","ResourceProperties":{"TrailName":"t","RetentionInDays":"365"},"OldResourceProperties":null}`
	req, malformed, err := decode([]byte(raw), true, origin{"aws", "us-east-1", "123456789012"}, nil)
	require.False(t, err != nil || malformed != nil, "decode: %v, %v", err, malformed)
	assert.False(t, req.ResponseURL != "http://127.0.0.1:9/x" || req.RequestType != "Create" ||
		req.ResourceProperties["RetentionInDays"] != "365" || req.OldResourceProperties != nil,
		"decoded %+v", req)
}

func TestReadEnvelope(t *testing.T) {
	fields, depths, err := readEnvelope([]byte(` { "A" : 1e999 , "B":[ {"c" : [ ] } ] ,"C":"x\"}" ,"A":null}`))
	require.NoError(t, err)
	want := map[string]string{"A": "null", "B": `[ {"c" : [ ] } ]`, "C": `"x\"}"`}
	for k, v := range want {
		assert.Equal(t, v, string(fields[k]),
			"field %s = %q, want %q (the last of duplicate keys, exactly as written)", k, fields[k], v)
	}
	assert.False(t, len(fields) != len(want) || depths["B"] != 3 || depths["C"] != 0,
		"fields %q, depths %v", fields, depths)
	for raw, wantErr := range map[string]string{
		`{"A":1} {"B":2}`:             "more follows",
		`{"A":1`:                      "ends before",
		`{"A":[1,]}`:                  "syntax error",
		`{"A" 1}`:                     "syntax error",
		`[{"A":1}]`:                   "starts with a JSON array",
		`"x"`:                         "starts with a JSON string",
		`null`:                        "null",
		nested(20_000)[:30_000] + `}`: "not a JSON object",
	} {
		_, _, err := readEnvelope([]byte(raw))
		assert.False(t, err == nil || !strings.Contains(err.Error(), wantErr),
			"readEnvelope(%.40q) = %v, want an error saying %q", raw, err, wantErr)
	}
}
