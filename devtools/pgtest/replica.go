package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/corkboard/corkboard/internal/pglocal"
)

// Replicated is a private PostgreSQL primary with a streaming replica of it,
// for tests of reads routed to a replica, of a replica that stops, and of
// backups. Unlike NewDatabase's shared server, each Replicated is a cluster
// of its own (a replica copies a whole cluster).
type Replicated struct {
	Primary, Replica *pglocal.Server
	DB               string // the migrated database, on both
	Dir              string // a scratch directory removed when the test ends (backups go here)
}

// NewReplicated starts a primary (fsync off), creates database "corkboard"
// on it, migrates it with migrate (nil: empty), and starts a replica made
// with pg_basebackup. Both are stopped and their data removed when t ends.
// It fails t, with what to install, when PostgreSQL is missing.
func NewReplicated(t testing.TB, migrate func(ctx context.Context, url string) error) *Replicated {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgtest-replicated-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres OS user traverses it
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	r := &Replicated{DB: "corkboard", Dir: dir}
	if r.Primary, err = pglocal.Start(ctx, pglocal.Options{Dir: filepath.Join(dir, "primary"), Fast: true}); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { stop(t, r.Primary) })
	if err := r.Primary.CreateDatabase(ctx, r.DB); err != nil {
		t.Fatal(err)
	}
	if migrate != nil {
		if err := migrate(ctx, r.PrimaryURL()); err != nil {
			t.Fatalf("pgtest: migrate: %v", err)
		}
	}
	if r.Replica, err = r.Primary.StartReplica(ctx, pglocal.Options{Dir: filepath.Join(dir, "replica"), Fast: true}); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { stop(t, r.Replica) })
	return r
}

func stop(t testing.TB, s *pglocal.Server) {
	if err := s.Stop(); err != nil {
		t.Errorf("pgtest: %v", err)
	}
}

// PrimaryURL is the URL of the database on the primary.
func (r *Replicated) PrimaryURL() string { return r.Primary.URL(r.DB) }

// ReplicaURL is the URL of the database on the replica.
func (r *Replicated) ReplicaURL() string { return r.Replica.URL(r.DB) }

// WaitReplay waits until the replica has replayed everything the primary
// wrote before the call.
func (r *Replicated) WaitReplay(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), adminTimeout)
	defer cancel()
	if err := r.Primary.WaitReplay(ctx, r.Replica); err != nil {
		t.Fatal(err)
	}
}
