package testbed

import (
	"os/exec"
	"runtime"
	"sync"
)

// The child processes the test bed starts (moto_server, the bootstraps) must not outlive the process that started
// them, even when it is killed with SIGKILL and runs no cleanup. On Linux the kernel signals such a child when its
// parent dies (Pdeathsig), but "parent" means the OS thread that forked it: a child started from an arbitrary
// goroutine would be killed whenever the Go runtime retires that thread. So every child is started from one
// goroutine locked to its thread for the life of the process.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// startChild starts cmd so that it dies with this process (on Linux; elsewhere it is a plain cmd.Start).
func startChild(cmd *exec.Cmd) error {
	dieWithParent(cmd)
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked, and the goroutine never returns: the thread lives as long as we do
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}
