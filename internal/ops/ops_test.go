package ops

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHealthDrainAndChecks(t *testing.T) {
	failing := errors.New("down")
	var err error
	h := NewHealth(0, Check{Name: "db", Func: func(context.Context) error { return err }})
	h.maxAge = 0 // no reuse in this test
	if r := h.Check(context.Background()); !r.Ready() || r.Checks["db"] != "ok" {
		t.Fatalf("%+v", r)
	}
	err = failing
	if r := h.Check(context.Background()); r.Ready() || r.Checks["db"] != "down" {
		t.Fatalf("%+v", r)
	}
	err = nil
	h.Drain()
	rec := httptest.NewRecorder()
	h.Ready(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"shutdown":"shutting down"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.Live(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("healthz %d while draining", rec.Code)
	}
}

// TestMiddlewareLabelsAndWebSockets: requests are counted by chi route
// pattern and status, unmatched ones as such, and a WebSocket still
// upgrades through the wrapped writer (and counts as 101 at once).
func TestMiddlewareLabelsAndWebSockets(t *testing.T) {
	m := NewMetrics()
	r := chi.NewRouter()
	r.Use(NewRequestIDs().Middleware, m.Middleware)
	r.Route("/api", func(r chi.Router) {
		r.Get("/boards/{board}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
		r.Get("/ws", func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			c.Read(r.Context()) //nolint:errcheck // until the client goes
		})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	for range 3 {
		resp, err := http.Get(srv.URL + "/api/boards/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get(RequestIDHeader) == "" {
			t.Error("no X-Request-Id")
		}
	}
	resp, _ := http.Get(srv.URL + "/nowhere")
	resp.Body.Close()
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "/api/boards/{board}", "404")); got != 3 {
		t.Errorf("board requests %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "unmatched", "404")); got != 1 {
		t.Errorf("unmatched %v", got)
	}
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/ws", nil)
	if err != nil {
		t.Fatalf("WebSocket through the middleware: %v", err)
	}
	defer c.CloseNow()
	// The client has the 101 as soon as coder/websocket wrote it, which is
	// just before the server hijacks the connection (and counts it): give
	// the server that moment, then ask once more.
	upgrades := func() float64 { return testutil.ToFloat64(m.requests.WithLabelValues("GET", "/api/ws", "101")) }
	for deadline := time.Now().Add(5 * time.Second); upgrades() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if got := upgrades(); got != 1 {
		t.Errorf("upgrades %v", got)
	}
}

// TestHealthDegradedStaysReady: a failing check marked Degrades leaves the
// instance ready (200, status degraded, the check saying so); any other
// failing check makes it unavailable (503).
func TestHealthDegradedStaysReady(t *testing.T) {
	var natsErr, dbErr error
	h := NewHealth(0,
		Check{Name: "postgres", Func: func(context.Context) error { return dbErr }},
		Check{Name: "nats", Degrades: true, Func: func(context.Context) error { return natsErr }})
	h.maxAge = 0
	ready := func() (int, string) {
		rec := httptest.NewRecorder()
		h.Ready(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	natsErr = errors.New("not connected")
	if code, body := ready(); code != 200 || !strings.Contains(body, `"status":"degraded"`) ||
		!strings.Contains(body, `"nats":"degraded: not connected"`) || !strings.Contains(body, `"postgres":"ok"`) {
		t.Errorf("NATS down: %d %s", code, body)
	}
	dbErr = errors.New("connection refused")
	if code, body := ready(); code != 503 || !strings.Contains(body, `"status":"unavailable"`) {
		t.Errorf("NATS and PostgreSQL down: %d %s", code, body)
	}
	natsErr, dbErr = nil, nil
	if code, body := ready(); code != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("all up: %d %s", code, body)
	}
}

// TestMiddlewareCountsAbortsAndProbesApart: a request whose client went away
// before the answer counts as 499 whatever the handler then wrote, and
// /readyz's 503s count as probes, so that code=~"5.." of
// corkboard_http_requests_total counts only the server's own failures.
func TestMiddlewareCountsAbortsAndProbesApart(t *testing.T) {
	m := NewMetrics()
	r := chi.NewRouter()
	r.Use(m.Middleware)
	entered := make(chan struct{}, 1)
	r.Get("/api/slow", func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done() // the database call fails with the request's context
		w.WriteHeader(http.StatusInternalServerError)
	})
	r.Get("/api/broken", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	srv := httptest.NewServer(r)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/slow", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	<-done
	for _, path := range []string{"/api/broken", "/readyz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The aborted request is counted when its handler returns, just after
	// the client's cancel: poll for it.
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(m.requests.WithLabelValues("GET", "/api/slow", "499")) != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "/api/slow", "499")); got != 1 {
		t.Errorf("aborted request counted as 499 %v times", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "/api/slow", "500")); got != 0 {
		t.Errorf("aborted request counted as 500 %v times", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "/api/broken", "503")); got != 1 {
		t.Errorf("a real 503 counted %v times", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "/readyz", "503")); got != 0 {
		t.Errorf("/readyz counted with the requests %v times", got)
	}
	if got := testutil.ToFloat64(m.probes.WithLabelValues("/readyz", "503")); got != 1 {
		t.Errorf("/readyz probes %v", got)
	}
}
