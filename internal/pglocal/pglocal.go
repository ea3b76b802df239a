// Package pglocal runs a private PostgreSQL cluster as a child process.
//
// It is meant for development (`make run` keeps a persistent cluster under
// ./.data/pg) and for tests (a throwaway cluster in a temporary directory, see
// package pgtest). It is not a production process supervisor.
//
// The server listens on 127.0.0.1 only (no Unix socket), trusts every
// connection and has a single superuser, "postgres". PostgreSQL refuses to run
// as root, so when the calling process is root the binaries run as the OS user
// "postgres"; otherwise they run as the calling user.
//
// The server is a direct child of the calling process, in its own process
// group (a Ctrl-C at the terminal does not reach it, so the caller can shut
// down in order and then call Stop). On Linux the kernel sends it SIGINT (fast
// shutdown) if the calling process dies without calling Stop.
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corkboard/corkboard/internal/childproc"
)

// Superuser is the name of the cluster's only role, created by initdb.
const Superuser = "postgres"

// Timeouts for starting and stopping the server.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// Options configure Start.
type Options struct {
	// Dir is the data directory. It is created (with initdb) if it does not
	// hold a cluster yet, and reused otherwise. Required.
	Dir string
	// Port is the TCP port on 127.0.0.1. 0 picks a free one.
	Port int
	// BinDir holds initdb and postgres. Empty means: $PG_BINDIR, else the
	// Debian directory matching Dir's PG_VERSION, else
	// /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/*/bin,
	// else `pg_config --bindir`, else the directory of postgres in $PATH.
	BinDir string
	// Fast trades durability for speed (fsync, synchronous_commit and
	// full_page_writes off, initdb --no-sync): for throwaway test clusters.
	Fast bool
	// Settings are extra server settings, passed as -c name=value. They
	// override the defaults set by this package.
	Settings map[string]string
	// Log receives the output of initdb and of the server. Nil discards it.
	// Write errors are ignored. The last lines are kept regardless and
	// quoted in errors.
	Log io.Writer
}

// Server is a running PostgreSQL cluster started by Start. Its methods are
// safe for concurrent use.
type Server struct {
	dir  string
	bin  string
	port int
	cmd  *exec.Cmd
	log  *tailWriter

	proc *childproc.Process

	stopOnce sync.Once
	stopErr  error
}

// Start starts a server on o.Dir, running initdb first if the directory does
// not hold a cluster yet, and returns once the server accepts connections
// (at most 30 seconds; ctx can cut that short). ctx bounds the start-up only:
// the server runs until Stop is called or the calling process exits.
//
// Errors name what to do: a missing installation, a data directory the
// postgres OS user cannot reach, a port in use, or the tail of the server's
// log when it fails to come up.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("pglocal: Options.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: data directory: %w", err)
	}
	bin, err := findBinDir(o.BinDir, dir)
	if err != nil {
		return nil, err
	}
	runAs, err := lookupRunAs()
	if err != nil {
		return nil, err
	}
	if o.Port != 0 {
		if err := checkPortFree(o.Port); err != nil {
			return nil, err // before a slow initdb
		}
	}
	log := &tailWriter{out: o.Log, max: 8 << 10}

	initialized, err := prepareDir(dir, runAs)
	if err != nil {
		return nil, err
	}
	if !initialized {
		if err := initdb(ctx, bin, dir, o.Fast, runAs, log); err != nil {
			return nil, err
		}
	}
	if err := checkLockFile(dir); err != nil {
		return nil, err
	}

	// With Port 0 another process may take the port between our probe and
	// the server's bind: try again with a new port a few times.
	for attempt := 1; ; attempt++ {
		port := o.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		} else if err := checkPortFree(port); err != nil {
			return nil, err
		}
		s, err := start(ctx, bin, dir, port, o, runAs, log)
		if errors.Is(err, errPortInUse) && o.Port == 0 && attempt < 3 {
			continue
		}
		return s, err
	}
}

var errPortInUse = errors.New("address already in use")

func start(ctx context.Context, bin, dir string, port int, o Options, runAs *runAs, log *tailWriter) (*Server, error) {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": "", // TCP only: no socket or lock file in /var/run or /tmp
		"max_connections":         "200",
	}
	if o.Fast {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	args := []string{"-D", dir, "-p", strconv.Itoa(port)}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}

	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = dir
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr(runAs.cred(), syscall.SIGINT)
	s := &Server{dir: dir, bin: bin, port: port, cmd: cmd, log: log}
	logStart := log.offset()

	// Pdeathsig fires when the OS thread that started the child exits, not
	// the process: childproc keeps that thread for the server's lifetime.
	proc, err := childproc.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("pglocal: start %s: %w", cmd.Path, err)
	}
	s.proc = proc

	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		if strings.Contains(log.since(logStart), "could not create any TCP/IP sockets") {
			return nil, fmt.Errorf("pglocal: port %d on 127.0.0.1: %w: stop what listens there or choose another port", port, errPortInUse)
		}
		return nil, fmt.Errorf("pglocal: server on %s did not start: %w\nserver log:\n%s", dir, err, log.String())
	}
	return s, nil
}

