package customresource

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTruncate(t *testing.T) {
	inputs := []string{"", "short", strings.Repeat("a", 5000), strings.Repeat("日本", 2000), strings.Repeat("\x00\"\\", 3000),
		strings.Repeat("€", 1) + strings.Repeat("x", 4000), "\xff\xfe" + strings.Repeat("é", 3000)}
	for _, in := range inputs {
		in = strings.ToValidUTF8(in, "\uFFFD")
		for _, budget := range []int{0, 5, 20, 100, 1000, 4000} {
			out := truncate(in, budget)
			assert.True(t, utf8.ValidString(out), "truncate(%.20q, %d) is not valid UTF-8", in, budget)
			assert.False(t, out != "" && escapedLen(out)+len(`,"Reason":""`) > budget,
				"truncate(%.20q, %d) = %d escaped bytes, over budget", in, budget, escapedLen(out))
			assert.False(t, out != in && out != "" && !strings.HasSuffix(out, truncatedMark),
				"truncate(%.20q, %d) is cut without a mark", in, budget)
			assert.False(t, out != in && !strings.HasPrefix(in, strings.TrimSuffix(out, truncatedMark)),
				"truncate(%.20q, %d) is not a prefix", in, budget)
		}
	}
}

func TestEncodeKeepsEveryBodyUnderTheCap(t *testing.T) {
	base := response{Status: StatusFailed, StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", RequestID: "r", LogicalResourceID: "L", PhysicalResourceID: "p"}
	for _, n := range []int{0, 100, 4000, 4096, 10000, 100000} {
		r := base
		r.Reason = strings.Repeat("\u2028<>", n/3)
		got, body := encode(r, " See CloudWatch log stream: s")
		assert.False(t, len(body) > MaxResponseBytes, "reason of %d bytes gives a %d-byte body", n, len(body))
		var back response
		err := json.Unmarshal(body, &back)
		assert.False(t, err != nil || back.Reason != got.Reason,
			"body does not decode to what encode returned: %v", err)
		assert.True(t, strings.HasSuffix(back.Reason, " See CloudWatch log stream: s"),
			"the log stream was cut from %q", back.Reason[max(0, len(back.Reason)-60):])
	}
	ok := base
	ok.Status, ok.Reason = StatusSuccess, ""
	got, _ := encode(ok, " See CloudWatch log stream: s")
	assert.Empty(t, got.Reason, "a SUCCESS got reason %q", got.Reason)
}

func TestBackoff(t *testing.T) {
	c := newConfig([]Option{WithRetryBackoff(100, 1000)})
	for attempt, want := range map[int]int64{1: 100, 2: 200, 3: 400, 4: 800, 5: 1000, 30: 1000} {
		for range 50 {
			d := int64(c.backoff(attempt))
			require.False(t, d < want/2 || d > want, "backoff(%d) = %d, want in [%d, %d]", attempt, d, want/2, want)
		}
	}
}

func BenchmarkEncodeLongReason(b *testing.B) {
	r := response{Status: StatusFailed, Reason: strings.Repeat("é<x", 10*1024/4), StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
		RequestID: "0f4e8d2a-5b6c-4d7e-8f90-a1b2c3d4e5f6", LogicalResourceID: "TrailDelivery", PhysicalResourceID: "p"}
	for b.Loop() {
		_, body := encode(r, " See CloudWatch log stream: s")
		require.LessOrEqual(b, len(body), MaxResponseBytes)
	}
}
