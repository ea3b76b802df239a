package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunWithLocalPostgres is what `make run` does: start with a private
// PostgreSQL in a data directory, serve, stop on cancel (taking PostgreSQL
// down too), and start again on the same data, which is still there.
func TestRunWithLocalPostgres(t *testing.T) {
	dir, err := os.MkdirTemp("", "corkboard-run-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) //nolint:errcheck // the postgres user must traverse it
	t.Cleanup(func() { os.RemoveAll(dir) })
	dataDir := filepath.Join(dir, "pg")
	getenv := env(map[string]string{"LOG_LEVEL": "warn", "ADMIN_ADDR": "off", "DRAIN_DELAY": "0"})

	run := func(work func(base string)) {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, []string{"-local-postgres", dataDir, "-local-postgres-port", "0", "-addr", "127.0.0.1:0"},
				getenv, pw, io.Discard)
			pw.Close()
		}()
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err != nil {
			t.Fatalf("no start-up line: %v (%v)", err, <-done)
		}
		base := strings.TrimSpace(strings.TrimPrefix(line, "corkboard listening on "))
		go io.Copy(io.Discard, pr) //nolint:errcheck // drain
		work(base)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); !os.IsNotExist(err) {
			t.Fatalf("PostgreSQL still running after Run returned (postmaster.pid: %v)", err)
		}
	}
	var boardID string
	var alice *api
	run(func(base string) {
		alice = signup(t, base, "alice")
		boardID, _ = alice.newBoard("kept")
	})
	run(func(base string) {
		c := *alice // the session outlives the restart
		c.base = base
		if s := c.snapshot(boardID); s.Board.Name != "kept" || len(s.Columns) != 1 {
			t.Fatalf("after a restart: %+v", s)
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", resp, err)
		}
		resp.Body.Close()
	})
}
