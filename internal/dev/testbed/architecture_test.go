package testbed_test

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// internalPrefix is how a file of the module imports one of its internal packages.
const internalPrefix = "github.com/trailguard/trailguard/internal/"

// documentedDependencies reads docs/architecture.md's package table: for each package (a folder such as
// internal/delivery, or infra/ for everything under it), the internal packages its "depends on" column names.
func documentedDependencies(t *testing.T) map[string][]string {
	t.Helper()
	root, err := testbed.ModuleRoot()
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	require.NoError(t, err)
	pkgName := regexp.MustCompile("`((?:internal|infra)/[a-z/]*)`")
	parens := regexp.MustCompile(`\([^)]*\)`)
	deps := map[string][]string{}
	for line := range strings.Lines(string(doc)) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`internal/") && strings.TrimSpace(cells[1]) != "`infra/`" {
			continue
		}
		var names []string
		for w := range strings.SplitSeq(parens.ReplaceAllString(cells[3], ""), ",") {
			if w = strings.TrimSpace(w); w != "" && w != "—" {
				names = append(names, w)
			}
		}
		slices.Sort(names)
		for _, m := range pkgName.FindAllStringSubmatch(cells[1], -1) {
			deps[strings.TrimSuffix(m[1], "/")] = names
		}
	}
	require.GreaterOrEqual(t, len(deps), 10,
		"found only %d packages in docs/architecture.md's table: the parse is wrong", len(deps))
	return deps
}

// TestArchitectureTableNamesEachPackagesDependencies keeps docs/architecture.md's "depends on" column true: each
// package listed there imports (in its non-test files) exactly the internal packages the column names, the workshop
// (internal/dev) aside.
func TestArchitectureTableNamesEachPackagesDependencies(t *testing.T) {
	actual := map[string]map[string]bool{}
	for _, f := range moduleFiles(t) {
		dir := path.Dir(f.path)
		if strings.HasPrefix(dir, "infra/") || dir == "infra" {
			dir = "infra"
		}
		for _, imp := range f.imports {
			name, ok := strings.CutPrefix(imp, internalPrefix)
			if !ok || strings.HasPrefix(name, "dev/") || "internal/"+name == dir {
				continue
			}
			if actual[dir] == nil {
				actual[dir] = map[string]bool{}
			}
			actual[dir][name] = true
		}
	}
	for pkg, want := range documentedDependencies(t) {
		var got []string
		for name := range actual[pkg] {
			got = append(got, name)
		}
		slices.Sort(got)
		assert.True(t, slices.Equal(got, want),
			"docs/architecture.md says %s depends on %v; its non-test files import %v", pkg, want, got)
	}
}

// TestRemediatorCallsAWSOnlyThroughTheEngine: the remediator decides, the engine (internal/delivery) calls AWS. A
// service client in the remediator would be a call the IAM evaluation (infra/stacks/iamsim_test.go), which derives
// the remediator's calls from the engine's and the registry's interfaces, does not see.
func TestRemediatorCallsAWSOnlyThroughTheEngine(t *testing.T) {
	checked := 0
	for _, f := range moduleFiles(t) {
		if path.Dir(f.path) != "internal/remediator" {
			continue
		}
		checked++
		for _, imp := range f.imports {
			assert.False(t, strings.HasPrefix(imp, "github.com/aws/aws-sdk-go-v2/service/"),
				"%s imports %s: call AWS through internal/delivery", f.path, imp)
		}
	}
	require.NotZero(t, checked, "no file of internal/remediator found")
}
