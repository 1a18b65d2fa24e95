package customresource

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The regular expressions these checks were written as. The checks are now loops (no init cost); this fuzz target
// proves they still accept exactly the same strings.
var (
	accountIDRE  = regexp.MustCompile(`^[0-9]{12}$`)
	fallbackIDRE = regexp.MustCompile(`^` + fallbackPrefix + `[A-Za-z0-9]{0,64}-[0-9a-f]{16}$`)
)

func FuzzChecksMatchTheirRegularExpressions(f *testing.F) {
	sum := "-0123456789abcdef"
	for _, s := range []string{"", "123456789012", "12345678901", "1234567890123", "12345678901a", "١٢٣٤٥٦٧٨٩٠١٢",
		fallbackPrefix + sum, fallbackPrefix + "Trail1" + sum, fallbackPrefix + strings.Repeat("A", 64) + sum,
		fallbackPrefix + strings.Repeat("A", 65) + sum, fallbackPrefix + "a-b" + sum, fallbackPrefix + "Trail" + strings.ToUpper(sum),
		fallbackPrefix + "Trail" + sum + "\n", fallbackPrefix + "é" + sum, "x" + fallbackPrefix + sum, fallbackPrefix + "0123456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := isAccountID(s), accountIDRE.MatchString(s)
		assert.Equal(t, want, got, "isAccountID(%q) = %t, want %t", s, got, want)
		for _, id := range []string{s, fallbackPrefix + s} {
			got, want := IsFallbackID(id), fallbackIDRE.MatchString(id)
			assert.Equal(t, want, got, "IsFallbackID(%q) = %t, want %t", id, got, want)
		}
	})
}
