package pglocal

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// BackupOptions configure BaseBackup.
type BackupOptions struct {
	// Dir receives the backup: a data directory that Start can run. It must
	// be empty or missing. Required.
	Dir string
	// Standby makes the copy a streaming replica of s (pg_basebackup -R:
	// standby.signal and primary_conninfo), replicating through the
	// physical replication slot Slot, which is created on s (and replaced
	// when an inactive one of that name is left over).
	Standby bool
	Slot    string
}

// BaseBackup copies the whole cluster into o.Dir with pg_basebackup, with the
// WAL needed to make the copy consistent streamed alongside (-X stream), as
// the OS user the server runs as. The cluster goes on serving while the
// backup runs; the copy is of the moment the backup ends. Start on o.Dir
// runs it: as a primary of its own (a restore), or with Standby as a
// streaming replica of s.
func (s *Server) BaseBackup(ctx context.Context, o BackupOptions) error {
	if o.Dir == "" {
		return errors.New("pglocal: BackupOptions.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("pglocal: backup directory: %w", err)
	}
	bin, err := findBinDir("", s.dir)
	if err != nil {
		return err
	}
	runAs, err := lookupRunAs()
	if err != nil {
		return err
	}
	initialized, err := prepareDir(dir, runAs)
	if err != nil {
		return err
	}
	if initialized {
		return fmt.Errorf("pglocal: %s already holds a cluster: a base backup needs an empty directory", dir)
	}
	args := []string{"-d", fmt.Sprintf("host=127.0.0.1 port=%d user=%s", s.port, Superuser),
		"-D", dir, "-X", "stream", "--checkpoint=fast", "--no-password"}
	if o.Standby {
		if o.Slot == "" {
			return errors.New("pglocal: a standby needs a replication slot name")
		}
		if err := s.dropInactiveSlot(ctx, o.Slot); err != nil {
			return err
		}
		args = append(args, "-R", "-C", "-S", o.Slot)
	}
	log := &tailWriter{max: 8 << 10}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_basebackup"), args...)
	cmd.Dir = dir
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr(runAs.cred(), syscall.SIGTERM)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pglocal: pg_basebackup of %s into %s: %w\noutput:\n%s", s.dir, dir, err, log.String())
	}
	return nil
}

// dropInactiveSlot drops a replication slot of that name that no replica
// uses: one left over from a replica whose data directory was removed.
func (s *Server) dropInactiveSlot(ctx context.Context, slot string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: replication slot %s: %w", slot, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name = $1 AND NOT active`, slot)
	if err != nil {
		return fmt.Errorf("pglocal: drop the stale replication slot %s: %w", slot, err)
	}
	return nil
}

// StartReplica starts a streaming replica of s (a hot standby: read-only
// queries, WAL replayed as the primary writes it) on o.Dir. When o.Dir holds
// no cluster yet it is made with pg_basebackup from s, replicating through a
// physical replication slot named after the directory (ReplicaSlot), so the
// primary keeps the WAL a stopped replica still needs; an existing replica
// directory is started as it is and catches up. o is as for Start (Port,
// Fast, Settings, Log; BinDir is ignored: the primary's binaries are used).
//
// A replica's slot holds WAL on the primary for as long as it exists: drop it
// (SELECT pg_drop_replication_slot('…')) when a replica is removed for good.
func (s *Server) StartReplica(ctx context.Context, o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("pglocal: Options.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: replica directory: %w", err)
	}
	runAs, err := lookupRunAs()
	if err != nil {
		return nil, err
	}
	initialized, err := prepareDir(dir, runAs)
	if err != nil {
		return nil, err
	}
	if !initialized {
		if err := s.BaseBackup(ctx, BackupOptions{Dir: dir, Standby: true, Slot: ReplicaSlot(dir)}); err != nil {
			return nil, err
		}
	}
	o.Dir = dir
	bin, err := findBinDir("", s.dir)
	if err != nil {
		return nil, err
	}
	o.BinDir = bin
	return Start(ctx, o)
}

// ReplicaSlot is the name of the replication slot of the replica whose data
// directory is dir (an absolute path).
func ReplicaSlot(dir string) string {
	h := fnv.New32a()
	h.Write([]byte(dir)) //nolint:errcheck // never fails
	return "corkboard_replica_" + strconv.FormatUint(uint64(h.Sum32()), 16)
}

// WaitReplay waits until replica has replayed everything s had written when
// WaitReplay was called (its WAL insert position, which covers commits not
// yet flushed with synchronous_commit off), polling every 10ms, or
// until ctx ends.
func (s *Server) WaitReplay(ctx context.Context, replica *Server) error {
	pc, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: wait for replay: %w", err)
	}
	defer pc.Close(context.WithoutCancel(ctx))
	var lsn string
	if err := pc.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn); err != nil {
		return fmt.Errorf("pglocal: wait for replay: %w", err)
	}
	rc, err := pgx.Connect(ctx, replica.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: wait for replay: %w", err)
	}
	defer rc.Close(context.WithoutCancel(ctx))
	for {
		var done bool
		err := rc.QueryRow(ctx, `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`, lsn).Scan(&done)
		if err != nil {
			return fmt.Errorf("pglocal: wait for replay: %w", err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pglocal: replica has not replayed up to %s: %w", lsn, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
