package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPackIsWhatLambdaRunsAndIsReproducible(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	content := bytes.Repeat([]byte("not really an ELF binary "), 1000)
	require.NoError(t, os.WriteFile(bootstrap, content, 0o700))
	var zips [2][]byte
	for i := range zips {
		out := filepath.Join(dir, "fn.zip")
		require.NoError(t, pack(out, bootstrap))
		zips[i], _ = os.ReadFile(out)
	}
	assert.True(t, bytes.Equal(zips[0], zips[1]), "two packs of the same binary differ: the CDK asset hash would change on every build")
	r, err := zip.NewReader(bytes.NewReader(zips[0]), int64(len(zips[0])))
	require.NoError(t, err)
	require.True(t, len(r.File) == 1 && r.File[0].Name == "bootstrap", "zip holds %v, want exactly bootstrap", r.File)
	mode := r.File[0].Mode()
	assert.Equal(t, os.FileMode(0o755), mode.Perm(), "bootstrap mode %v: Lambda needs it executable by everyone", mode)
	rc, err := r.File[0].Open()
	require.NoError(t, err)
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	assert.True(t, bytes.Equal(got, content), "unpacked bootstrap differs from the original")
}

func TestPackNamesAMissingBinary(t *testing.T) {
	require.Error(t, pack(filepath.Join(t.TempDir(), "fn.zip"), "/nonexistent/bootstrap"), "want an error for a missing bootstrap")
}
