//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/devtools/cluster"
	"github.com/corkboard/corkboard/devtools/procstat"
)

// topology is what a run talks to: the base URLs of the server instances
// and, when loadgen started them, the processes, the database and NATS.
type topology struct {
	urls []string // http://127.0.0.1:port, one per instance
	pids []int    // server processes (empty with -targets)
	// setup is where accounts are signed up and boards seeded: an extra
	// instance stopped before anything is measured (hashing a password
	// takes 19 MiB of argon2id memory, which would blur the servers' RSS),
	// or the first target.
	setup string

	dir     string // temporary directory, removed by close
	logPath string // the servers' output
	dbURL   string
	cl      *cluster.Cluster
	admin   []string // admin endpoints (pprof, metrics) of the servers
	log     *slog.Logger
}

// targetsTopology uses servers that are already running.
func targetsTopology(targets []string, log *slog.Logger) *topology {
	t := &topology{log: log}
	for _, u := range targets {
		t.urls = append(t.urls, strings.TrimRight(u, "/"))
	}
	t.setup = t.urls[0]
	return t
}

// startTopology starts PostgreSQL (durable: fsync and synchronous_commit
// on), NATS (in this process: one node, or a 3-node cluster for several
// instances) and the server processes, all on 127.0.0.1 and with package
// cluster, the same starter as make cluster (without HAProxy: loadgen
// spreads its clients over the instances itself), with their files in a
// temporary directory. close stops everything and removes the directory;
// call it even when startTopology fails.
func startTopology(ctx context.Context, c Config, log *slog.Logger) (t *topology, err error) {
	t = &topology{log: log}
	removeStaleDirs(log)
	if t.dir, err = os.MkdirTemp("", tempPrefix); err != nil {
		return t, fmt.Errorf("temporary directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(t.dir, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return t, err
	}
	// PostgreSQL may run as the postgres OS user, which must traverse it.
	if err := os.Chmod(t.dir, 0o755); err != nil {
		return t, err
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(t.dir, &fs) == nil && fs.Type == tmpfsMagic {
		log.Warn("the temporary directory is on tmpfs, where fsync costs nothing: commits look faster than on a disk (set TMPDIR)", "dir", t.dir)
	}
	bin := c.ServerBin
	if bin == "" {
		log.Info("building the server")
		if bin, err = cluster.BuildServer(ctx, c.ServerSrc, t.dir); err != nil {
			return t, err
		}
	}
	t.logPath = filepath.Join(t.dir, "servers.log")
	logFile, err := os.Create(t.logPath)
	if err != nil {
		return t, err
	}
	defer logFile.Close() // the children have their own descriptors
	nodes := 1
	if c.Instances > 1 {
		nodes = 3
	}
	// One more instance than measured: the setup instance. No drain delay on
	// shutdown: nothing balances load here.
	t.cl, err = cluster.Start(ctx, cluster.Options{
		Server: []string{bin}, ServerEnv: append([]string{"DRAIN_DELAY=0s"}, c.ServerEnv...),
		Dir: t.dir, Instances: c.Instances + 1, NATSNodes: nodes, Output: logFile, Logger: log,
		// Commit times by logical decoding: commit -> delivered (commitLog).
		PostgresSettings: map[string]string{"wal_level": "logical"},
	})
	if err != nil {
		return t, fmt.Errorf("%w\n%s", err, strings.TrimSpace(procstat.Tail(t.logPath, 4096)))
	}
	t.dbURL = t.cl.DatabaseURL()
	ins := t.cl.Instances()
	for _, in := range ins[:c.Instances] {
		t.urls = append(t.urls, "http://"+in.Addr)
		t.pids = append(t.pids, in.Pid())
		t.admin = append(t.admin, "http://"+in.AdminAddr)
	}
	t.setup = "http://" + ins[c.Instances].Addr
	return t, nil
}

// stopSetup stops the setup instance (none with -targets).
func (t *topology) stopSetup() {
	if t.cl != nil {
		if err := t.cl.StopInstance(len(t.urls)); err != nil {
			t.log.Warn("stopping the setup instance", "err", err)
		}
	}
}

const tmpfsMagic = 0x01021994

const (
	tempPrefix = "corkboard-loadgen-"
	pidFile    = "loadgen.pid"
)

// removeStaleDirs removes the temporary directories of loadgen runs that
// were killed (their process is gone; the PostgreSQL and servers they
// started died with them).
func removeStaleDirs(log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, pidFile))
		if err != nil {
			// Killed before it wrote its pid, or made by an older loadgen.
			if fi, err := os.Stat(d); err != nil || time.Since(fi.ModTime()) < time.Hour {
				continue
			}
		} else if pid, err := strconv.Atoi(string(b)); err != nil || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // still running (or not ours to judge)
		}
		if err := os.RemoveAll(d); err == nil {
			log.Info("removed the directory of a killed run", "dir", d)
		}
	}
}

// exited returns the log of every measured server that has exited.
func (t *topology) exited() []string {
	if t.cl == nil {
		return nil
	}
	var out []string
	for _, in := range t.cl.Instances()[:len(t.urls)] {
		if done, err := in.Exited(); done {
			out = append(out, fmt.Sprintf("%s exited (%v); the servers' log ends:\n%s", in.Name, err, strings.TrimSpace(procstat.Tail(t.logPath, 2048))))
		}
	}
	return out
}

// close stops the servers, NATS and PostgreSQL, and removes the temporary
// directory.
func (t *topology) close() error {
	var errs []error
	if t.cl != nil {
		errs = append(errs, t.cl.Stop())
	}
	if t.dir != "" {
		errs = append(errs, os.RemoveAll(t.dir))
	}
	return errors.Join(errs...)
}
