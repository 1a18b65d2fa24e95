package printable

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     "",
		"management-trail":                     "management-trail",
		"Prüfung 日本 — ok":                      "Prüfung 日本 — ok",
		"\x1b[2J\x1b]8;;https://evil\x07click": `\u001b[2J\u001b]8;;https://evil\u0007click`,
		"a\x00b":                               `a\u0000b`,
		"line\nbreak\r\ttab":                   `line\nbreak\r\ttab`,
		"del\x7f":                              `del\u007f`,
		"c1 \u009b31m \u0085":                  `c1 \u009b31m \u0085`,
		"txt.\u202eexe":                        `txt.\u202eexe`,
		"\u2066iso\u2069 \u200f\u061c":         `\u2066iso\u2069 \u200f\u061c`,
		"sep\u2028\u2029":                      `sep\u2028\u2029`,
		"bad \xff\xfe utf8":                    "bad \uFFFD\uFFFD utf8",
		`already \u001b escaped`:               `already \u001b escaped`,
	} {
		got := Text(in)
		assert.Equal(t, want, got, "Text(%q) = %q, want %q", in, got, want)
	}
}

// FuzzText: whatever goes in, what comes out is valid UTF-8 with no character that controls a terminal or the
// direction of text, and clean input comes out unchanged.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31m", "\u202e", "\xff", "\u0085\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		require.True(t, utf8.ValidString(out), "Text(%q) = %q is not valid UTF-8", s, out)
		for _, r := range out {
			require.False(t, unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029,
				"Text(%q) = %q keeps %U", s, out, r)
		}
		require.False(t, clean(s) != (out == s) && !strings.Contains(s, "\uFFFD"),
			"Text(%q) = %q: clean says %v", s, out, clean(s))
	})
}
