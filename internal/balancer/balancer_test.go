package balancer

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// instance is a fake backend: it names itself, answers /readyz per ready,
// and echoes WebSocket messages.
type instance struct {
	name  string
	ready atomic.Bool
	hits  atomic.Int64
	srv   *httptest.Server
	fwd   atomic.Value // last X-Forwarded-For
}

func newInstance(t *testing.T, name string) *instance {
	in := &instance{name: name}
	in.ready.Store(true)
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			if !in.ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "/ws":
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			for {
				typ, msg, err := c.Read(r.Context())
				if err != nil {
					return
				}
				c.Write(r.Context(), typ, append([]byte(in.name+":"), msg...)) //nolint:errcheck // test echo
			}
		default:
			in.hits.Add(1)
			in.fwd.Store(r.Header.Get("X-Forwarded-For"))
			body, _ := io.ReadAll(r.Body)
			io.WriteString(w, in.name+" "+r.Method+" "+string(body)) //nolint:errcheck // test
		}
	}))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *instance) addr() string { return strings.TrimPrefix(in.srv.URL, "http://") }

func TestRoundRobinReadinessAndRetry(t *testing.T) {
	a, b, c := newInstance(t, "a"), newInstance(t, "b"), newInstance(t, "c")
	// d is an address nothing listens on: a restarting instance.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()

	lb := New(Options{Backends: []string{a.addr(), b.addr(), c.addr(), dead}, CheckInterval: 20 * time.Millisecond, Logger: quiet()})
	defer lb.Close()
	front := httptest.NewServer(lb)
	defer front.Close()

	post := func() string {
		resp, err := http.Post(front.URL+"/x", "application/json", strings.NewReader(`{"n":1}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return string(body)
	}
	// Every request lands, the dead backend's included (sent on, body and
	// all), spread over the live ones.
	for range 30 {
		if got := post(); !strings.HasSuffix(got, ` POST {"n":1}`) {
			t.Fatalf("got %q", got)
		}
	}
	for _, in := range []*instance{a, b, c} {
		if n := in.hits.Load(); n < 5 {
			t.Errorf("%s got %d of 30 requests: not round-robin", in.name, n)
		}
		if f, _ := in.fwd.Load().(string); f != "127.0.0.1" {
			t.Errorf("X-Forwarded-For = %q", f)
		}
	}
	// A backend that is not ready gets nothing.
	b.ready.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for slices.Contains(lb.Ready(), b.addr()) || slices.Contains(lb.Ready(), dead) {
		if time.Now().After(deadline) {
			t.Fatalf("ready: %v", lb.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := b.hits.Load()
	for range 20 {
		post()
	}
	if b.hits.Load() != before {
		t.Errorf("an unready backend got %d requests", b.hits.Load()-before)
	}
}

func TestWebSocketsAreProxied(t *testing.T) {
	a, b := newInstance(t, "a"), newInstance(t, "b")
	lb := New(Options{Backends: []string{a.addr(), b.addr()}, CheckInterval: time.Hour, Logger: quiet()})
	defer lb.Close()
	front := httptest.NewServer(lb)
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for range 4 {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(front.URL, "http")+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		name, rest, _ := strings.Cut(string(msg), ":")
		if rest != "hi" {
			t.Fatalf("echo %q", msg)
		}
		seen[name] = true
		c.Close(websocket.StatusNormalClosure, "")
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("connections went to %v, want both instances (no stickiness)", seen)
	}
}