// waitReady polls until the server accepts a connection, the process exits,
// or the start timeout or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, s.URL("postgres"))
		ccancel()
		if err == nil {
			return conn.Close(ctx)
		}
		lastErr = err
		select {
		case <-s.proc.Done():
			return fmt.Errorf("postgres exited: %w", s.proc.Err())
		case <-ctx.Done():
			return fmt.Errorf("not accepting connections after %s (%w): last error: %w", startTimeout, ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// URL returns the connection URL of database db as the superuser.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.port, url.PathEscape(db))
}

// Bin returns the path of the PostgreSQL program name (pg_dump,
// pg_restore, psql…) of the installation the server runs from.
func (s *Server) Bin(name string) string { return filepath.Join(s.bin, name) }

// Port returns the TCP port the server listens on, on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Dir returns the absolute path of the data directory.
func (s *Server) Dir() string { return s.dir }

// Done is closed when the server process has exited, whether through Stop
// or not.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// CreateDatabase creates database name, owned by the superuser. It is not an
// error if the database already exists.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down: SIGINT (fast shutdown: open sessions are
// rolled back and closed), then SIGKILL if it has not exited within 10
// seconds. It returns nil if the server exited cleanly. Calling Stop again
// returns the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.proc.Done():
		default:
			_ = s.cmd.Process.Signal(os.Interrupt)
			select {
			case <-s.proc.Done():
			case <-time.After(stopTimeout):
				_ = s.cmd.Process.Kill()
				<-s.proc.Done()
				s.stopErr = fmt.Errorf("pglocal: server on %s did not stop within %s and was killed", s.dir, stopTimeout)
				return
			}
		}
		if s.proc.Err() != nil {
			s.stopErr = fmt.Errorf("pglocal: server on %s exited: %w\nserver log:\n%s", s.dir, s.proc.Err(), s.log.String())
		}
	})
	return s.stopErr
}

// runAs is the OS user the PostgreSQL binaries run as.
type runAs struct {
	name     string
	uid, gid uint32
	groups   []uint32
	switched bool // we are root and run the binaries as another user
}

func (r *runAs) cred() *syscall.Credential {
	if !r.switched {
		return nil
	}
	return &syscall.Credential{Uid: r.uid, Gid: r.gid, Groups: r.groups}
}

// canTraverse reports whether the user may search (x) a directory.
func (r *runAs) canTraverse(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true // cannot tell: let the server report it
	}
	mode := fi.Mode().Perm()
	switch {
	case r.uid == 0:
		return true
	case st.Uid == r.uid:
		return mode&0o100 != 0
	case st.Gid == r.gid || slices.Contains(r.groups, st.Gid):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

func lookupRunAs() (*runAs, error) {
	if os.Geteuid() != 0 {
		r := &runAs{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}
		if u, err := user.Current(); err == nil {
			r.name = u.Username
		}
		gs, _ := os.Getgroups()
		for _, g := range gs {
			r.groups = append(r.groups, uint32(g))
		}
		return r, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pglocal: PostgreSQL refuses to run as root and there is no OS user postgres to run it as (%w): install the server with `apt-get install postgresql`, which creates the user, or run as a non-root user", err)
	}
	r := &runAs{name: u.Username, switched: true}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pglocal: OS user postgres: %w", err)
	}
	r.uid, r.gid = uint32(uid), uint32(gid)
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("pglocal: groups of OS user postgres: %w", err)
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			r.groups = append(r.groups, uint32(n))
		}
	}
	return r, nil
}

