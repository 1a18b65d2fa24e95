//go:build !linux

package testbed

import "os/exec"

// dieWithParent has no kernel support outside Linux: there, Stop and Close are what end the children.
func dieWithParent(*exec.Cmd) {}
