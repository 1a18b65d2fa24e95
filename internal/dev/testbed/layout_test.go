package testbed_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// goFile is one non-test Go file of the module: where it is, its package and what it imports.
type goFile struct {
	path    string // relative to the module root, with forward slashes
	pkg     string
	imports []string
}

// moduleFiles parses every non-test Go file of the module (imports only).
func moduleFiles(t *testing.T) []goFile {
	t.Helper()
	root, err := testbed.ModuleRoot()
	require.NoError(t, err)
	var files []goFile
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "cdk.out", "dist", "testdata", ".git", ".cache":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		g := goFile{path: filepath.ToSlash(rel), pkg: f.Name.Name}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			g.imports = append(g.imports, p)
		}
		files = append(files, g)
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 50, "found only %d Go files under %s: the walk is wrong", len(files), root)
	return files
}

// TestNoNonTestFileImportsTesting keeps package testing (and its command-line flags) out of every binary: the
// functions, the demo and the benchmark harness. Helpers shared by tests take a small interface instead.
func TestNoNonTestFileImportsTesting(t *testing.T) {
	for _, f := range moduleFiles(t) {
		for _, imp := range f.imports {
			assert.False(t, imp == "testing" || strings.HasPrefix(imp, "testing/"),
				"%s imports %q: only _test.go files may", f.path, imp)
		}
	}
}

// TestWorkshopStaysInItsWing checks the layout the README describes: the product (functions/, infra/ and
// internal/ outside internal/dev/) never imports the workshop (internal/dev/), and every command lives in cmd/,
// functions/ or is the CDK app's infra/main.go.
func TestWorkshopStaysInItsWing(t *testing.T) {
	const workshop = "github.com/trailguard/trailguard/internal/dev/"
	for _, f := range moduleFiles(t) {
		product := !strings.HasPrefix(f.path, "internal/dev/") && !strings.HasPrefix(f.path, "cmd/")
		for _, imp := range f.imports {
			assert.False(t, product && strings.HasPrefix(imp, workshop),
				"product file %s imports the workshop package %s", f.path, imp)
		}
		assert.False(t, f.pkg == "main" && !strings.HasPrefix(f.path, "cmd/") &&
			!strings.HasPrefix(f.path, "functions/") && f.path != "infra/main.go",
			"%s is a command outside cmd/, functions/ and infra/main.go", f.path)
	}
}
