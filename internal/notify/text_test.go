package notify_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/notify"
)

// hostile is a decision whose every text holds what a person changing a trail could get into it: terminal
// escapes (a hyperlink, clear screen), NUL, line breaks that fake a line of the notification, a right-to-left
// override, a one-byte CSI (C1), invalid UTF-8.
func hostile() notify.Decision {
	d := repaired()
	d.Trail = "trail\x1b[2J\x1b[H"
	d.TrailARN = trailARN + "\u202e"
	d.Mode = "enforce\x00"
	d.Actor = alice + "\x1b]8;;https://evil.example\x07Click\x1b]8;;\x07"
	d.SourceIP = "203.0.113.45\nResult:        ok"
	d.EventName = "UpdateTrail\u009b31m"
	d.EventID = "id\r\x7f"
	d.Drift = []string{"log group \u2066evil\u2069 \xff"}
	d.Result = "failed: AccessDenied\n\nAction:         none"
	d.Repairs = []string{"UpdateTrail\u2028"}
	return d
}

// controlFree fails the test if s holds a character that controls a terminal or the direction of text.
func controlFree(t *testing.T, what, s string) {
	t.Helper()
	assert.True(t, utf8.ValidString(s), "%s is not valid UTF-8: %q", what, s)
	for _, r := range s {
		if !assert.False(t, unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029,
			"%s holds %U: %q", what, r, s) {
			return
		}
	}
}

func TestNotificationTextCarriesNoControlCharacters(t *testing.T) {
	d := hostile()
	controlFree(t, "the subject", notify.Subject(d))

	body := notify.Body(d)
	// The body's own layout is lines; nothing a value holds may add one, or anything else a terminal obeys.
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	assert.Len(t, lines, len(strings.Split(strings.TrimSuffix(notify.Body(repaired()), "\n"), "\n")),
		"a value added lines to the body:\n%s", body)
	for _, l := range lines {
		controlFree(t, "a body line", l)
	}
	for _, want := range []string{`trail\u001b[2J`, `\u202e`, `Click\u001b]8;;\u0007`, `203.0.113.45\nResult:`,
		`UpdateTrail\u009b31m`, `\u2066evil\u2069 ` + "\uFFFD", `failed: AccessDenied\n\nAction:`} {
		assert.Contains(t, body, want, "the body shows the value, escaped")
	}

	var buf bytes.Buffer
	notify.Log(slog.New(slog.NewJSONHandler(&buf, nil)), d)
	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	for k, v := range got {
		switch v := v.(type) {
		case string:
			controlFree(t, "log field "+k, v)
		case []any:
			for _, item := range v {
				controlFree(t, "log field "+k, item.(string))
			}
		}
	}
}
