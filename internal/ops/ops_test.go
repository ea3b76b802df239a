package ops

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "/api/ws", "101")); got != 1 {
		t.Errorf("upgrades %v", got)
	}
}
