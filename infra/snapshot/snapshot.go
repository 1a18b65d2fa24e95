// Package snapshot pins synthesized CloudFormation templates in testdata/, so that every change to what
// `cdk deploy` would do shows up in review. `go test ./infra/... -update` rewrites the snapshots.
package snapshot

import (
	"bytes"
	"flag"
	"os"
)

var update = flag.Bool("update", false, "rewrite testdata/*.template.json from the synthesized templates")

// Match compares got with the snapshot at path, or rewrites the snapshot when the tests run with -update.
func Match(t T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no snapshot %s (%v): run `go test ./infra/... -update` and review the diff", path, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the synthesized template; if the change is intended, run "+
			"`go test ./infra/... -update` and review the diff", path)
	}
}

// T is the part of testing.TB that Match uses, declared here so that this non-test package does not import testing.
type T interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}
