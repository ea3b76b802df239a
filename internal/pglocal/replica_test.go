package pglocal

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A replica made by StartReplica serves what the primary wrote, refuses
// writes, and a base backup started as a cluster of its own has the data
// and takes writes.
func TestReplicaAndBaseBackup(t *testing.T) {
	root := tempDir(t)
	primary := startServer(t, Options{Dir: filepath.Join(root, "primary"), Fast: true})
	pc := connect(t, primary.URL("postgres"))
	if _, err := pc.Exec(t.Context(), `CREATE TABLE t (n int); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}

	replica, err := primary.StartReplica(t.Context(), Options{Dir: filepath.Join(root, "replica"), Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := replica.Stop(); err != nil {
			t.Error(err)
		}
	})
	if _, err := pc.Exec(t.Context(), `INSERT INTO t VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := primary.WaitReplay(ctx, replica); err != nil {
		t.Fatal(err)
	}
	rc := connect(t, replica.URL("postgres"))
	var sum int
	if err := rc.QueryRow(t.Context(), `SELECT sum(n) FROM t`).Scan(&sum); err != nil || sum != 3 {
		t.Fatalf("sum on the replica = %d, %v; want 3", sum, err)
	}
	if _, err := rc.Exec(t.Context(), `INSERT INTO t VALUES (3)`); err == nil {
		t.Error("the replica took a write")
	}
	var slots int
	if err := pc.QueryRow(t.Context(), `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1 AND active`,
		ReplicaSlot(replica.Dir())).Scan(&slots); err != nil || slots != 1 {
		t.Errorf("active slots named %s: %d, %v; want 1", ReplicaSlot(replica.Dir()), slots, err)
	}

	backup := filepath.Join(root, "backup")
	if err := primary.BaseBackup(t.Context(), BackupOptions{Dir: backup}); err != nil {
		t.Fatal(err)
	}
	if err := primary.BaseBackup(t.Context(), BackupOptions{Dir: backup}); err == nil {
		t.Error("a second backup into the same directory succeeded")
	}
	restored := startServer(t, Options{Dir: backup, Fast: true})
	xc := connect(t, restored.URL("postgres"))
	if _, err := xc.Exec(t.Context(), `INSERT INTO t VALUES (4)`); err != nil {
		t.Fatal(err)
	}
	if err := xc.QueryRow(t.Context(), `SELECT sum(n) FROM t`).Scan(&sum); err != nil || sum != 7 {
		t.Fatalf("sum on the restored cluster = %d, %v; want 7", sum, err)
	}
}
