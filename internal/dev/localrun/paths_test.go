package localrun_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/trailguard/trailguard/internal/dev/localrun"
)

// A printed path must not depend on how deep the checkout or the temp directory is.
func TestShowPathFitsWhereverItRuns(t *testing.T) {
	deep := filepath.Join(t.TempDir(), strings.Repeat("a-long-folder/", 8))
	t.Setenv("TMPDIR", deep)
	assert.Equal(t, filepath.Join("$TMPDIR", "x", "remediator.log"), localrun.ShowPath(filepath.Join(deep, "x", "remediator.log")))

	wd, err := os.Getwd()
	assert.NoError(t, err)
	assert.Equal(t, filepath.Join("dist", "invoke", "remediator.log"), localrun.ShowPath(filepath.Join(wd, "dist", "invoke", "remediator.log")),
		"inside the working directory: relative, as make prints it from the checkout")

	long := "/" + strings.Repeat("checkout/", 12) + "dist/invoke/remediator.log"
	got := localrun.ShowPath(long)
	assert.LessOrEqual(t, utf8.RuneCountInString(got), localrun.PathWidth, got)
	assert.True(t, strings.HasPrefix(got, "/checkout/…/"), got)
	assert.True(t, strings.HasSuffix(got, "/dist/invoke/remediator.log"), "the file's name and its folders stay: %s", got)

	name := "/tmp/" + strings.Repeat("n", 100) + ".log"
	got = localrun.ShowPath(name)
	assert.Equal(t, localrun.PathWidth, utf8.RuneCountInString(got), got)
	assert.True(t, strings.HasSuffix(got, "nnn.log"), got)
	assert.Equal(t, "/tmp/short.log", localrun.ShowPath("/tmp/short.log"))
}
