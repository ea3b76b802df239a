package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	proctopo "github.com/corkboard/corkboard/devtools/cluster"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/devtools/wsclient"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// The process-topology test runs server instances as processes of this test
// binary: with CORKBOARD_TEST_RUN_SERVER=1 it is the server command itself.
func init() {
	if os.Getenv("CORKBOARD_TEST_RUN_SERVER") == "1" {
		main()
		os.Exit(0)
	}
}

// topology is what the rolling-restart scenario needs of a deployment: the
// balancer in front, and a way to restart each instance.
type topology struct {
	base      string // the balancer, http://host:port
	instances int
	addr      func(i int) string // instance i's own address
	// restart restarts instance i gracefully (SIGTERM or App.Close), calls
	// stopping right after the shutdown began, and returns once it is
	// ready again on the same port and back in the balancer's rotation.
	restart func(t *testing.T, i int, stopping func())
}

// haproxyConfig is the file compose.yaml mounts.
var haproxyConfig = filepath.Join(repoRoot, "deploy", "haproxy.cfg")

// drainDelay outlasts HAProxy's health check (inter 1s, fall 2), as
// compose.yaml's DRAIN_DELAY does.
const drainDelay = 2500 * time.Millisecond

// startHAProxy runs Debian's haproxy with deploy/haproxy.cfg in front of
// addrs, with env (LB_* variables) added to its environment.
func startHAProxy(t *testing.T, addrs []string, env ...string) *proctopo.HAProxy {
	t.Helper()
	var out bytes.Buffer
	var mu sync.Mutex
	lb, err := proctopo.StartHAProxy(t.Context(), proctopo.HAProxyOptions{Config: haproxyConfig, Servers: addrs, Env: env,
		Output: lockedWriter{&mu, &out}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		if err := lb.Stop(); err != nil {
			t.Errorf("stop haproxy: %v", err)
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("haproxy's log:\n%s", out.String())
			mu.Unlock()
		}
	})
	return lb
}

// waitInRotation waits until HAProxy takes addr as up.
func waitInRotation(t *testing.T, lb *proctopo.HAProxy, addr string) {
	t.Helper()
	waitFor(t, 20*time.Second, addr+" back in HAProxy's rotation", func() bool {
		ready, err := lb.Ready(t.Context())
		return err == nil && slices.Contains(ready, addr)
	})
}

// TestRollingRestartInProcess: three instances (App) sharing a database and
// a three-node NATS cluster behind HAProxy (deploy/haproxy.cfg);
// subscribers and writers go through HAProxy; every instance is closed
// (what SIGTERM does) and started again on the same port, one after
// another, while writes flow.
func TestRollingRestartInProcess(t *testing.T) {
	c := startCluster(t, 3, func(_ int, cfg *Config) {
		cfg.DrainDelay = drainDelay
		cfg.AdminAddr = "127.0.0.1:0"
	})
	var mu sync.Mutex
	apps := c.apps
	addrs := make([]string, len(apps))
	for i, a := range apps {
		addrs[i] = a.Addr()
	}
	lb := startHAProxy(t, addrs)

	rollingRestart(t, topology{
		base: lb.URL(), instances: len(apps),
		addr: func(i int) string { return addrs[i] },
		restart: func(t *testing.T, i int, stopping func()) {
			mu.Lock()
			old := apps[i]
			mu.Unlock()
			closed := make(chan error, 1)
			go func() { closed <- old.Close() }()
			stopping()
			if err := <-closed; err != nil {
				t.Errorf("close instance %d: %v", i, err)
			}
			cfg := old.cfg
			cfg.Addr, cfg.AdminAddr = old.Addr(), old.AdminAddr() // the same ports
			a := startApp(t, cfg)
			mu.Lock()
			apps[i] = a
			mu.Unlock()
			waitInRotation(t, lb, addrs[i])
		},
	})

	// The metrics of a restarted instance count from its start; they move
	// with the traffic it took since.
	mu.Lock()
	a := apps[0]
	mu.Unlock()
	m := scrape(t, a.AdminAddr())
	if m["corkboard_nats_connected"] != 1 {
		t.Errorf("corkboard_nats_connected = %v after the restarts", m["corkboard_nats_connected"])
	}
}

