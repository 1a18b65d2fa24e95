package spec

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The regular expressions the naming rules were written as. The rules are now loops (no init cost); this fuzz
// target proves they still accept exactly the same names.
var (
	trailNameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$`)
	trailAdjacent  = regexp.MustCompile(`[._-]{2}`)
	logGroupNameRE = regexp.MustCompile(`^[A-Za-z0-9._/#-]{1,512}$`)
	roleNameRE     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

func FuzzNamesMatchTheirRegularExpressions(f *testing.F) {
	for _, s := range []string{"", "ab", "abc", "a.b", "a..b", "a._b", "-ab", "ab-", strings.Repeat("a", 128),
		strings.Repeat("a", 129), "group/#x", "role+=,.@_-", "é", "a b", strings.Repeat("g", 513), "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := isTrailName(s), trailNameRE.MatchString(s) && !trailAdjacent.MatchString(s)
		assert.Equal(t, want, got, "isTrailName(%q) = %t, want %t", s, got, want)
		got, want = IsLogGroupName(s), logGroupNameRE.MatchString(s)
		assert.Equal(t, want, got, "IsLogGroupName(%q) = %t, want %t", s, got, want)
		got, want = isRoleName(s), roleNameRE.MatchString(s)
		assert.Equal(t, want, got, "isRoleName(%q) = %t, want %t", s, got, want)
	})
}
