package customresource

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileNames are property names a stack author can write: terminal escapes (a hyperlink, clear screen, colour),
// NUL, line breaks, a right-to-left override, a one-byte CSI (C1), invalid UTF-8.
var hostileNames = []string{
	"\x1b]8;;https://evil.example\x07Click\x1b]8;;\x07",
	"\x1b[2J\x1b[HTrailName",
	"Trail\x00Name",
	"TrailName\n\nSUCCESS: all good\r",
	"\u202eemaNliarT",
	"\u009b31mred",
	"\xff\xfeTrail",
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

func TestReasonCarriesNoControlCharacters(t *testing.T) {
	for _, name := range hostileNames {
		f := newS3(t)
		var logs logBuffer
		h := func(_ context.Context, req Request) (Result, error) {
			return Result{}, errors.New("property " + name + ": unknown property")
		}
		require.NoError(t, Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil)))
		r := only(t, f)
		controlFree(t, "the Reason", r.Reason)
		assert.False(t, !strings.HasPrefix(r.Reason, "property ") || !strings.Contains(r.Reason, ": unknown property"),
			"the Reason lost its text: %q", r.Reason)
		assert.False(t, strings.ContainsRune(name, '\x1b') && !strings.Contains(r.Reason, `\u001b`),
			"ESC is not shown as \\u001b: %q", r.Reason)
	}

	// Escaping makes a Reason longer (one ESC is six characters): the body still fits CloudFormation's limit.
	f := newS3(t)
	var logs logBuffer
	h := func(context.Context, Request) (Result, error) {
		return Result{}, errors.New(strings.Repeat("\x1b[2J", 2000))
	}
	require.NoError(t, Wrap(h, fastOptions(&logs)...)(lambdaContext(), event(t, f, nil)))
	p := f.Responses()
	require.False(t, len(p) != 1 || len(p[0].Raw) > MaxResponseBytes,
		"%d PUTs, body of %d bytes", len(p), len(p[0].Raw))
	r := decodeBody(t, p[0].Raw)
	controlFree(t, "a truncated Reason", r.Reason)
	assert.True(t, strings.HasSuffix(r.Reason, truncatedMark+" See CloudWatch log stream: 2026/11/24/[$LATEST]abcdef"),
		"reason %q", r.Reason[max(0, len(r.Reason)-80):])
}
