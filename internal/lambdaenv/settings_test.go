package lambdaenv_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// TestSettingsListsEveryVariable keeps Settings in step with the constants: a setting added to the const block but
// not to Settings would be dropped silently by `make invoke TARGET=aws`.
func TestSettingsListsEveryVariable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "lambdaenv.go", nil, 0)
	require.NoError(t, err)
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, _ := strconv.Unquote(lit.Value); strings.HasPrefix(v, "TRAILGUARD_") {
				declared = append(declared, v)
			}
		}
		return true
	})
	require.GreaterOrEqual(t, len(declared), 10,
		"found only %d TRAILGUARD_ names in lambdaenv.go: the parse is wrong", len(declared))
	want := slices.Clone(lambdaenv.Settings)
	want = append(want, lambdaenv.LocalRun)
	slices.Sort(want)
	slices.Sort(declared)
	assert.True(t, slices.Equal(want, declared),
		"Settings plus LocalRun = %v\nlambdaenv.go declares %v", want, declared)
}
