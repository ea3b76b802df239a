package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/internal/childproc"
)

// process is a child process, started with childproc so that the kernel's
// parent-death signal (see sysProcAttr) follows this process.
type process struct {
	cmd *exec.Cmd
	*childproc.Process
}

// startProcess starts cmd in its own process group, killed if this process
// dies.
func startProcess(cmd *exec.Cmd) (*process, error) {
	cmd.SysProcAttr = sysProcAttr()
	p, err := childproc.Start(cmd)
	if err != nil {
		return nil, err
	}
	return &process{cmd: cmd, Process: p}, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.Done():
		return true, p.Err()
	default:
		return false, nil
	}
}

// stop sends SIGTERM and waits for the exit, with SIGKILL after timeout.
// It returns the process's error when it did not exit cleanly.
func (p *process) stop(name string, timeout time.Duration) error {
	if done, err := p.exited(); done {
		return err
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have just exited
	select {
	case <-p.Done():
		return p.Err()
	case <-time.After(timeout):
		p.cmd.Process.Kill() //nolint:errcheck // it may have just exited
		<-p.Done()
		return fmt.Errorf("%s did not stop within %s and was killed", name, timeout)
	}
}

// prefixer writes each process's output line by line, prefixed with its
// name, as docker compose does.
type prefixer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *prefixer) named(name string) io.Writer {
	return &lineWriter{p: p, prefix: fmt.Sprintf("%-9s | ", name)}
}

type lineWriter struct {
	p      *prefixer
	prefix string
	buf    bytes.Buffer
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.buf.Write(b)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil { // no full line yet: keep it
			rest := append([]byte(nil), line...)
			l.buf.Reset()
			l.buf.Write(rest)
			return len(b), nil
		}
		l.p.mu.Lock()
		bw := bufio.NewWriter(l.p.w)
		bw.WriteString(l.prefix) //nolint:errcheck // flushed below
		bw.Write(line)           //nolint:errcheck // flushed below
		bw.Flush()               //nolint:errcheck // output is best effort
		l.p.mu.Unlock()
	}
}
