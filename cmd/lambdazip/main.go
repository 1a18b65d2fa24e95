// Command lambdazip packs a bootstrap binary into the zip Lambda's provided runtimes expect: one file named
// bootstrap, executable, with a fixed timestamp and mode so the same binary always gives the same zip (and the same
// CDK asset hash). `make build` always uses it rather than the zip command, whose bytes depend on its version and
// the umask: with the pinned Go toolchain, the same commit gives the same zip on every machine.
//
//	go run ./cmd/lambdazip -o dist/provider.zip dist/provider/bootstrap
package main

import (
	"archive/zip"
	"compress/flate"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	out := flag.String("o", "", "the zip to write")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: lambdazip -o function.zip path/to/bootstrap")
		os.Exit(2)
	}
	if err := pack(*out, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

// epoch is the zip format's earliest time, used for every entry.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func pack(out, bootstrap string) (err error) {
	in, err := os.Open(bootstrap)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := zip.NewWriter(f)
	w.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: epoch}
	h.SetMode(0o755)
	entry, err := w.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(entry, in); err != nil {
		return fmt.Errorf("pack %s: %w", bootstrap, err)
	}
	return w.Close()
}
