// Package childproc starts child processes that can die with their parent.
package childproc

import (
	"os/exec"
	"runtime"
)

// Process is a started child.
type Process struct {
	done chan struct{}
	err  error // set before done is closed
}

// Start starts cmd and waits for it from one goroutine that keeps its OS
// thread locked for the child's whole life: a parent-death signal
// (SysProcAttr.Pdeathsig on Linux, which the caller sets) fires when the
// thread that started the child exits, not when the process does, so the
// child must not outlive a thread the Go runtime may end at any time.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// Done is closed when the child has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the child exited (cmd.Wait's error); nil until Done is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}
