package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestFollowsAndResumes runs the example as docs/protocol.md does: against
// the server binary, with an API token; the server is restarted while the
// client follows the board, and changes are made after the restart. The
// client must print every event after the snapshot exactly once, in seq
// order, having reconnected; a second client resuming with since replays
// the same events from the log.
func TestFollowsAndResumes(t *testing.T) {
	srv := startServer(t)
	session := srv.signup(t, "alice")
	var tok struct{ Token string }
	srv.post(t, session, "/api/auth/tokens", map[string]any{"name": "wsclient"}, &tok)
	var b, col struct{ ID string }
	srv.post(t, tok.Token, "/api/boards", map[string]any{"name": "Launch"}, &b)
	srv.post(t, tok.Token, "/api/boards/"+b.ID+"/columns", map[string]any{"name": "Todo"}, &col)
	addCard := func(title string) {
		srv.post(t, tok.Token, "/api/boards/"+b.ID+"/cards", map[string]any{"column_id": col.ID, "title": title}, nil)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := &lockedBuffer{}
	c := &client{base: srv.base, token: tok.Token, board: b.ID, last: -1, max: 6, out: out}
	done := make(chan error, 1)
	go func() { done <- c.run(ctx) }()
	waitFor(t, "the client subscribed", func() bool { return strings.Contains(out.String(), "subscribed") })
	for i := range 3 {
		addCard(fmt.Sprintf("before %d", i))
	}
	waitFor(t, "three events", func() bool { return len(eventSeqs(out.String())) == 3 })
	srv.restart(t)
	for i := range 3 {
		addCard(fmt.Sprintf("after %d", i))
	}
	select {
	case err := <-done:
		if !errors.Is(err, errStop) {
			t.Fatalf("run: %v\n%s", err, out)
		}
	case <-ctx.Done():
		t.Fatalf("the client did not get six events within a minute:\n%s", out)
	}
	want := []int64{3, 4, 5, 6, 7, 8} // 1: board.created, 2: column.created
	if got := eventSeqs(out.String()); !equal(got, want) {
		t.Errorf("events %v, want %v:\n%s", got, want, out)
	}
	if c.reconnects == 0 {
		t.Errorf("the client never reconnected across the restart:\n%s", out)
	}

	// Resuming from a seq replays the rest from the log.
	out2 := &lockedBuffer{}
	c2 := &client{base: srv.base, token: tok.Token, board: b.ID, last: 2, max: 6, out: out2}
	if err := c2.run(ctx); !errors.Is(err, errStop) {
		t.Fatalf("run with since 2: %v\n%s", err, out2)
	}
	if got := eventSeqs(out2.String()); !equal(got, want) {
		t.Errorf("replayed events %v, want %v:\n%s", got, want, out2)
	}
	if !strings.Contains(out2.String(), "the log replays 3..8") {
		t.Errorf("the second client was not told of the replay:\n%s", out2)
	}
}

// A credential the server refuses stops the client at once (reconnecting
// cannot help), with the server's answer.
func TestRefusedToken(t *testing.T) {
	srv := startServer(t)
	c := &client{base: srv.base, token: "cbt_not-a-token", board: "940ce627-58d2-471f-b013-ba8fe892ad68", last: -1, out: &lockedBuffer{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.run(ctx)
	var f fatal
	if !errors.As(err, &f) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("run with a bad token: %v, want a fatal 401", err)
	}
}

var eventLine = regexp.MustCompile(`(?m)^event +(\d+) `)

func eventSeqs(s string) []int64 {
	var seqs []int64
	for _, m := range eventLine.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		seqs = append(seqs, n)
	}
	return seqs
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// server is the server binary running on a throwaway database.
type server struct {
	bin, base string
	env       []string
	cmd       *exec.Cmd
	log       *lockedBuffer
}

func startServer(t *testing.T) *server {
	t.Helper()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("find the module: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, "./cmd/server")
	build.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the server: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{bin: bin, base: "http://" + addr, log: &lockedBuffer{}, env: append(os.Environ(),
		"DATABASE_URL="+pgtest.NewDatabase(t, "corkboard", store.Migrate), "ADDR="+addr, "ADMIN_ADDR=off",
		"DRAIN_DELAY=0", "LOG_LEVEL=warn")}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *server) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin)
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start the server: %v", err)
	}
	waitFor(t, "the server ready", func() bool {
		resp, err := http.Get(s.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("server: %v\n%s", err, s.log)
	}
	s.cmd = nil
}

// restart is what Ctrl-C and `make run` again do, on the same address.
func (s *server) restart(t *testing.T) {
	t.Helper()
	s.stop(t)
	s.start(t)
}

// signup creates an account and returns its session secret, usable as a
// Bearer credential.
func (s *server) signup(t *testing.T, name string) string {
	t.Helper()
	return apitest.Signup(t, s.base, name).Session
}

func (s *server) post(t *testing.T, secret, path string, body, into any) {
	t.Helper()
	r := apitest.NewClient(t, s.base, apitest.Cred{Bearer: secret}).MustOK(http.MethodPost, path, body, into)
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("POST %s: %v", path, r)
	}
}