// TestRollingRestartProcesses is the same with real processes, as
// make cluster runs them (package cluster, HAProxy in front): instances get
// SIGTERM and are started again.
func TestRollingRestartProcesses(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	var out bytes.Buffer
	var outMu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := proctopo.Start(ctx, proctopo.Options{
		Server: []string{os.Args[0]},
		ServerEnv: []string{"CORKBOARD_TEST_RUN_SERVER=1", "DRAIN_DELAY=" + drainDelay.String(), "HEAD_CHECK_INTERVAL=300ms",
			"LOG_LEVEL=warn", "SHUTDOWN_TIMEOUT=10s"},
		DatabaseURL: dbURL, HAProxyConfig: haproxyConfig, Addr: "",
		Output: lockedWriter{&outMu, &out}, Logger: testLogger(),
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cl.Stop() //nolint:errcheck // the test failed already
		}
		if t.Failed() {
			outMu.Lock()
			t.Logf("instances' output:\n%s", out.String())
			outMu.Unlock()
		}
	})
	ins := cl.Instances()
	rollingRestart(t, topology{
		base: cl.URL(), instances: len(ins),
		addr: func(i int) string { return ins[i].Addr },
		restart: func(t *testing.T, i int, stopping func()) {
			if err := cl.Restart(ctx, i, func(*proctopo.Instance) { stopping() }); err != nil {
				t.Fatal(err)
			}
		},
	})
	m := scrape(t, ins[1].AdminAddr)
	if m["corkboard_nats_connected"] != 1 || m["corkboard_db_pool_max_connections"] < 1 {
		t.Errorf("metrics of a restarted process: %v", m)
	}
	stopped = true
	if err := cl.Stop(); err != nil {
		t.Errorf("stop the cluster: %v", err)
	}
	for _, in := range ins {
		if resp, err := http.Get("http://" + in.Addr + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("%s still answers after Stop", in.Name)
		}
	}
}

