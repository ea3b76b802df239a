package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/store"
)

// TestStartUndoesWhatItStarted: when a late step fails (the address is
// taken), Start lets go of everything it had started: the admin listener's
// port is free again and no connection to the database is left.
func TestStartUndoesWhatItStarted(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	_, natsURL := natsCluster(t, 1)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminAddr := free.Addr().String()
	free.Close()

	cfg := testConfig(dbURL, natsURL)
	cfg.Addr, cfg.AdminAddr = taken.Addr().String(), adminAddr
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	a, err := Start(ctx, cfg, testLogger())
	if err == nil {
		a.Close() //nolint:errcheck // the test failed already
		t.Fatal("Start succeeded on a taken address")
	}
	if !strings.Contains(err.Error(), "listen on "+cfg.Addr) {
		t.Errorf("Start: %v, want the listen error", err)
	}

	if l, err := net.Listen("tcp", adminAddr); err != nil {
		t.Errorf("the admin port is still held: %v", err)
	} else {
		l.Close()
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	waitFor(t, 5*time.Second, "no database connection left", func() bool {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
		return err == nil && n == 0
	})
}
