package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/pglocal"
	"github.com/corkboard/corkboard/internal/store"
)

// TestPostgresOutageUnderLoad stops PostgreSQL while writers create cards,
// each with its own Idempotency-Key, and starts it again 2 s later. A
// WebSocket upgrade during the outage is refused with 503 too. Every
// answer that is not a success is 503, problem+json with code unavailable
// and a Retry-After (or, for a key whose first attempt was cut off in
// flight, 409 idempotency_in_progress until that claim lapses) — never a
// 500. Each writer retries its key until it succeeds; in the end the board
// holds exactly one card per key and a gap-free log.
func TestPostgresOutageUnderLoad(t *testing.T) {
	ctx := context.Background()
	// Not t.TempDir: its parents are 0700, and the postgres OS user (when
	// the tests run as root) must traverse the directory.
	dir, err := os.MkdirTemp("", "corkboard-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) //nolint:errcheck // the postgres user must traverse it
	pg, err := pglocal.Start(ctx, pglocal.Options{Dir: dir + "/pg", Fast: true})
	if err != nil {
		t.Fatalf("start PostgreSQL (install postgresql): %v", err)
	}
	t.Cleanup(func() { pg.Stop() }) //nolint:errcheck // the restarted server is stopped below
	if err := pg.CreateDatabase(ctx, "corkboard"); err != nil {
		t.Fatal(err)
	}
	port, dbURL := pg.Port(), pg.URL("corkboard")
	_, natsURL := natsCluster(t, 1)
	cfg := testConfig(dbURL, natsURL)
	cfg.DBConnectTimeout, cfg.DBLockTimeout, cfg.DBIdleInTxTimeout, cfg.DBStatementTimeout = time.Second, 3*time.Second, 5*time.Second, 30*time.Second
	a := startApp(t, cfg)
	owner := a.api(t, "owner")
	b, col := owner.newBoard("outage")

	const writers, perWriter = 4, 40
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		problems []string
	)
	record := func(status int, problem string) {
		mu.Lock()
		defer mu.Unlock()
		statuses[status]++
		if problem != "" && len(problems) < 20 {
			problems = append(problems, problem)
		}
	}
	post := func(key string) (int, http.Header, []byte, error) {
		r, err := owner.client().Send("POST", "/api/boards/"+b+"/cards", map[string]any{"column_id": col, "title": key},
			"Idempotency-Key", key)
		return r.Status, r.Header, r.Body, err
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				key := fmt.Sprintf("w%d-%d", w, i)
				deadline := time.Now().Add(60 * time.Second)
				for {
					status, hdr, data, err := post(key)
					if err != nil {
						record(0, key+": "+err.Error())
						return
					}
					record(status, "")
					var p struct{ Code string }
					json.Unmarshal(data, &p) //nolint:errcheck // checked through p.Code
					if status/100 == 2 {
						break
					}
					switch {
					case status == http.StatusServiceUnavailable:
						if p.Code != board.EUnavailable || hdr.Get("Retry-After") == "" ||
							hdr.Get("Content-Type") != "application/problem+json" {
							record(-1, fmt.Sprintf("%s: 503 with code %q, Retry-After %q, %s", key, p.Code, hdr.Get("Retry-After"), hdr.Get("Content-Type")))
						}
					case status == http.StatusConflict && p.Code == board.EIdempotencyPending:
					default:
						record(-1, fmt.Sprintf("%s: %d %s", key, status, data))
						return
					}
					if time.Now().After(deadline) {
						record(-1, key+": no success within 60s")
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}

	time.Sleep(300 * time.Millisecond)
	if err := pg.Stop(); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	// A WebSocket upgrade meets the outage too (its credential cannot be
	// checked): 503 with Retry-After, not 500 or 401.
	upgrade := func() (int, http.Header, string) {
		req, _ := http.NewRequest("GET", "http://"+a.Addr()+"/api/ws", nil)
		req.Header.Set("Authorization", "Bearer "+owner.secret)
		for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket",
			"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return resp.StatusCode, resp.Header, "" // the body is the connection
		}
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(data)
	}
	if st, hdr, body := upgrade(); st != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" ||
		!strings.Contains(body, `"code":"unavailable"`) {
		t.Errorf("upgrade while PostgreSQL is down: %d, Retry-After %q, %s", st, hdr.Get("Retry-After"), body)
	}
	time.Sleep(2 * time.Second)
	pg, err = pglocal.Start(ctx, pglocal.Options{Dir: dir + "/pg", Port: port, Fast: true})
	if err != nil {
		t.Fatalf("start PostgreSQL again: %v", err)
	}
	back := time.Now()
	t.Cleanup(func() { pg.Stop() }) //nolint:errcheck // test teardown
	// A write without a key (so no claim left by a cut-off attempt is in
	// the way) shows how soon the service is back.
	var recovered time.Duration
	for i := 0; ; i++ {
		resp, err := owner.client().Send("POST", "/api/boards/"+b+"/columns", fmt.Sprintf(`{"name":"probe %d"}`, i))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status == http.StatusCreated {
			recovered = time.Since(back)
			break
		}
		if resp.Status != http.StatusServiceUnavailable || time.Since(back) > 30*time.Second {
			t.Fatalf("a write after PostgreSQL came back: %v", resp)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, _, body := upgrade(); st != http.StatusSwitchingProtocols {
		t.Errorf("upgrade after PostgreSQL came back: %d %s", st, body)
	}
	wg.Wait()

	mu.Lock()
	t.Logf("answers: %v; writes succeed again %s after PostgreSQL accepts connections", statuses,
		recovered.Round(time.Millisecond))
	for _, p := range problems {
		t.Error(p)
	}
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Error("no request met the outage: the test tested nothing")
	}
	if statuses[http.StatusInternalServerError] > 0 {
		t.Errorf("%d answers were 500", statuses[http.StatusInternalServerError])
	}
	mu.Unlock()

	snap := owner.snapshot(b)
	titles := map[string]int{}
	for _, c := range snap.Cards {
		titles[c.Title]++
	}
	for w := range writers {
		for i := range perWriter {
			if key := fmt.Sprintf("w%d-%d", w, i); titles[key] != 1 {
				t.Errorf("card %s is on the board %d times", key, titles[key])
			}
		}
	}
	if len(snap.Cards) != writers*perWriter {
		t.Errorf("%d cards, want %d", len(snap.Cards), writers*perWriter)
	}
	var page struct {
		Events []board.Event `json:"events"`
	}
	owner.mustDo("GET", "/api/boards/"+b+"/events?since=0&limit=1000", nil, &page)
	for i, e := range page.Events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: the log has a gap", i, e.Seq)
		}
	}
	if int64(len(page.Events)) != snap.Seq {
		t.Errorf("%d events, snapshot at seq %d", len(page.Events), snap.Seq)
	}
}

