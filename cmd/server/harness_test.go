package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/devtools/wsclient"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/natsbus"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testLogger keeps test output quiet unless CORKBOARD_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("CORKBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConfig is an instance's configuration for tests: port 0, the given
// database and NATS, quick head checks.
func testConfig(dbURL, natsURL string) Config {
	return Config{
		Addr: "127.0.0.1:0", DatabaseURL: dbURL, NATSURL: natsURL, Migrate: true,
		IdempotencyTTL: time.Hour, HeadInterval: 300 * time.Millisecond, HeadIntervalDegraded: 100 * time.Millisecond, EventRetention: time.Hour,
		WSQueueBytes: 1 << 20, ShutdownTimeout: 5 * time.Second, LogFormat: "text", LogLevel: "info",
		SessionTTL: time.Hour, hooks: hooks{cheapAuth: true},
		SnapshotCacheBytes: 64 << 20, AuthCacheTTL: 5 * time.Second, // the defaults, as in production
	}
}

// startApp starts an instance and closes it when the test ends (unless the
// test closed it).
func startApp(t *testing.T, cfg Config) *App {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Start(ctx, cfg, testLogger())
	if err != nil {
		t.Fatalf("start instance: %v", err)
	}
	t.Cleanup(func() { a.closeOnce() })
	return a
}

// natsCluster starts n in-process NATS servers routed into one cluster and
// returns them; the URL list is for NATS_URL.
func natsCluster(t *testing.T, n int) ([]*natsbus.Server, string) {
	t.Helper()
	nodes, err := natsbus.StartCluster("corkboard-test", n)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range nodes {
		t.Cleanup(s.Shutdown)
	}
	return nodes, natsbus.ClientURLs(nodes)
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// api is an HTTP client of one instance as one user.
type api struct {
	t      testing.TB
	base   string
	user   string // username
	id     string // user id
	secret string // session secret, sent as a Bearer token
}

// accounts remembers the users signed up, per database.
var accounts sync.Map // dbURL + " " + username → *api

// api returns a client of the instance as user, signing the user up (on
// this instance) the first time.
func (a *App) api(t testing.TB, user string) *api {
	t.Helper()
	key := a.cfg.DatabaseURL + " " + user
	if c, ok := accounts.Load(key); ok {
		cl := *c.(*api)
		cl.t, cl.base = t, "http://"+a.Addr()
		return &cl
	}
	c := signup(t, "http://"+a.Addr(), user)
	accounts.Store(key, c)
	return c
}

// signup signs a user up at base and returns its client.
func signup(t testing.TB, base, user string) *api {
	t.Helper()
	acc := apitest.Signup(t, base, user)
	return &api{t: t, base: base, user: user, id: acc.ID, secret: acc.Session}
}

// client is c as an apitest client.
func (c *api) client() *apitest.Client {
	return apitest.NewClient(c.t, c.base, apitest.Cred{Bearer: c.secret})
}

// do sends a request and decodes a 2xx JSON answer into out; it returns the
// status (0 after a transport error, which it reports).
func (c *api) do(method, path string, body any, out any) int {
	c.t.Helper()
	r, err := c.client().Send(method, path, body)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return 0
	}
	if r.Status/100 == 2 && out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			c.t.Errorf("%s %s: decode %s: %v", method, path, r.Body, err)
		}
	}
	return r.Status
}

func (c *api) mustDo(method, path string, body any, out any) {
	c.t.Helper()
	if st := c.do(method, path, body, out); st/100 != 2 {
		c.t.Fatalf("%s %s: status %d", method, path, st)
	}
}

// newBoard creates a board with one column and returns their ids.
func (c *api) newBoard(name string) (boardID, colID string) {
	c.t.Helper()
	b := c.client().NewBoard(name)
	return b.ID, c.client().NewColumn(b.ID, "Todo").ID
}

