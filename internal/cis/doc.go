package cis

import (
	"fmt"
	"strings"
)

// DocTable renders the pack's table of patterns and sources for docs/cis.md; a test keeps the two equal. A
// pattern holds "||", which a Markdown table cell cannot, so each control is a heading, its pattern a code block.
func DocTable() string {
	var b strings.Builder
	for _, c := range Controls {
		set := "`cis`, `cis-v5`"
		if c.Variant {
			set = "`cis-v5` only"
		}
		fmt.Fprintf(&b, "### %s: %s\n\nKey `%s`; sets %s; %s; source: <%s>\n\n```\n%s\n```\n\n", c.ID, c.Title, c.Key, set,
			c.Requirements, c.Source, c.Pattern)
	}
	return b.String()
}