// prepareDir creates dir if needed, checks that the user can reach it, and
// gives it the owner and mode PostgreSQL requires. It reports whether dir
// already holds a cluster.
func prepareDir(dir string, r *runAs) (initialized bool, err error) {
	// Parents are created 0755 so the postgres user can traverse them; the
	// data directory itself must be 0700.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return false, fmt.Errorf("pglocal: create data directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return false, fmt.Errorf("pglocal: create data directory: %w", err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return false, fmt.Errorf("pglocal: data directory parent: %w", err)
		}
		if !r.canTraverse(fi) {
			return false, fmt.Errorf("pglocal: OS user %s cannot traverse %s (mode %v), a parent of the data directory %s: make it traversable with `chmod o+x %s`, or choose a data directory elsewhere", r.name, p, fi.Mode().Perm(), dir, p)
		}
		if p == filepath.Dir(p) {
			break
		}
	}

	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		initialized = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("pglocal: data directory: %w", err)
	} else {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return false, fmt.Errorf("pglocal: data directory: %w", err)
		}
		if len(entries) > 0 {
			return false, fmt.Errorf("pglocal: %s is not empty and holds no PostgreSQL cluster (no PG_VERSION): empty it or choose another directory", dir)
		}
	}

	fi, err := os.Stat(dir)
	if err != nil {
		return false, fmt.Errorf("pglocal: data directory: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != r.uid {
		if initialized {
			return false, fmt.Errorf("pglocal: data directory %s is owned by uid %d, but PostgreSQL runs as %s (uid %d): `chown -R %s: %s`, or choose another directory", dir, st.Uid, r.name, r.uid, r.name, dir)
		}
		if err := os.Chown(dir, int(r.uid), int(r.gid)); err != nil {
			return false, fmt.Errorf("pglocal: give data directory to OS user %s: %w", r.name, err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return false, fmt.Errorf("pglocal: data directory: %w", err)
	}
	return initialized, nil
}

func initdb(ctx context.Context, bin, dir string, fast bool, r *runAs, log *tailWriter) error {
	args := []string{"-D", dir, "-U", Superuser, "-A", "trust", "--encoding=UTF8", "--no-locale"}
	if fast {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), args...)
	cmd.Dir = dir
	cmd.Stdout = log
	cmd.Stderr = log
	// On a signal initdb removes what it wrote; SIGKILL would leave a
	// half-made cluster behind.
	cmd.SysProcAttr = sysProcAttr(r.cred(), syscall.SIGTERM)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pglocal: initdb %s: %w\ninitdb output:\n%s", dir, err, log.String())
	}
	return nil
}

// checkLockFile looks at the postmaster.pid a crashed server left behind.
// PostgreSQL itself ignores it when that process is gone, but not when its
// pid has since been reused by another process of the same user, which is
// common after a reboot or in containers.
func checkLockFile(dir string) error {
	path := filepath.Join(dir, "postmaster.pid")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil // no lock file, or PostgreSQL will report why it cannot read it
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(first)))
	if err != nil || pid <= 0 {
		return nil
	}
	switch processState(pid) {
	case procPostgres:
		return fmt.Errorf("pglocal: a server (pid %d) is already running on %s: stop it first", pid, dir)
	case procOther:
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("pglocal: remove stale %s (pid %d is now another program): %w", path, pid, err)
		}
	}
	return nil
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("pglocal: port %d on 127.0.0.1: %w: stop what listens there or choose another port (%w)", port, errPortInUse, err)
	}
	return l.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pglocal: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// findBinDir returns a directory holding both initdb and postgres.
func findBinDir(explicit, dataDir string) (string, error) {
	if explicit != "" {
		if hasServerBinaries(explicit) {
			return explicit, nil
		}
		return "", missingBinaries([]string{explicit})
	}
	var candidates []string
	if d := os.Getenv("PG_BINDIR"); d != "" {
		candidates = append(candidates, d)
	}
	if v, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		candidates = append(candidates, "/usr/lib/postgresql/"+strings.TrimSpace(string(v))+"/bin")
	}
	candidates = append(candidates, "/usr/lib/postgresql/15/bin")
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
		candidates = append(candidates, dirs...)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if hasServerBinaries(d) {
			return d, nil
		}
	}
	return "", missingBinaries(slices.Compact(candidates))
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

func missingBinaries(tried []string) error {
	return fmt.Errorf("pglocal: PostgreSQL server binaries (initdb, postgres) not found in %s: install them with `apt-get install postgresql` (or point $PG_BINDIR at them)", strings.Join(tried, ", "))
}

// tailWriter forwards to out, ignoring its errors so a broken log never
// blocks the server, and keeps the last max bytes for error messages.
type tailWriter struct {
	out io.Writer
	max int

	mu      sync.Mutex
	buf     []byte
	written int64 // total bytes ever written
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	w.written += int64(len(p))
	w.mu.Unlock()
	if w.out != nil {
		_, _ = w.out.Write(p)
	}
	return len(p), nil
}

// offset returns the number of bytes written so far, for since.
func (w *tailWriter) offset() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written
}

// since returns what was written after offset off, as far as it is kept.
func (w *tailWriter) since(off int64) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := w.written - off; n < int64(len(w.buf)) {
		return string(w.buf[int64(len(w.buf))-n:])
	}
	return string(w.buf)
}

// String returns the kept tail, starting at a line boundary.
func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf
	if w.written > int64(len(b)) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}