func (c *api) snapshot(boardID string) board.Snapshot {
	c.t.Helper()
	return c.client().Snapshot(boardID)
}

// write sends a mutation with an Idempotency-Key, retrying what did not get
// an answer from an instance (see apitest.Client.Write).
func (c *api) write(method, path, key string, body, out any) bool {
	c.t.Helper()
	return c.client().Write(method, path, key, body, out)
}

// addMember makes user a member of a board with role, as its owner.
func addMember(t testing.TB, a *App, owner, boardID, user, role string) {
	t.Helper()
	a.api(t, user) // signed up
	a.api(t, owner).client().AddMember(boardID, user, role)
}

// subscriber is a WebSocket client that records, per board, the seqs of the
// events it received and checks them as it goes.
type subscriber struct {
	t    testing.TB
	name string
	conn *wsclient.Conn

	mu       sync.Mutex
	seqs     map[string][]int64
	events   map[string][]board.Event
	frames   []wsclient.Frame // non-event frames
	problems []string
	done     chan struct{}
}

func dialSubscriber(t testing.TB, a *App, user, name string) *subscriber {
	t.Helper()
	conn := apitest.MustDial(t, "http://"+a.Addr(), apitest.Cred{Bearer: a.api(t, user).secret}).Conn
	s := &subscriber{t: t, name: name, conn: conn, seqs: map[string][]int64{}, events: map[string][]board.Event{},
		done: make(chan struct{})}
	go s.read()
	return s
}

func (s *subscriber) read() {
	defer close(s.done)
	for f := range s.conn.Frames() {
		s.mu.Lock()
		if f.Type == "event" {
			seqs := s.seqs[f.Board]
			if n := len(seqs); n > 0 && f.Seq != seqs[n-1]+1 {
				s.problems = append(s.problems, fmt.Sprintf("board %s: seq %d after %d", f.Board, f.Seq, seqs[n-1]))
			}
			s.seqs[f.Board] = append(seqs, f.Seq)
			s.events[f.Board] = append(s.events[f.Board], f.Event())
		} else {
			s.frames = append(s.frames, f)
		}
		s.mu.Unlock()
	}
}

func (s *subscriber) subscribe(boardID string, since int64) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Subscribe(ctx, boardID, since); err != nil {
		s.t.Fatalf("%s subscribe: %v", s.name, err)
	}
}

// waitSubscribed waits for the subscribed frame of a board and returns its
// seq.
func (s *subscriber) waitSubscribed(boardID string) int64 {
	s.t.Helper()
	var seq int64 = -1
	waitFor(s.t.(*testing.T), 10*time.Second, s.name+" subscribed", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, f := range s.frames {
			if f.Type == "subscribed" && f.Board == boardID {
				seq = f.Seq
				return true
			}
		}
		return false
	})
	return seq
}

func (s *subscriber) last(boardID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	seqs := s.seqs[boardID]
	if len(seqs) == 0 {
		return 0
	}
	return seqs[len(seqs)-1]
}

func (s *subscriber) frameOf(typ, boardID string) (wsclient.Frame, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.frames {
		if f.Type == typ && f.Board == boardID {
			return f, true
		}
	}
	return wsclient.Frame{}, false
}

// checkExactly checks that the subscriber got exactly the seqs from..to of a
// board, in order, once each.
func (s *subscriber) checkExactly(t testing.TB, boardID string, from, to int64) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.problems {
		t.Errorf("%s: %s", s.name, p)
	}
	seqs := s.seqs[boardID]
	want := int(to - from + 1)
	if len(seqs) != want {
		t.Errorf("%s board %s: got %d events, want %d (%d..%d)", s.name, boardID, len(seqs), want, from, to)
		return
	}
	for i, seq := range seqs {
		if seq != from+int64(i) {
			t.Errorf("%s board %s: event %d has seq %d, want %d", s.name, boardID, i, seq, from+int64(i))
			return
		}
	}
}
