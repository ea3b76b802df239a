package pglocal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// tempDir returns a fresh directory that the postgres OS user can traverse
// (t.TempDir's parents are 0700 and owned by the test's user).
func tempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startServer(t testing.TB, o Options) *Server {
	t.Helper()
	begin := time.Now()
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start(%s) took %s", o.Dir, time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(tempDir(t), "a", "pg") // parents are created too
	ctx := t.Context()

	s := startServer(t, Options{Dir: dir, Fast: true})
	if _, err := Start(ctx, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Start on a running cluster: err = %v", err)
	}
	for range 2 { // idempotent
		if err := s.CreateDatabase(ctx, "app db"); err != nil {
			t.Fatal(err)
		}
	}
	conn := connect(t, s.URL("app db"))
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')"); err != nil {
		t.Fatal(err)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "off" {
		t.Errorf("fsync = %q, %v; want off with Fast", fsync, err)
	}
	// The server is stopped while this session is open: fast shutdown must
	// not wait for it.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	s2 := startServer(t, Options{Dir: dir, Settings: map[string]string{"application_name": "again"}})
	conn2 := connect(t, s2.URL("app db"))
	var v, app string
	if err := conn2.QueryRow(ctx, "SELECT v, current_setting('application_name') FROM kept").Scan(&v, &app); err != nil {
		t.Fatal(err)
	}
	if v != "survives" || app != "again" {
		t.Errorf("after restart: v = %q, application_name = %q", v, app)
	}
	if err := conn2.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "on" {
		t.Errorf("fsync = %q, %v; want on without Fast", fsync, err)
	}
}

// A server killed outright leaves postmaster.pid behind; the next Start must
// recover the data anyway.
func TestStaleLockFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(tempDir(t), "pg")
	ctx := t.Context()

	// Durable: with Fast (synchronous_commit off) a crash may lose the last
	// commits.
	s, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	conn := connect(t, s.URL("postgres"))
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err != nil {
		t.Fatalf("expected a stale postmaster.pid: %v", err)
	}

	s2 := startServer(t, Options{Dir: dir, Fast: true})
	var v int
	if err := connect(t, s2.URL("postgres")).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after crash: v = %d, %v", v, err)
	}
}

// A postmaster.pid naming a live process that is not postgres (a pid reused
// after a reboot) must not block the start either.
func TestLockFilePidReused(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(tempDir(t), "pg")
	s := startServer(t, Options{Dir: dir, Fast: true})
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// A live process of the user the server runs as: PostgreSQL alone would
	// take it for a running server.
	r, err := lookupRunAs()
	if err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "60")
	sleeper.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred()}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	lock := fmt.Sprintf("%d\n%s\n0\n0\n\n127.0.0.1\n  0  0\nready\n", sleeper.Process.Pid, dir)
	lockPath := filepath.Join(dir, "postmaster.pid")
	if err := os.WriteFile(lockPath, []byte(lock), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(lockPath, int(r.uid), int(r.gid)); err != nil {
		t.Fatal(err)
	}
	startServer(t, Options{Dir: dir, Fast: true})
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(t.Context(), Options{Dir: filepath.Join(tempDir(t), "pg"), Port: port})
	if !errors.Is(err, errPortInUse) || !strings.Contains(err.Error(), fmt.Sprintf("port %d on 127.0.0.1: address already in use", port)) {
		t.Fatalf("Start on a taken port: err = %v", err)
	}
}

func TestMissingBinaries(t *testing.T) {
	t.Parallel()
	empty := tempDir(t)
	_, err := Start(t.Context(), Options{Dir: filepath.Join(tempDir(t), "pg"), BinDir: empty})
	if err == nil || !strings.Contains(err.Error(), "not found in "+empty) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("Start without binaries: err = %v", err)
	}
}

func TestDirNotTraversable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user, whose access is checked")
	}
	parent := filepath.Join(tempDir(t), "private")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Options{Dir: filepath.Join(parent, "pg")})
	if err == nil || !strings.Contains(err.Error(), "chmod o+x "+parent) {
		t.Fatalf("Start under a private directory: err = %v", err)
	}
}

func TestDirNotACluster(t *testing.T) {
	t.Parallel()
	dir := tempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "junk"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "holds no PostgreSQL cluster") {
		t.Fatalf("Start on a non-empty directory: err = %v", err)
	}
}

// When the process that started the server dies without calling Stop, the
// server goes away too (Linux parent-death signal), and the data directory
// can be started again.
func TestServerDiesWithParent(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(tempDir(t), "pg")
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperServer$")
	helper.Env = append(os.Environ(), "PGLOCAL_HELPER_DIR="+dir)
	helper.Stderr = os.Stderr
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { helper.Process.Kill(); helper.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "postmaster ")))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postmaster %d still running 10s after its parent died", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	startServer(t, Options{Dir: dir, Fast: true})
}

// TestHelperServer is the child process of TestServerDiesWithParent.
func TestHelperServer(t *testing.T) {
	dir := os.Getenv("PGLOCAL_HELPER_DIR")
	if dir == "" {
		return // only run as TestServerDiesWithParent's child
	}
	s, err := Start(t.Context(), Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("postmaster %d\n", s.cmd.Process.Pid)
	select {} // until killed
}
