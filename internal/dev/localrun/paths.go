package localrun

import (
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// PathWidth is the most columns a path printed by a run takes: a deep checkout or a long TMPDIR (macOS's
// /var/folders/…, pam_tmpdir, CI runners) must not push a line past Width.
const PathWidth = 60

// ShowPath is p as a person can use it from where the command runs, in at most PathWidth columns: relative to the
// working directory when p is inside it (make runs from the checkout: dist/invoke/remediator.log), else with the
// temp directory written $TMPDIR and the home directory ~; a path still longer keeps its first and last parts
// around an ellipsis (the file's name is always there).
func ShowPath(p string) string {
	p = filepath.Clean(p)
	if wd, err := os.Getwd(); err == nil {
		if rel, ok := under(p, wd); ok {
			p = rel
		}
	}
	if filepath.IsAbs(p) {
		if tmp := os.Getenv("TMPDIR"); tmp != "" {
			if rel, ok := under(p, tmp); ok {
				p = filepath.Join("$TMPDIR", rel)
			}
		}
	}
	if filepath.IsAbs(p) {
		if home, err := os.UserHomeDir(); err == nil && home != "/" {
			if rel, ok := under(p, home); ok {
				p = filepath.Join("~", rel)
			}
		}
	}
	return elide(p, PathWidth)
}

// under is p relative to dir when p is dir or below it.
func under(p, dir string) (string, bool) {
	dir = filepath.Clean(dir)
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// elide keeps p's first element and as many of its last elements as fit in width runes, joined by "…".
func elide(p string, width int) string {
	if utf8.RuneCountInString(p) <= width {
		return p
	}
	parts := strings.Split(p, string(filepath.Separator))
	head := parts[0] + string(filepath.Separator) + "…"
	if parts[0] == "" { // an absolute path: keep its first directory
		head = string(filepath.Separator) + parts[1] + string(filepath.Separator) + "…"
	}
	tail := parts[len(parts)-1]
	for i := len(parts) - 2; i > 1; i-- {
		next := parts[i] + string(filepath.Separator) + tail
		if utf8.RuneCountInString(head)+1+utf8.RuneCountInString(next) > width {
			break
		}
		tail = next
	}
	out := head + string(filepath.Separator) + tail
	if n := utf8.RuneCountInString(out); n > width { // the file's own name is too long: keep its end
		r := []rune(out)
		out = "…" + string(r[n-width+1:])
	}
	return out
}
