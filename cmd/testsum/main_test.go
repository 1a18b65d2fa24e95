package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const stream = `{"Action":"run","Package":"p","Test":"TestOK"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"noise that passing tests print\n"}
{"Action":"pass","Package":"p","Test":"TestOK"}
{"Action":"output","Package":"p","Test":"TestBad","Output":"    x_test.go:9: want 1, got 2\n"}
{"Action":"fail","Package":"p","Test":"TestBad"}
{"Action":"output","Package":"p","Test":"TestAWS","Output":"    x_test.go:12: SKIP_AWS=1: no moto_server\n"}
{"Action":"skip","Package":"p","Test":"TestAWS"}
{"Action":"fail","Package":"p"}
{"Action":"pass","Package":"q"}
`

func TestSummarizeShowsOnlyFailuresAndCountsSkips(t *testing.T) {
	var out strings.Builder
	c, err := summarize(strings.NewReader(stream), &out)
	require.NoError(t, err)
	assert.Equal(t, 1, c.Passed)
	assert.Equal(t, 1, c.Failed)
	assert.Equal(t, 1, c.Skipped)
	assert.Equal(t, 1, c.FailedPackages)
	assert.Contains(t, out.String(), "--- FAIL: TestBad (p)\n    x_test.go:9: want 1, got 2")
	assert.NotContains(t, out.String(), "noise", "a passing test's output is not shown")
	assert.Equal(t, "FAILED: 1 tests failed, 1 packages failed; 1 tests passed, 1 SKIPPED (SKIP_AWS=1: no moto_server) in 2 packages", c.Line())
}

// A progress line as each package ends, naming those still running and counting cached results, so that a long
// stage is never silent; a passing test's output stays hidden.
func TestSummarizeReportsProgressAsPackagesEnd(t *testing.T) {
	in := `{"Action":"start","Package":"github.com/trailguard/trailguard/internal/a"}
{"Action":"start","Package":"github.com/trailguard/trailguard/internal/b"}
{"Action":"output","Package":"github.com/trailguard/trailguard/internal/a","Output":"ok  \tgithub.com/trailguard/trailguard/internal/a\t(cached)\n"}
{"Action":"pass","Package":"github.com/trailguard/trailguard/internal/a"}
{"Action":"pass","Package":"github.com/trailguard/trailguard/internal/b","Test":"TestX"}
{"Action":"output","Package":"github.com/trailguard/trailguard/internal/b","Output":"ok  \tgithub.com/trailguard/trailguard/internal/b\t3.1s\n"}
{"Action":"pass","Package":"github.com/trailguard/trailguard/internal/b"}
`
	var out strings.Builder
	c, err := summarize(strings.NewReader(in), &out)
	require.NoError(t, err)
	assert.Equal(t, "progress: 1 packages done (1 cached); running: internal/b\n"+
		"progress: 2 packages done (1 cached)\n", out.String())
	assert.Equal(t, "1 tests passed in 2 packages (1 from Go's test cache)", c.Line())
}
