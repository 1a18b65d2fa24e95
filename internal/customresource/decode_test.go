package customresource

import (
	"strings"
	"testing"
)

func TestValidateResponseURL(t *testing.T) {
	const q = "/arn%3Aaws%3Acloudformation%3Aus-east-1/x?X-Amz-Signature=abc"
	tests := []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + q, false, true},
		{"https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1" + q, false, true},
		{"https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com" + q, false, true},
		{"https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com" + q, false, true},
		{"https://s3-ap-southeast-2.amazonaws.com/bucket" + q, false, true},
		{"https://bucket.s3.dualstack.us-west-2.amazonaws.com" + q, false, true},
		{"https://bucket.s3-fips.us-gov-west-1.amazonaws.com" + q, false, true},
		{"https://bucket.s3.us-gov-west-1.amazonaws.com" + q, false, true},
		{"https://bucket.s3-external-1.amazonaws.com" + q, false, true},
		{"https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn" + q, false, true},
		{"https://bucket.s3.dualstack.cn-northwest-1.amazonaws.com.cn" + q, false, true},
		{"https://my.dotted.bucket.s3.amazonaws.com" + q, false, true},
		{"https://BUCKET.S3.AMAZONAWS.COM" + q, false, true},
		{"https://bucket.s3.amazonaws.com:443" + q, false, true},
		{"http://127.0.0.1:8080" + q, true, true},
		{"http://localhost:8080" + q, true, true},
		{"http://[::1]:8080" + q, true, true},

		{"http://bucket.s3.amazonaws.com" + q, false, false},
		{"http://bucket.s3.amazonaws.com" + q, true, false},
		{"https://bucket.s3.amazonaws.com:8443" + q, false, false},
		{"https://s3.amazonaws.com.evil.com" + q, false, false},
		{"https://s3.amazonaws.com.cn" + q, false, false},
		{"https://evils3.amazonaws.com" + q, false, false},
		{"https://bucket.s4.amazonaws.com" + q, false, false},
		{"https://bucket.sqs.us-east-1.amazonaws.com" + q, false, false},
		{"https://s3.amazonaws.com@evil.com" + q, false, false},
		{"https://user:pw@bucket.s3.amazonaws.com" + q, false, false},
		{"https://evil.com/bucket.s3.amazonaws.com" + q, false, false},
		{"https://evil.com#.s3.amazonaws.com", false, false},
		{"https://bucket..s3.amazonaws.com" + q, false, false},
		{"https://-bucket.s3.amazonaws.com" + q, false, false},
		{"https://bucket.s3.amazonaws.com." + q, false, false},
		{"https://169.254.169.254/latest/meta-data", false, false},
		{"https://evil.example/x", true, false},
		{"http://127.0.0.1:8080" + q, false, false},
		{"http://127.0.0.1" + q, true, false},
		{"http://127.0.0.1:0" + q, true, false},
		{"http://127.0.0.2:8080" + q, true, false},
		{"http://localhost.evil.com:8080" + q, true, false},
		{"http://0.0.0.0:8080" + q, true, false},
		{"file:///etc/passwd", true, false},
		{"s3.amazonaws.com/bucket", false, false},
		{"mailto:x@s3.amazonaws.com", false, false},
		{"https://", false, false},
		{"https://" + strings.Repeat("a", 300) + ".s3.amazonaws.com", false, false},
		{"https://bucket.s3.amazonaws.com/\x7f", false, false},
	}
	for _, tt := range tests {
		host, err := validateResponseURL(tt.url, tt.loopback)
		if (err == nil) != tt.ok {
			t.Errorf("validateResponseURL(%q, loopback=%v) = %v, want ok=%v", tt.url, tt.loopback, err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "Signature") {
			t.Errorf("error %q quotes the URL", err)
		}
		if strings.Contains(host, "?") || strings.Contains(host, "/") {
			t.Errorf("host %q is more than a host", host)
		}
	}
}

func TestDecodeUsesExactKeys(t *testing.T) {
	raw := `{"ResponseURL":"http://127.0.0.1:9/x","responseurl":"https://evil.example/","RequestType":"Create",` +
		`"requesttype":"Delete","ResourceProperties":{"TrailName":"t","RetentionInDays":"365"},"OldResourceProperties":null}`
	req, malformed, err := decode([]byte(raw), true)
	if err != nil || malformed != nil {
		t.Fatalf("decode: %v, %v", err, malformed)
	}
	if req.ResponseURL != "http://127.0.0.1:9/x" || req.RequestType != "Create" ||
		req.ResourceProperties["RetentionInDays"] != "365" || req.OldResourceProperties != nil {
		t.Errorf("decoded %+v", req)
	}
}

func TestReadEnvelope(t *testing.T) {
	fields, depths, err := readEnvelope([]byte(` { "A" : 1e999 , "B":[ {"c" : [ ] } ] ,"C":"x\"}" ,"A":null}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "null", "B": `[ {"c" : [ ] } ]`, "C": `"x\"}"`}
	for k, v := range want {
		if string(fields[k]) != v {
			t.Errorf("field %s = %q, want %q (the last of duplicate keys, exactly as written)", k, fields[k], v)
		}
	}
	if len(fields) != len(want) || depths["B"] != 3 || depths["C"] != 0 {
		t.Errorf("fields %q, depths %v", fields, depths)
	}
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
		if _, _, err := readEnvelope([]byte(raw)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("readEnvelope(%.40q) = %v, want an error saying %q", raw, err, wantErr)
		}
	}
}
