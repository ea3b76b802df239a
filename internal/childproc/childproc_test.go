package childproc_test

import (
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/childproc"
)

// A started child is waited for: Done closes when it exits, and Err says
// how; a command that cannot start is an error at once.
func TestStartAndWait(t *testing.T) {
	p, err := childproc.Start(exec.Command("sh", "-c", "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the child's exit was not seen")
	}
	var ee *exec.ExitError
	if err := p.Err(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Err() = %v, want exit status 3", err)
	}
	if _, err := childproc.Start(exec.Command("/nonexistent/program")); err == nil {
		t.Fatal("a missing program started")
	}
	sleep := exec.Command("sleep", "5")
	running, err := childproc.Start(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := running.Err(); err != nil {
		t.Errorf("Err() of a running child = %v, want nil", err)
	}
	sleep.Process.Kill() //nolint:errcheck // it is running
	<-running.Done()
}
