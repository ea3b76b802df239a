//go:build linux

package procstat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	log := strings.Repeat("early line\n", 50) + "last line: it failed\n"
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := Tail(path, 21); got != "last line: it failed\n" {
		t.Errorf("Tail(21) = %q", got)
	}
	if got := Tail(path, int64(len(log))+100); got != log {
		t.Errorf("Tail of more than the file = %d bytes, want the whole file (%d)", len(got), len(log))
	}
	if got := Tail(filepath.Join(t.TempDir(), "missing.log"), 100); got != "" {
		t.Errorf("Tail of a missing file = %q", got)
	}
}
