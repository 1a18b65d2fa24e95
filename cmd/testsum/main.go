// Command testsum reads `go test -json` on stdin and prints only what a person needs: the output of each failed
// test (its assertion messages first, then the logs the test bed shows for a failure), the output of a package
// that failed outside any test (a build error, a TestMain that could not start), and one closing line counting
// the tests that passed, failed and were skipped. It exits 1 if anything failed.
//
// As each package ends it prints a progress line ("progress: ..."): how many packages are done, how many of them
// came from Go's test cache, and which are still running, so a long run is never silent (.ci/stages shows the
// latest one while the stage runs).
//
//	go test -json -count=1 ./internal/... | go run ./cmd/testsum
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// event is one line of test2json output (go doc test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

// Counts is what a run did.
type Counts struct {
	Passed, Failed, Skipped, Packages, FailedPackages int
	// Cached counts the packages whose result came from Go's test cache.
	Cached int
	// SkipReasons counts the skipped tests by the reason they gave (the first line of their skip message).
	SkipReasons map[string]int
}

func main() {
	c, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(1)
	}
	fmt.Println(c.Line())
	if c.Failed > 0 || c.FailedPackages > 0 {
		os.Exit(1)
	}
}

// summarize reads test2json events and writes the output of what failed to out.
func summarize(in io.Reader, out io.Writer) (Counts, error) {
	c := Counts{SkipReasons: map[string]int{}}
	outputs := map[string][]string{} // package + "\x00" + test → its output lines; test "" is the package's own
	var running []string             // packages started and not yet ended, in start order
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil || ev.Action == "" {
			fmt.Fprintln(out, string(line)) // not test2json: pass it through rather than lose it
			continue
		}
		pkg := ev.Package
		if pkg == "" {
			pkg = ev.ImportPath
		}
		key := pkg + "\x00" + ev.Test
		if ev.Test == "" {
			switch ev.Action {
			case "start":
				running = append(running, pkg)
			case "output":
				if strings.HasPrefix(ev.Output, "ok") && strings.Contains(ev.Output, "(cached)") {
					c.Cached++
				}
			}
		}
		ended := ev.Test == "" && (ev.Action == "pass" || ev.Action == "skip" || ev.Action == "fail")
		switch ev.Action {
		case "output", "build-output":
			outputs[key] = append(outputs[key], ev.Output)
		case "pass":
			if ev.Test != "" {
				c.Passed++
			} else {
				c.Packages++
			}
			delete(outputs, key)
		case "skip":
			if ev.Test != "" {
				c.Skipped++
				c.SkipReasons[skipReason(outputs[key])]++
			} else {
				c.Packages++
			}
			delete(outputs, key)
		case "fail", "build-fail":
			if ev.Test != "" {
				c.Failed++
				fmt.Fprintf(out, "--- FAIL: %s (%s)\n%s", ev.Test, pkg, strings.Join(outputs[key], ""))
			} else {
				c.Packages++
				c.FailedPackages++
				fmt.Fprintf(out, "FAIL %s\n%s", pkg, strings.Join(outputs[key], ""))
			}
			delete(outputs, key)
		}
		if ended {
			running = slices.DeleteFunc(running, func(p string) bool { return p == pkg })
			fmt.Fprintln(out, progress(c, running))
		}
	}
	return c, sc.Err()
}

// progressWidth is the most columns a progress line takes.
const progressWidth = 100

// progress is the line printed as a package ends: "progress: 12 packages done (5 cached); running: a, b".
func progress(c Counts, running []string) string {
	s := fmt.Sprintf("progress: %d packages done (%d cached)", c.Packages, c.Cached)
	if c.Failed > 0 || c.FailedPackages > 0 {
		s += fmt.Sprintf(", %d tests FAILED", c.Failed)
	}
	if len(running) > 0 {
		names := make([]string, len(running))
		for i, p := range running {
			names[i] = strings.TrimPrefix(p, modulePrefix)
		}
		s += "; running: " + strings.Join(names, ", ")
	}
	if len(s) > progressWidth {
		s = s[:progressWidth-3] + "..."
	}
	return s
}

// modulePrefix is left out of the package names a progress line shows.
const modulePrefix = "github.com/trailguard/trailguard/"

// skipReason is the message of a test's t.Skip, without the file:line prefix.
func skipReason(lines []string) string {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "===") || l == "" {
			continue
		}
		if _, msg, ok := strings.Cut(l, ".go:"); ok {
			if _, rest, ok := strings.Cut(msg, ": "); ok {
				return rest
			}
		}
		return l
	}
	return "no reason given"
}

// Line is the closing line: "412 tests passed in 18 packages", with the failures and skips when there are any.
func (c Counts) Line() string {
	s := fmt.Sprintf("%d tests passed", c.Passed)
	if c.Failed > 0 || c.FailedPackages > 0 {
		s = fmt.Sprintf("FAILED: %d tests failed, %d packages failed; %s", c.Failed, c.FailedPackages, s)
	}
	if c.Skipped > 0 {
		s += fmt.Sprintf(", %d SKIPPED", c.Skipped)
		if n := c.SkipReasons[""]; n == 0 && len(c.SkipReasons) == 1 {
			for reason := range c.SkipReasons {
				s += " (" + firstWords(reason) + ")"
			}
		}
	}
	s += fmt.Sprintf(" in %d packages", c.Packages)
	if c.Cached > 0 {
		s += fmt.Sprintf(" (%d from Go's test cache)", c.Cached)
	}
	return s
}

func firstWords(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
