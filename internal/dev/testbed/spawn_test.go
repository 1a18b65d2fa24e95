package testbed_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// helperEnv makes the test binary, run again as a child, start moto, print its pid and wait to be killed.
const helperEnv = "TESTBED_HELPER_LAUNCH_MOTO"

func helperLaunchMoto() {
	s, err := testbed.Launch(context.Background())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	// Retire threads, as the runtime may: a child must die with the process, not with the thread that happened to
	// start it (a goroutine that exits while locked to its thread ends that thread).
	for range 20 {
		go func() { runtime.LockOSThread() }()
	}
	fmt.Println("moto", s.PIDs()[0])
	select {}
}

// A SIGKILL of the process that started moto, which runs no cleanup, must still end moto.
func TestMotoDiesWithItsParent(t *testing.T) {
	testbed.NeedMoto(t)
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux-only")
	}
	// The helper gets a TMPDIR of its own, which must be empty after it was killed: it ran no cleanup.
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	pidText, ok := strings.CutPrefix(strings.TrimSpace(line), "moto ")
	require.True(t, ok, "the helper said %q", line)
	pid, err := strconv.Atoi(pidText)
	require.NoError(t, err)
	require.True(t, alive(pid), "moto runs while its parent does")

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	outlived := alive(pid)
	if outlived {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	require.False(t, outlived, "moto (pid %d) outlived its SIGKILLed parent by 30 s", pid)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "a killed helper leaves nothing in its TMPDIR")
}

// alive says whether pid is a running process (a zombie waiting for its reaper counts as dead).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z") && !strings.HasPrefix(after, "X")
}
