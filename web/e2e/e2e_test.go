package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/childproc"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// scenarios are the browser scenarios (scenarios/*.mjs, run by browser.mjs),
// in this order.
var scenarios = []string{
	"auth",
	"account",
	"live",
	"reconnect",
	"xss",
	"columns",
	"keyboard",
	"dragdrop",
	"conflict",
	"rollback",
	"large",
	"webhooks",
	"cardthings",
	"notify",
	"labels",
	"activity",
	"offline",
	"offlinedrain",
	"attachments",
	"filters",
	"screenshots",
	"guide",
	"uifix",
	"a11y",
}

// TestBrowser runs every browser scenario against two server instances on
// one database and one NATS cluster. It fails (never skips) when Chromium,
// Node.js or playwright-core is missing, saying what to install.
func TestBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("browser tests need Debian's Chromium at %s: run `apt-get install -y chromium` (scripts/test.sh does it when missing)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("browser tests need Node.js: run `apt-get install -y nodejs npm` (scripts/test.sh does it when missing)")
	}
	root := moduleRoot(t)
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("browser tests need playwright-core: run `npm ci` in %s (scripts/test.sh does it when missing)", filepath.Join(root, "web"))
	}
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "axe-core", "axe.min.js")); err != nil {
		t.Fatalf("browser tests need axe-core: run `npm ci` in %s (scripts/test.sh does it when missing)", filepath.Join(root, "web"))
	}
	artifacts := filepath.Join(root, "test-artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	// Screenshots of failures are of this run only.
	if old, err := filepath.Glob(filepath.Join(artifacts, "fail-*.png")); err == nil {
		for _, f := range old {
			os.Remove(f)
		}
	}

	tmp := t.TempDir()
	bin := buildServer(t, root, tmp)
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	natsURLs := natsCluster(t, 2)

	cl := &cluster{t: t, bin: bin, dir: tmp, dbURL: dbURL}
	for i := range 2 {
		cl.servers = append(cl.servers, &server{i: i, port: freePort(t), adminPort: freePort(t), nats: natsURLs[i]})
	}
	t.Cleanup(cl.stopAll)
	for _, s := range cl.servers {
		// A port picked free may be taken by another test before the
		// server binds it: pick again then.
		for attempt := 0; ; attempt++ {
			err := cl.start(s)
			if err == nil {
				break
			}
			if attempt >= 3 || !strings.Contains(err.Error(), "address already in use") {
				t.Fatal(err)
			}
			s.port, s.adminPort = freePort(t), freePort(t)
		}
	}
	control := httptest.NewServer(cl.controlHandler())
	t.Cleanup(control.Close)

	users := map[string]user{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin", "wes", "wyn", "wim", "wolf", "wren"} {
		users[name] = signup(t, cl.servers[0].url(), name)
	}
	cfg := map[string]any{
		"instances": []string{cl.servers[0].url(), cl.servers[1].url()},
		"control":   control.URL,
		"users":     users,
		"chromium":  chromium,
		"artifacts": artifacts,
	}
	cfgPath := filepath.Join(tmp, "e2e.json")
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}

	script := filepath.Join(root, "web", "e2e", "browser.mjs")
	only := os.Getenv("E2E_ONLY") // a comma-separated subset, for working on one scenario
	for _, sc := range scenarios {
		if only != "" && !strings.Contains(","+only+",", ","+sc+",") {
			continue
		}
		t.Run(sc, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, script, sc)
			cmd.Dir = filepath.Join(root, "web")
			cmd.Env = append(os.Environ(), "CORKBOARD_E2E="+cfgPath)
			cmd.WaitDelay = 5 * time.Second
			var out bytes.Buffer
			cmd.Stdout = &out
			cmd.Stderr = &out
			start := time.Now()
			err := cmd.Run()
			for line := range strings.SplitSeq(strings.TrimRight(out.String(), "\n"), "\n") {
				t.Log(line)
			}
			t.Logf("scenario %s took %s", sc, time.Since(start).Round(time.Millisecond))
			if err != nil {
				t.Fatalf("scenario %s failed: %v", sc, err)
			}
			for _, s := range cl.servers {
				if r := s.raceReport(); r != "" {
					t.Fatalf("server %d reported a data race:\n%s", s.i, r)
				}
			}
		})
	}
}

// user is an account signed up for the tests; the browser contexts get its
// session cookie.
type user struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Password string `json:"password"`
	Session  string `json:"session"`
}