// TestAllNATSNodesDown stops every node of the NATS cluster for 10 s while
// writers go through HAProxy (deploy/haproxy.cfg, health checks on /readyz)
// in front of three instances, and subscribers listen on each. No
// instance's /readyz answers anything but 200 (degraded while NATS is
// down), HAProxy keeps every instance in its rotation, no write fails, and
// every subscriber still receives every event of every board exactly once,
// in order: the other instances' events come by head checks while the bus
// is down.
func TestAllNATSNodesDown(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	nodes, natsURL := natsCluster(t, 3)
	var apps []*App
	for range 3 {
		apps = append(apps, startApp(t, testConfig(dbURL, natsURL)))
	}
	owner := "owner"
	var boards []string
	cols := map[string]string{}
	for i := range 2 {
		b, col := apps[i].api(t, owner).newBoard(fmt.Sprintf("nats down %d", i))
		boards, cols[b] = append(boards, b), col
	}
	var subs []*subscriber
	for i, a := range apps {
		for j := range 2 {
			s := dialSubscriber(t, a, owner, fmt.Sprintf("sub-%d-%d", i, j))
			for _, b := range boards {
				s.subscribe(b, 0)
			}
			subs = append(subs, s)
		}
	}
	for _, s := range subs {
		for _, b := range boards {
			s.waitSubscribed(b)
		}
	}

	// Readiness of every instance, polled throughout.
	stopPoll := make(chan struct{})
	var polls, notReady, degraded atomic.Int64
	var pollers sync.WaitGroup
	for _, a := range apps {
		pollers.Go(func() {
			for {
				select {
				case <-stopPoll:
					return
				case <-time.After(50 * time.Millisecond):
				}
				resp, err := http.Get("http://" + a.Addr() + "/readyz")
				if err != nil {
					t.Errorf("readyz: %v", err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				polls.Add(1)
				if resp.StatusCode != 200 {
					notReady.Add(1)
					t.Errorf("readyz %d: %s", resp.StatusCode, body)
				}
				if strings.Contains(string(body), `"nats":"degraded`) {
					degraded.Add(1)
				}
			}
		})
	}

	// Writers through HAProxy, which spreads them over the instances
	// (mustDo: any failure fails the test).
	var addrs []string
	for _, a := range apps {
		addrs = append(addrs, a.Addr())
	}
	lb := startHAProxy(t, addrs)
	for _, addr := range addrs {
		waitInRotation(t, lb, addr)
	}
	viaLB := *apps[0].api(t, owner)
	viaLB.base = lb.URL()
	stopWrites := make(chan struct{})
	var writes atomic.Int64
	var writers sync.WaitGroup
	for w := range 3 {
		writers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopWrites:
					return
				default:
				}
				b := boards[(w+i)%len(boards)]
				c := viaLB
				c.t = t
				c.mustDo("POST", "/api/boards/"+b+"/cards",
					map[string]any{"column_id": cols[b], "title": fmt.Sprintf("w%d-%d", w, i)}, nil)
				writes.Add(1)
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	time.Sleep(300 * time.Millisecond)
	type node struct {
		client, cluster int
		name            string
	}
	var down []node
	for i, n := range nodes {
		down = append(down, node{n.ClientPort(), n.ClusterPort(), fmt.Sprintf("restarted-%d", i)})
		n.Shutdown()
	}
	before := writes.Load()
	time.Sleep(10 * time.Second)
	during := writes.Load() - before
	if ready, err := lb.Ready(t.Context()); err != nil || len(ready) != len(apps) {
		t.Errorf("HAProxy's rotation with NATS down: %v (%v), want all %d instances", ready, err, len(apps))
	}
	for i, a := range apps {
		rec := httptest.NewRecorder()
		a.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if !strings.Contains(rec.Body.String(), `corkboard_degraded{dependency="nats"} 1`) {
			t.Errorf("instance %d: corkboard_degraded{dependency=\"nats\"} is not 1 while NATS is down", i)
		}
	}
	for i, n := range down {
		var routes []string
		for j, o := range down {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", o.cluster))
			}
		}
		s, err := natsbus.StartServer(natsbus.ServerOptions{Port: n.client, Cluster: "corkboard-test",
			ClusterPort: n.cluster, Routes: routes, Name: n.name})
		if err != nil {
			t.Fatalf("restart nats node %d: %v", i, err)
		}
		t.Cleanup(s.Shutdown)
	}
	waitFor(t, 15*time.Second, "every instance reconnected to NATS", func() bool {
		for _, a := range apps {
			if !a.bus.Connected() {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond)
	close(stopWrites)
	writers.Wait()
	close(stopPoll)
	pollers.Wait()

	t.Logf("%d writes, %d of them while NATS was down; %d readiness polls, %d degraded, %d not ready",
		writes.Load(), during, polls.Load(), degraded.Load(), notReady.Load())
	if during == 0 {
		t.Error("no write while NATS was down")
	}
	if degraded.Load() == 0 {
		t.Error("no instance ever said it was degraded: NATS was never seen down")
	}
	for _, b := range boards {
		head := apps[0].api(t, owner).snapshot(b).Seq
		for _, s := range subs {
			waitFor(t, 15*time.Second, s.name+" all events", func() bool { return s.last(b) >= head })
			s.checkExactly(t, b, 1, head)
		}
	}
}
