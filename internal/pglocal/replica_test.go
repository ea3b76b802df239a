package pglocal

import (
	"context"
	"fmt"
	"os"
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

// Point-in-time recovery as docs/operations.md describes it: a base backup,
// WAL archived by archive_command, and a restore with restore_command and
// recovery_target_time that stops between two commits.
func TestPointInTimeRecovery(t *testing.T) {
	root := tempDir(t)
	archive := filepath.Join(root, "wal")
	if err := os.Mkdir(archive, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(archive, 0o777); err != nil { // the postgres OS user writes it
		t.Fatal(err)
	}
	primary := startServer(t, Options{Dir: filepath.Join(root, "primary"), Fast: true, Settings: map[string]string{
		"archive_mode": "on", "archive_command": "test ! -f " + archive + "/%f && cp %p " + archive + "/%f",
	}})
	pc := connect(t, primary.URL("postgres"))
	exec := func(sql string) {
		t.Helper()
		if _, err := pc.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE t (n int); INSERT INTO t VALUES (1)`)
	base := filepath.Join(root, "base")
	if err := primary.BaseBackup(t.Context(), BackupOptions{Dir: base}); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO t VALUES (2)`)
	var target string
	if err := pc.QueryRow(t.Context(), `SELECT clock_timestamp()::text`).Scan(&target); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO t VALUES (4)`)
	var segment string
	if err := pc.QueryRow(t.Context(), `SELECT pg_walfile_name(pg_switch_wal())`).Scan(&segment); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(archive, segment)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL segment %s not archived", segment)
		}
		time.Sleep(20 * time.Millisecond)
	}

	conf, err := os.OpenFile(filepath.Join(base, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conf, "restore_command = 'cp %s/%%f %%p'\nrecovery_target_time = '%s'\nrecovery_target_action = 'promote'\n", archive, target)
	if err := conf.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "recovery.signal"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := startServer(t, Options{Dir: base, Fast: true})
	rc := connect(t, restored.URL("postgres"))
	var sum int
	var recovering bool
	deadline = time.Now().Add(30 * time.Second)
	for {
		if err := rc.QueryRow(t.Context(), `SELECT pg_is_in_recovery()`).Scan(&recovering); err != nil {
			t.Fatal(err)
		}
		if !recovering {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restored cluster is still in recovery")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := rc.QueryRow(t.Context(), `SELECT sum(n) FROM t`).Scan(&sum); err != nil || sum != 3 {
		t.Fatalf("sum after recovery to %s = %d, %v; want 3 (the row committed after the target is not there)", target, sum, err)
	}
	if _, err := rc.Exec(t.Context(), `INSERT INTO t VALUES (8)`); err != nil {
		t.Fatalf("the recovered cluster takes no writes: %v", err)
	}
}
