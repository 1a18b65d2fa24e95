package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestSummaryIsTheGoalsTableInShortLines(t *testing.T) {
	report := []byte("# trailguard benchmarks\n\n## Goals\n\n| goal | target | measured | result |\n|---|---|---|---|\n" +
		"| provider zip size | ≤ 3.5 MB (3500000 bytes) | 3491911 bytes | met |\n" +
		"| remediator zip size | ≤ 3.5 MB (3500000 bytes) | 3529922 bytes | **missed** |\n" +
		"| sweep of 5 drifted trails: handler time at 25 ms per call | < 200 ms | " + strings.Repeat("x", 120) + " | met |\n" +
		"\n## Package size\n\n| function | zip | bootstrap (unzipped) |\n| a | b | c |\n")
	got := summary(report)
	assert.Equal(t, []string{
		"MET   provider zip size: 3491911 bytes (goal ≤ 3.5 MB (3500000 bytes))",
		"MISSED remediator zip size: 3529922 bytes (goal ≤ 3.5 MB (3500000 bytes))",
	}, got[:2])
	assert.Len(t, got, 3, "only the goals table")
	for _, l := range got {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), width, l)
	}
}

func TestProgressLinesAreShortAndNotJSON(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(newLineHandler(&out))
	log.Info("step", "name", "cold start")
	log.Info("step done", "name", "burst", "took", strings.Repeat("9", 200))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Equal(t, "bench: step cold start", lines[0])
	assert.LessOrEqual(t, utf8.RuneCountInString(lines[1]), width)
	assert.NotContains(t, out.String(), "{")
}
