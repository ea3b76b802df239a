//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/pglocal"
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
	dbURL   string
	pg      *pglocal.Server
	nats    []*natsbus.Server
	servers []*serverProc
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
// instances) and the server processes, all on 127.0.0.1, with their files in
// a temporary directory. close stops everything and removes the directory;
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

	type built struct {
		bin string
		err error
	}
	buildDone := make(chan built, 1)
	go func() {
		if c.ServerBin != "" {
			buildDone <- built{bin: c.ServerBin}
			return
		}
		bin, err := buildServer(ctx, c.ServerSrc, t.dir)
		buildDone <- built{bin, err}
	}()

	log.Info("starting PostgreSQL", "dir", filepath.Join(t.dir, "pg"))
	t.pg, err = pglocal.Start(ctx, pglocal.Options{Dir: filepath.Join(t.dir, "pg")})
	if err == nil {
		err = t.pg.CreateDatabase(ctx, "corkboard")
	}
	if err != nil {
		<-buildDone
		return t, fmt.Errorf("start PostgreSQL: %w", err)
	}
	t.dbURL = t.pg.URL("corkboard")

	natsURL, err := t.startNATS(c.Instances)
	if err != nil {
		<-buildDone
		return t, err
	}
	b := <-buildDone
	if b.err != nil {
		return t, b.err
	}

	// The first instance migrates the database alone; the others start
	// together once it is up.
	t.servers = make([]*serverProc, c.Instances+1) // the last is the setup instance
	if err := t.startServer(ctx, c, b.bin, 0, natsURL, true); err != nil {
		return t, err
	}
	var wg sync.WaitGroup
	errs := make([]error, c.Instances+1)
	for i := 1; i <= c.Instances; i++ {
		wg.Go(func() { errs[i] = t.startServer(ctx, c, b.bin, i, natsURL, false) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return t, err
	}
	for _, s := range t.servers[:c.Instances] {
		t.urls = append(t.urls, s.url)
		t.pids = append(t.pids, s.cmd.Process.Pid)
		t.admin = append(t.admin, s.admin)
	}
	t.setup = t.servers[c.Instances].url
	return t, nil
}

// stopSetup stops the setup instance (none with -targets).
func (t *topology) stopSetup() {
	if len(t.servers) > len(t.urls) && t.servers[len(t.urls)] != nil {
		t.servers[len(t.urls)].stop()
	}
}

// startNATS starts one in-process NATS server, or a 3-node cluster when
// there are several instances, and returns the client URL list.
func (t *topology) startNATS(instances int) (string, error) {
	nodes := 1
	if instances > 1 {
		nodes = 3
	}
	var urls []string
	for i := range nodes {
		o := natsbus.ServerOptions{Port: -1, Name: fmt.Sprintf("loadgen-nats-%d", i)}
		if nodes > 1 {
			o.Cluster, o.ClusterPort = "loadgen", -1
			if i > 0 {
				o.Routes = []string{t.nats[0].RouteURL()}
			}
		}
		s, err := natsbus.StartServer(o)
		if err != nil {
			return "", fmt.Errorf("start NATS node %d: %w", i, err)
		}
		t.nats = append(t.nats, s)
		urls = append(urls, s.ClientURL())
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range t.nats {
		for s.NumRoutes() < nodes-1 {
			if time.Now().After(deadline) {
				return "", errors.New("NATS cluster routes not up within 10s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return strings.Join(urls, ","), nil
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

const serverPackage = "github.com/corkboard/corkboard/cmd/server"

// buildServer builds cmd/server of the module in src (or the current
// directory's) into dir and returns the binary's path.
func buildServer(ctx context.Context, src, dir string) (string, error) {
	bin := filepath.Join(dir, "server")
	pkgDir, err := goOutput(ctx, src, "list", "-f", "{{.Dir}}", serverPackage)
	if err != nil {
		return "", fmt.Errorf("find %s (run loadgen inside the corkboard module, or give -server-bin): %w", serverPackage, err)
	}
	if _, err := goOutput(ctx, pkgDir, "build", "-o", bin, serverPackage); err != nil {
		return "", fmt.Errorf("build server: %w", err)
	}
	return bin, nil
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// serverProc is one server instance, a child process.
type serverProc struct {
	i       int
	url     string
	admin   string // http://127.0.0.1:port of ADMIN_ADDR: /debug/pprof/, /metrics
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
	stopped atomic.Bool // stop was called: its exit is expected
}

// startServer starts instance i and waits until it answers /healthz.
func (t *topology) startServer(ctx context.Context, c Config, bin string, i int, natsURL string, migrate bool) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s := &serverProc{i: i, url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{}),
		logPath: filepath.Join(t.dir, fmt.Sprintf("server-%d.log", i))}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DATABASE_URL", "NATS_URL", "ADDR", "ADMIN_ADDR", "MIGRATE", "LOCAL_POSTGRES", "DRAIN_DELAY":
			continue
		}
		env = append(env, kv)
	}
	aport, err := freePort()
	if err != nil {
		return err
	}
	s.admin = "http://127.0.0.1:" + strconv.Itoa(aport)
	// Each instance gets its own admin port (the default is one fixed
	// port), and no drain delay on shutdown: nothing balances load here.
	env = append(env, "DATABASE_URL="+t.dbURL, "NATS_URL="+natsURL, "ADDR=127.0.0.1:"+strconv.Itoa(port),
		"ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(aport), "DRAIN_DELAY=0s", "MIGRATE="+strconv.FormatBool(migrate))
	env = append(env, c.ServerEnv...)
	s.cmd = exec.Command(bin)
	s.cmd.Env = env
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	// Own process group (a Ctrl-C reaches loadgen only, which stops the
	// servers in order); the kernel kills the server if loadgen dies.
	// Pdeathsig fires when the thread that started the child exits, so the
	// child is started and waited for on one locked thread.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start server %d: %w", i, err)
	}
	t.servers[i] = s
	t.log.Info("started server", "instance", i, "pid", s.cmd.Process.Pid, "url", s.url)

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck // health probe
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("server %d exited: %v\n%s", i, s.waitErr, tailFile(s.logPath, 4096))
		case <-ctx.Done():
			return fmt.Errorf("server %d not healthy within 30s\n%s", i, tailFile(s.logPath, 4096))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// exited returns the log tail of every server that has exited.
func (t *topology) exited() []string {
	var out []string
	for _, s := range t.servers {
		if s == nil || s.stopped.Load() {
			continue
		}
		select {
		case <-s.done:
			out = append(out, fmt.Sprintf("server %d exited (%v):\n%s", s.i, s.waitErr, tailFile(s.logPath, 2048)))
		default:
		}
	}
	return out
}

// close stops the servers (SIGTERM, then SIGKILL after 20s), NATS and
// PostgreSQL, and removes the temporary directory.
func (t *topology) close() error {
	var errs []error
	var wg sync.WaitGroup
	for _, s := range t.servers {
		if s != nil {
			wg.Go(s.stop)
		}
	}
	wg.Wait()
	for _, n := range t.nats {
		n.Shutdown()
	}
	if t.pg != nil {
		errs = append(errs, t.pg.Stop())
	}
	if t.dir != "" {
		errs = append(errs, os.RemoveAll(t.dir))
	}
	return errors.Join(errs...)
}

// stop stops the server: SIGTERM, then SIGKILL after 20 s. It may be called
// again.
func (s *serverProc) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.stopped.Store(true)
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck // it may have exited
		<-s.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart) //nolint:errcheck // best effort
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}
