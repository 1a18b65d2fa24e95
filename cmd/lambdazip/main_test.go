package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestPackIsWhatLambdaRunsAndIsReproducible(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	content := bytes.Repeat([]byte("not really an ELF binary "), 1000)
	if err := os.WriteFile(bootstrap, content, 0o700); err != nil {
		t.Fatal(err)
	}
	var zips [2][]byte
	for i := range zips {
		out := filepath.Join(dir, "fn.zip")
		if err := pack(out, bootstrap); err != nil {
			t.Fatal(err)
		}
		zips[i], _ = os.ReadFile(out)
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Error("two packs of the same binary differ: the CDK asset hash would change on every build")
	}
	r, err := zip.NewReader(bytes.NewReader(zips[0]), int64(len(zips[0])))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.File) != 1 || r.File[0].Name != "bootstrap" {
		t.Fatalf("zip holds %v, want exactly bootstrap", r.File)
	}
	if mode := r.File[0].Mode(); mode.Perm() != 0o755 {
		t.Errorf("bootstrap mode %v: Lambda needs it executable by everyone", mode)
	}
	rc, err := r.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, content) {
		t.Error("unpacked bootstrap differs from the original")
	}
}

func TestPackNamesAMissingBinary(t *testing.T) {
	if err := pack(filepath.Join(t.TempDir(), "fn.zip"), "/nonexistent/bootstrap"); err == nil {
		t.Fatal("want an error for a missing bootstrap")
	}
}
