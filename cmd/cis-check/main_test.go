package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/cischeck"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// make cis-check: on moto, trailguard's pack passes every control, as JSON and as a table.
func TestCISCheckOnMotoPassesEveryControl(t *testing.T) {
	testbed.NeedMoto(t)
	var out, errs bytes.Buffer
	code := run([]string{"-json", "-set", "cis-v5"}, &out, &errs, func(string) string { return "" })
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", errs.String(), out.String())
	_, body, _ := bytes.Cut(out.Bytes(), []byte("\n\n"))
	var results []cischeck.Result
	require.NoError(t, json.Unmarshal(body, &results))
	assert.Len(t, results, 2+16)
	for _, r := range results {
		assert.Equal(t, cischeck.Passed, r.Status, "%s: %s", r.Control, r.Reason)
	}
}

func TestCISCheckRefusesWhatItCannotDo(t *testing.T) {
	var out, errs bytes.Buffer
	assert.Equal(t, 2, run([]string{"-set", "cis-v9"}, &out, &errs, func(string) string { return "" }))
	assert.Contains(t, errs.String(), "-set")
	errs.Reset()
	assert.Equal(t, 2, run([]string{"-target", "aws"}, &out, &errs, func(string) string { return "" }))
	assert.Contains(t, errs.String(), "AWS_REGION")
}