func signup(t *testing.T, base, name string) user {
	t.Helper()
	a := apitest.Signup(t, base, name)
	return user{ID: a.ID, Username: a.Username, Password: a.Password, Session: a.Session}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s", dir)
	}
	return dir
}

// buildServer builds cmd/server, with the race detector when this test has
// it (the build then reuses the packages go test compiled).
func buildServer(t *testing.T, root, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "server")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/server")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// The NATS cluster of the browser tests requires this user, as a deployed
// one does.
const e2eNATSUser, e2eNATSPassword = "corkboard", "e2e-bus-password"

// natsCluster starts n in-process NATS servers routed into one cluster and
// returns their client URLs.
func natsCluster(t *testing.T, n int) []string {
	t.Helper()
	nodes, err := natsbus.StartClusterWith("corkboard-e2e", n, natsbus.ServerOptions{User: e2eNATSUser, Password: e2eNATSPassword})
	if err != nil {
		t.Fatal(err)
	}
	urls := make([]string, n)
	for i, s := range nodes {
		t.Cleanup(s.Shutdown)
		urls[i] = s.ClientURL()
	}
	return urls
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cluster is the server processes of the test.
type cluster struct {
	t       *testing.T
	bin     string
	dir     string
	dbURL   string
	mu      sync.Mutex
	servers []*server
}

// server is one instance: a child process on a fixed port, so that a
// restarted instance is found again at the same address.
type server struct {
	i         int
	port      int
	adminPort int // for the ops endpoints (ADMIN_ADDR), unused here but never shared
	nats      string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done <-chan struct{}
	log  bytes.Buffer // every run's output
}

func (s *server) url() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) raceReport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.log.String()
	if i := strings.Index(out, "WARNING: DATA RACE"); i >= 0 {
		return out[i:min(len(out), i+8000)]
	}
	return ""
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// start starts the instance and waits until it is healthy.
func (c *cluster) start(s *server) error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return fmt.Errorf("server %d already running", s.i)
	}
	cmd := exec.Command(c.bin)
	cmd.Env = append(filteredEnv(),
		"DATABASE_URL="+c.dbURL, "NATS_URL="+s.nats, "NATS_USER="+e2eNATSUser, "NATS_PASSWORD="+e2eNATSPassword, "ADDR=127.0.0.1:"+strconv.Itoa(s.port),
		"ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(s.adminPort), "MIGRATE=false", "HEAD_CHECK_INTERVAL=500ms", "LOG_LEVEL=warn", "SHUTDOWN_TIMEOUT=5s")
	w := lockedWriter{&s.mu, &s.log}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	proc, err := childproc.Start(cmd) // keeps the starting thread, which Pdeathsig follows
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("start server %d: %w", s.i, err)
	}
	done := proc.Done()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.url() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("server %d exited at start:\n%s", s.i, s.tail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %d not healthy within 60s:\n%s", s.i, s.tail())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (s *server) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.log.String()
	return out[max(0, len(out)-4000):]
}

// stop ends the instance: gracefully (SIGTERM: sockets close with 1001)
// or, with kill, as a crash (SIGKILL).
func (c *cluster) stop(s *server, kill bool) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	cmd.Process.Signal(sig) //nolint:errcheck // it may have exited
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill() //nolint:errcheck // it may have exited
		<-done
	}
	return nil
}

func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	for _, s := range c.servers {
		wg.Go(func() { c.stop(s, false) }) //nolint:errcheck // best effort at cleanup
	}
	wg.Wait()
	if c.t.Failed() {
		for _, s := range c.servers {
			c.t.Logf("server %d log:\n%s", s.i, s.tail())
		}
	}
}

// controlHandler lets browser.mjs stop, kill and start instances:
// POST /stop?i=1, /kill?i=1, /start?i=1.
func (c *cluster) controlHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.URL.Query().Get("i"))
		if err != nil || i < 0 || i >= len(c.servers) || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s := c.servers[i]
		c.mu.Lock()
		defer c.mu.Unlock()
		switch r.URL.Path {
		case "/stop":
			err = c.stop(s, false)
		case "/kill":
			err = c.stop(s, true)
		case "/start":
			err = c.start(s)
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DATABASE_URL", "NATS_URL", "NATS_USER", "NATS_PASSWORD", "ADDR", "ADMIN_ADDR", "MIGRATE", "LOCAL_POSTGRES", "HEAD_CHECK_INTERVAL", "LOG_LEVEL", "SHUTDOWN_TIMEOUT":
			continue
		}
		env = append(env, kv)
	}
	return env
}
