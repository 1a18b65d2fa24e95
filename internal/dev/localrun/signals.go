package localrun

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Interruptible returns a context that ends on Ctrl-C, SIGTERM or SIGHUP, or when the process that started this one
// goes away (`go run` may exit on SIGTERM without passing it on), so that a local run always gets to stop moto and
// the functions it started. Call stop when done.
func Interruptible(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ppid := os.Getppid()
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case sig := <-sigs:
				cancel(fmt.Errorf("%v received", sig))
				return
			case <-tick.C:
				if os.Getppid() != ppid {
					cancel(fmt.Errorf("the parent process %d went away", ppid))
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel(context.Canceled)
	}
}
