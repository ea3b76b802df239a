package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/ops"
	"github.com/corkboard/corkboard/internal/store"
)

// TestMetricsMoveWithTraffic: the admin address serves every metric named in
// docs/operations.md, and their values move when a subscriber and a writer
// use the instance.
func TestMetricsMoveWithTraffic(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	_, natsURL := natsCluster(t, 1)
	cfg := testConfig(dbURL, natsURL)
	cfg.AdminAddr = "127.0.0.1:0"
	a := startApp(t, cfg)

	before := scrape(t, a.AdminAddr())
	for _, name := range []string{
		"corkboard_websocket_connections", "corkboard_subscriptions",
		"corkboard_events_committed_total", "corkboard_events_published_total", "corkboard_events_publish_errors_total",
		"corkboard_hub_events_accepted_total", "corkboard_events_delivered_total",
		"corkboard_commit_to_delivery_seconds_count", "corkboard_commit_to_delivery_seconds_bucket",
		"corkboard_slow_consumer_closes_total", "corkboard_resyncs_total", "corkboard_event_gap_fills_total",
		"corkboard_event_duplicates_dropped_total",
		"corkboard_nats_connected", "corkboard_nats_reconnects_total",
		"corkboard_db_pool_connections", "corkboard_db_pool_max_connections", "corkboard_db_pool_acquires_total",
		"corkboard_db_pool_acquire_wait_seconds_total", "corkboard_db_pool_empty_acquires_total",
		"corkboard_snapshot_cache_hits_total", "corkboard_snapshot_cache_misses_total",
		"corkboard_snapshot_not_modified_total", "corkboard_snapshot_cache_bytes",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if before["corkboard_nats_connected"] != 1 {
		t.Errorf("corkboard_nats_connected = %v", before["corkboard_nats_connected"])
	}

	c := a.api(t, "ann")
	b, col := c.newBoard("metrics")
	s := dialSubscriber(t, a, "ann", "watcher")
	s.subscribe(b, 0)
	s.waitSubscribed(b)
	for range 5 {
		c.mustDo("POST", "/api/boards/"+b+"/cards", map[string]any{"column_id": col, "title": "x"}, nil)
	}
	c.do("GET", "/api/boards/"+b+"/cards/00000000-0000-0000-0000-000000000000", nil, nil) // 404
	waitFor(t, 5*time.Second, "the subscriber's events", func() bool { return s.last(b) >= 7 })
	c.mustDo("GET", "/api/boards/"+b, nil, nil) // read: a miss
	c.mustDo("GET", "/api/boards/"+b, nil, nil) // the same board at the same seq: a hit

	after := scrape(t, a.AdminAddr())
	for name, min := range map[string]float64{
		"corkboard_events_committed_total":           7, // board, column, 5 cards
		"corkboard_events_published_total":           7,
		"corkboard_hub_events_accepted_total":        5,
		"corkboard_events_delivered_total":           5,
		"corkboard_commit_to_delivery_seconds_count": 5,
		"corkboard_db_pool_acquires_total":           before["corkboard_db_pool_acquires_total"] + 7,
		"corkboard_websocket_connections":            1,
		"corkboard_subscriptions":                    1,
		"corkboard_snapshot_cache_misses_total":      before["corkboard_snapshot_cache_misses_total"] + 1,
		"corkboard_snapshot_cache_hits_total":        before["corkboard_snapshot_cache_hits_total"] + 1,
		"corkboard_snapshot_cache_bytes":             1,
		`corkboard_http_requests_total{code="201",method="POST",route="/api/boards/{board}/cards"}`:       5,
		`corkboard_http_requests_total{code="404",method="GET",route="/api/boards/{board}/cards/{card}"}`: 1,
		`corkboard_http_requests_total{code="101",method="GET",route="/api/ws"}`:                          1,
		`corkboard_http_request_duration_seconds_count{method="POST",route="/api/boards/{board}/cards"}`:  5,
	} {
		if after[name] < min {
			t.Errorf("%s = %v, want at least %v", name, after[name], min)
		}
	}
	if d := after["corkboard_commit_to_delivery_seconds_sum"]; d <= 0 || d > 10 {
		t.Errorf("commit→delivery latency sum %v s for 5 events", d)
	}
	s.conn.Kill()
	waitFor(t, 5*time.Second, "the connection gauge to fall", func() bool {
		return scrape(t, a.AdminAddr())["corkboard_websocket_connections"] == 0
	})

	// pprof is there too.
	resp, err := http.Get("http://" + a.AdminAddr() + "/debug/pprof/goroutine?debug=1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("pprof: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestReadiness: /readyz is 200 with every check ok; still 200, degraded,
// naming NATS when its connection is down; 503 naming the shutdown once
// Close began (while the instance still serves, for the drain delay);
// /healthz stays 200.
func TestReadiness(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	nats, err := natsbus.StartServer(natsbus.ServerOptions{Port: -1, Name: "solo"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	cfg := testConfig(dbURL, nats.ClientURL())
	cfg.DrainDelay = 500 * time.Millisecond
	a := startApp(t, cfg)
	base := "http://" + a.Addr()

	ready := func() (int, ops.Report) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("readyz: %v", err)
		}
		defer resp.Body.Close()
		var rep ops.Report
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			t.Fatalf("readyz body: %v", err)
		}
		return resp.StatusCode, rep
	}
	if st, rep := ready(); st != 200 || rep.Checks["postgres"] != "ok" || rep.Checks["nats"] != "ok" {
		t.Fatalf("readyz: %d %+v", st, rep)
	}
	nats.Shutdown()
	// Without NATS the instance is degraded, not unready: it still serves.
	waitFor(t, 5*time.Second, "readyz to name NATS", func() bool {
		st, rep := ready()
		return st == 200 && rep.Status == ops.StatusDegraded && rep.Checks["nats"] == "degraded: not connected" &&
			rep.Checks["postgres"] == "ok"
	})

	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	waitFor(t, 2*time.Second, "readyz to say shutting down", func() bool {
		st, rep := ready()
		return st == 503 && rep.Checks["shutdown"] == "shutting down"
	})
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz while draining: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after Close")
	}
}

// TestHealthcheckCommand: `server healthcheck` exits 0 against a live
// instance, and fails against an address nobody serves.
func TestHealthcheckCommand(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	_, natsURL := natsCluster(t, 1)
	a := startApp(t, testConfig(dbURL, natsURL))
	var out bytes.Buffer
	ctx := context.Background()
	port := a.Addr()[strings.LastIndexByte(a.Addr(), ':'):]
	if err := Run(ctx, []string{"healthcheck"}, env(map[string]string{"ADDR": port}), &out, io.Discard); err != nil {
		t.Fatalf("healthcheck via ADDR=%s: %v", port, err)
	}
	if err := Run(ctx, []string{"healthcheck", "-ready", "-addr", a.Addr()}, env(nil), &out, io.Discard); err != nil {
		t.Fatalf("healthcheck -ready: %v", err)
	}
	if !strings.Contains(out.String(), `"status":"ready"`) {
		t.Errorf("output: %q", out.String())
	}
	if err := Run(ctx, []string{"healthcheck", "-addr", "127.0.0.1:1", "-timeout", "1s"}, env(nil), io.Discard, io.Discard); err == nil {
		t.Fatal("healthcheck of a closed port passed")
	}
}

// TestErrorLogsCarryRequestIDs: a request's error log line names its
// request id, which the response carries in X-Request-Id (taken from the
// balancer's when it sent a sane one).
func TestErrorLogsCarryRequestIDs(t *testing.T) {
	var logs bytes.Buffer
	log := newLogger(Config{LogFormat: "json", LogLevel: "debug"}, &logs)
	req, _ := http.NewRequest("GET", "/x", nil)
	req.Header.Set("X-Request-Id", "lb-1234")
	var seen string
	h := ops.NewRequestIDs().Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = ops.RequestIDFrom(r.Context())
		log.ErrorContext(r.Context(), "request failed", "err", "boom")
	}))
	rec := &headerRecorder{h: http.Header{}}
	h.ServeHTTP(rec, req)
	if seen != "lb-1234" || rec.h.Get("X-Request-Id") != "lb-1234" {
		t.Fatalf("request id %q, header %q", seen, rec.h.Get("X-Request-Id"))
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", logs.String(), err)
	}
	if line["request_id"] != "lb-1234" || line["level"] != slog.LevelError.String() {
		t.Errorf("log line: %v", line)
	}
	// An id that is not sane is replaced.
	req.Header.Set("X-Request-Id", "bad id\x00")
	h.ServeHTTP(rec, req)
	if seen == "bad id\x00" || seen == "" {
		t.Errorf("request id %q", seen)
	}
}

type headerRecorder struct{ h http.Header }

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(int)             {}

func TestOpsSettings(t *testing.T) {
	c, err := parseConfig("server", nil, env(map[string]string{"DATABASE_URL": "x"}), io.Discard)
	if err != nil || c.AdminAddr != "127.0.0.1:9090" || c.DrainDelay != 2*time.Second {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = parseConfig("server", []string{"-drain-delay", "0"}, env(map[string]string{"DATABASE_URL": "x", "ADMIN_ADDR": "off"}), io.Discard)
	if err != nil || c.AdminAddr != "" || c.DrainDelay != 0 {
		t.Fatalf("off and 0: %+v %v", c, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DRAIN_DELAY": "20s"}, "must be shorter than"},
		{map[string]string{"DRAIN_DELAY": "-1s"}, "DRAIN_DELAY"},
		{map[string]string{"ADMIN_ADDR": "9090"}, "-admin-addr / ADMIN_ADDR"},
		{map[string]string{"ADMIN_ADDR": ":8080"}, "must differ from"},
	} {
		tc.env["DATABASE_URL"] = "x"
		if _, err := parseConfig("server", nil, env(tc.env), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error mentioning %q", tc.env, err, tc.want)
		}
	}
}