// TestHAProxyHoldsIdleWebSocket: through HAProxy with deploy/haproxy.cfg
// whose client and server timeouts are made 1s (its LB_TIMEOUT_* variables;
// 60s in production), a subscribed WebSocket that stays silent for 3s, well
// within the server's 25s ping interval, is still open and gets the next
// event: once upgraded, `timeout tunnel` (1h) governs it. A plain HTTP
// connection left idle as long is closed, which shows the short timeouts
// are in force.
func TestHAProxyHoldsIdleWebSocket(t *testing.T) {
	c := startCluster(t, 1, nil)
	lb := startHAProxy(t, []string{c.apps[0].Addr()}, "LB_TIMEOUT_CLIENT=1s", "LB_TIMEOUT_SERVER=1s")
	owner := signup(t, lb.URL(), "idle")
	b, col := owner.newBoard("idle")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := wsclient.Dial(ctx, "ws://"+lb.Addr()+"/api/ws", owner.secret, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Kill() //nolint:errcheck // the test is over
	if err := conn.Subscribe(ctx, b, 0); err != nil {
		t.Fatal(err)
	}
	next := func(what string) wsclient.Frame {
		t.Helper()
		select {
		case f, ok := <-conn.Frames():
			if !ok {
				t.Fatalf("waiting for %s: the WebSocket through HAProxy closed: %v", what, conn.Err())
			}
			return f
		case <-ctx.Done():
			t.Fatalf("no %s within 30s", what)
		}
		return wsclient.Frame{}
	}
	for f := next("subscribed"); f.Type != "subscribed"; f = next("subscribed") {
	}

	// The control: a keep-alive HTTP connection, idle for as long.
	plain, err := net.Dial("tcp", lb.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	fmt.Fprintf(plain, "GET /healthz HTTP/1.1\r\nHost: corkboard\r\n\r\n")
	br := bufio.NewReader(plain)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the connection matters
	resp.Body.Close()

	time.Sleep(3 * time.Second) // idle: longer than timeout client/server

	plain.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // a timeout fails below
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("an idle HTTP connection through HAProxy after 3s: read gave %v, want EOF (timeout client 1s)", err)
	}
	var card board.Card
	owner.mustDo("POST", "/api/boards/"+b+"/cards", map[string]any{"column_id": col, "title": "after the silence"}, &card)
	for {
		f := next("the event after 3s of silence")
		if f.Type == "event" && f.Kind == board.KindCardCreated {
			break
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// rollingRestart is the scenario: subscribers and writers through the
// balancer, every instance restarted in turn while writes flow; then every
// subscriber must hold each board's complete stream 1..head, in order, once
// each, and its replay must equal the database's snapshot. During each
// shutdown the instance's /readyz must answer 503 before it stops serving.
func rollingRestart(t *testing.T, topo topology) {
	const nBoards, nSubs, nWriters = 2, 6, 3
	owner := signup(t, topo.base, "owner")
	var boards, cols []string
	for i := range nBoards {
		b, col := owner.newBoard(fmt.Sprintf("rolling %d", i))
		boards, cols = append(boards, b), append(cols, col)
	}
	var subs []*resumer
	for i := range nSubs {
		s := newResumer(t, topo.base, owner.secret, fmt.Sprintf("sub-%d", i), boards)
		subs = append(subs, s)
	}
	for _, s := range subs {
		waitFor(t, 10*time.Second, s.name+" subscribed", s.subscribedAll)
	}

	stop := make(chan struct{})
	var writes atomic.Int64
	var writers sync.WaitGroup
	for w := range nWriters {
		writers.Add(1)
		go func() {
			defer writers.Done()
			var cards []string
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				bi := (w + i) % nBoards
				key := fmt.Sprintf("w%d-%d", w, i)
				var card board.Card
				switch {
				case len(cards) < 3 || i%3 == 0:
					if owner.write("POST", "/api/boards/"+boards[bi]+"/cards", key,
						map[string]any{"column_id": cols[bi], "title": key}, &card) {
						cards = append(cards, boards[bi]+"/cards/"+card.ID)
					}
				case i%3 == 1:
					owner.write("PATCH", "/api/boards/"+cards[i%len(cards)], key, map[string]any{"title": key}, nil)
				default:
					owner.write("POST", "/api/boards/"+cards[i%len(cards)]+"/move", key,
						map[string]any{"position": map[string]any{"to": "top"}}, nil)
				}
				writes.Add(1)
				time.Sleep(8 * time.Millisecond)
			}
		}()
	}

	time.Sleep(200 * time.Millisecond)
	for i := range topo.instances {
		before := writes.Load()
		began := time.Now()
		var saw503 atomic.Bool
		topo.restart(t, i, func() {
			// Right after the shutdown began, /readyz fails while the
			// instance still serves.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				resp, err := http.Get("http://" + topo.addr(i) + "/readyz")
				if err != nil {
					break
				}
				var rep struct {
					Status string            `json:"status"`
					Checks map[string]string `json:"checks"`
				}
				json.NewDecoder(resp.Body).Decode(&rep) //nolint:errcheck // checked below
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && rep.Status == "unavailable" &&
					rep.Checks["shutdown"] == "shutting down" {
					saw503.Store(true)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
		if !saw503.Load() {
			t.Errorf("instance %d: /readyz never answered 503 during its shutdown", i)
		}
		t.Logf("instance %d restarted in %s", i, time.Since(began).Round(time.Millisecond))
		// Writes go on through the others (and the restarted one).
		waitFor(t, 10*time.Second, "writes after a restart", func() bool { return writes.Load() > before+10 })
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	writers.Wait()

	for bi, b := range boards {
		final := owner.snapshot(b)
		if final.Seq < 20 {
			t.Errorf("board %d: only %d events", bi, final.Seq)
		}
		for _, s := range subs {
			waitFor(t, 15*time.Second, s.name+" has every event", func() bool { return s.last(b) >= final.Seq })
			events := s.check(t, b, final.Seq)
			var state board.Snapshot
			for _, e := range events {
				if err := state.Apply(e); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			if diff := snapshotDiff(state, final); diff != "" {
				t.Errorf("%s board %d: the replayed stream differs from the database: %s", s.name, bi, diff)
			}
		}
	}
	for _, s := range subs {
		s.close()
		if s.reconnects.Load() == 0 {
			t.Errorf("%s never reconnected: every instance restarted", s.name)
		}
		if s.goingAway.Load() == 0 {
			t.Errorf("%s never got close code 1001 (going away)", s.name)
		}
	}
	t.Logf("%d writes; subscribers reconnected %d times in all", writes.Load(), func() (n int64) {
		for _, s := range subs {
			n += s.reconnects.Load()
		}
		return n
	}())
}

// resumer is a WebSocket client through the balancer that does what a
// browser does: when its connection closes (1001 on a restart) it
// reconnects, to whichever instance, and resubscribes each board with since
// = the last seq it has. It records every event and what went wrong.
type resumer struct {
	t      *testing.T
	name   string
	url    string
	secret string
	boards []string

	mu         sync.Mutex
	events     map[string][]board.Event
	subscribed map[string]bool // on the current connection
	problems   []string
	reconnects atomic.Int64
	goingAway  atomic.Int64
	conn       *wsclient.Conn
	stop       chan struct{}
	done       chan struct{}
}

func newResumer(t *testing.T, base, secret, name string, boards []string) *resumer {
	s := &resumer{t: t, name: name, url: "ws" + strings.TrimPrefix(base, "http") + "/api/ws", secret: secret,
		boards: boards, events: map[string][]board.Event{}, subscribed: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	t.Cleanup(s.close)
	return s
}

func (s *resumer) run() {
	defer close(s.done)
	for first := true; ; first = false {
		select {
		case <-s.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := wsclient.Dial(ctx, s.url, s.secret, 4096)
		cancel()
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if !first {
			s.reconnects.Add(1)
		}
		s.mu.Lock()
		s.conn = conn
		s.subscribed = map[string]bool{}
		s.mu.Unlock()
		for _, b := range s.boards {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			conn.Subscribe(ctx, b, s.last(b)) //nolint:errcheck // a failed send shows as the connection ending
			cancel()
		}
		for f := range conn.Frames() {
			s.frame(f)
		}
		if conn.CloseStatus() == websocket.StatusGoingAway {
			s.goingAway.Add(1)
		}
	}
}

func (s *resumer) frame(f wsclient.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Type {
	case "event":
		evs := s.events[f.Board]
		last := int64(0)
		if n := len(evs); n > 0 {
			last = evs[n-1].Seq
		}
		switch {
		case f.Seq <= last:
			s.problems = append(s.problems, fmt.Sprintf("board %s: duplicate seq %d (have %d)", f.Board, f.Seq, last))
		case f.Seq != last+1:
			s.problems = append(s.problems, fmt.Sprintf("board %s: seq %d after %d: a gap", f.Board, f.Seq, last))
		default:
			s.events[f.Board] = append(evs, f.Event())
		}
	case "subscribed":
		s.subscribed[f.Board] = true
	case "resync", "error", "unsubscribed":
		s.problems = append(s.problems, fmt.Sprintf("unexpected %s frame: %+v", f.Type, f))
	}
}

func (s *resumer) subscribedAll() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subscribed) == len(s.boards)
}

func (s *resumer) last(b string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if evs := s.events[b]; len(evs) > 0 {
		return evs[len(evs)-1].Seq
	}
	return 0
}

// check reports the problems seen and checks the board's events are exactly
// 1..head; it returns them.
func (s *resumer) check(t *testing.T, b string, head int64) []board.Event {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.problems {
		t.Errorf("%s: %s", s.name, p)
	}
	s.problems = nil
	evs := s.events[b]
	if int64(len(evs)) != head {
		t.Errorf("%s board %s: %d events, want %d", s.name, b, len(evs), head)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("%s board %s: event %d has seq %d", s.name, b, i, e.Seq)
		}
	}
	return evs
}

func (s *resumer) close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.mu.Lock()
	if s.conn != nil {
		s.conn.Kill() //nolint:errcheck // closing
	}
	s.mu.Unlock()
	<-s.done
}

// scrape reads the Prometheus metrics of an admin address: each sample's
// value by its name and labels as written ("name{labels}"), and each name's
// sum over its labels by the bare name.
func scrape(t testing.TB, adminAddr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %s", resp.StatusCode, body)
	}
	m := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); err != nil {
			continue
		}
		series := line[:i]
		m[series] = v
		if j := strings.IndexByte(series, '{'); j >= 0 {
			m[series[:j]] += v
		}
	}
	return m
}
