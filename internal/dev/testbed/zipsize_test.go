package testbed_test

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// BenchmarkFunctionZipSize reports what `make build` produced for Lambda (linux/arm64): the zip's size, which
// drives cold-start download time, and the bootstrap's size inside it. Goal: each zip ≤ 3.5 MB.
func BenchmarkFunctionZipSize(b *testing.B) {
	root, err := testbed.ModuleRoot()
	require.NoError(b, err)
	for _, fn := range []string{"provider", "remediator"} {
		b.Run(fn, func(b *testing.B) {
			path := filepath.Join(root, "dist", fn+".zip")
			info, err := os.Stat(path)
			if err != nil {
				b.Skipf("%s missing: run `make build` (make bench does)", path)
			}
			var unzipped uint64
			for b.Loop() {
				r, err := zip.OpenReader(path)
				require.NoError(b, err)
				unzipped = 0
				for _, f := range r.File {
					unzipped += f.UncompressedSize64
				}
				r.Close()
			}
			b.ReportMetric(float64(info.Size()), "zip-bytes")
			b.ReportMetric(float64(unzipped), "bootstrap-bytes")
		})
	}
}
