package trailguard_test

import (
	"os"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// TestMain stops the jsii runtime after the tests: jsii.Close ends its node process and removes the jsii-runtime.*
// folder (about 1.6 MB) it unpacked into the OS temp directory, which would otherwise stay there after every run.
func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}
