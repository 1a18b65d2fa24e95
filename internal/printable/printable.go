// Package printable makes text that may come from anyone (property names, trail names, actors, error messages
// quoting them) safe to show where a person reads it: CloudFormation's console, an e-mail, a terminal showing a
// log. The provider's FAILED Reason and the remediator's notifications both use it, so both escape the same way.
package printable

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text returns s with every character that could hide or rewrite what a reader sees written as a visible escape:
// the C0 and C1 control characters (ESC, which starts terminal sequences; NUL; line breaks; tabs), DEL, Unicode's
// line and paragraph separators, and its bidirectional controls (a right-to-left override makes "txt.exe" look
// like "exe.txt"). Line breaks and tabs are written \n, \r, \t; the rest \u001b, \u202e and so on. Invalid UTF-8
// becomes U+FFFD. Everything else, non-ASCII letters included, is kept, so the escape never grows ordinary text.
func Text(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clean reports whether Text would return s as is: the common case, which then costs no allocation.
func clean(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || hidden(r) {
			return false
		}
		i += size
	}
	return true
}

// hidden reports whether r controls a terminal or the direction or breaking of text rather than showing a glyph.
func hidden(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1 (0x9b is a one-byte CSI on some terminals)
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // Arabic letter mark, left-to-right and right-to-left marks
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidirectional embeddings, overrides, isolates
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}
