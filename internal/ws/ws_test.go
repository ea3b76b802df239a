package ws_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/corkboard/corkboard/devtools/wsclient"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/ws"
)

const boardID = "11111111-2222-3333-4444-555555555555"

// memLog is an event log with one board that only "alice" may read.
type memLog struct {
	mu     sync.Mutex
	events []board.Event
}

func (l *memLog) add(e board.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *memLog) Events(_ context.Context, user, b string, since int64, limit int) ([]board.Event, int64, error) {
	if user != "alice" || b != boardID {
		return nil, 0, board.Errorf(board.ENotFound, "no such board")
	}
	evs, err := l.LogEvents(context.Background(), b, since, limit)
	l.mu.Lock()
	defer l.mu.Unlock()
	return evs, int64(len(l.events)), err
}

func (l *memLog) LogEvents(_ context.Context, _ string, since int64, limit int) ([]board.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []board.Event
	for _, e := range l.events {
		if e.Seq > since && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (l *memLog) Heads(context.Context, []string) (map[string]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return map[string]int64{boardID: int64(len(l.events))}, nil
}

type env struct {
	log *memLog
	hub *hub.Hub
	ws  *ws.Handler
	srv *httptest.Server
	url string
}

func newEnv(t *testing.T, queueBytes int) *env {
	t.Helper()
	e := &env{log: &memLog{}}
	e.hub = hub.New(hub.Options{Log: e.log, QueueBytes: queueBytes, HeadInterval: time.Hour})
	e.ws = ws.New(ws.Options{Hub: e.hub, MaxPerUser: 3, Identify: func(r *http.Request) (board.Principal, error) {
		// The bearer credential is the user id; an optional "/session" names
		// the session.
		if u, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && u != "" {
			user, session, _ := strings.Cut(u, "/")
			return board.Principal{UserID: user, SessionID: session}, nil
		}
		return board.Principal{}, board.Errorf(board.EUnauthenticated, "who are you?")
	}})
	e.srv = httptest.NewServer(e.ws)
	e.url = "ws" + strings.TrimPrefix(e.srv.URL, "http")
	t.Cleanup(func() {
		e.hub.Close()
		e.ws.Wait(context.Background()) //nolint:errcheck // bounded by the hub closing every client
		e.srv.Close()
	})
	return e
}

func (e *env) publish(kind string) board.Event {
	e.log.mu.Lock()
	ev := board.Event{BoardID: boardID, Seq: int64(len(e.log.events) + 1), Kind: kind,
		Data: json.RawMessage(`{"id":"x"}`), Actor: "alice", At: time.Now()}
	e.log.mu.Unlock()
	e.log.add(ev)
	e.hub.Publish(ev)
	return ev
}

func dial(t *testing.T, e *env, user string) *wsclient.Conn {
	t.Helper()
	c, err := wsclient.Dial(t.Context(), e.url, user, 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Kill() })
	return c
}

func next(t *testing.T, c *wsclient.Conn) wsclient.Frame {
	t.Helper()
	select {
	case f, ok := <-c.Frames():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame within 5s")
	}
	return wsclient.Frame{}
}

func TestSubscribeAndEvents(t *testing.T) {
	e := newEnv(t, 1<<20)
	e.publish("card.created")
	c := dial(t, e, "alice")
	if err := c.Subscribe(t.Context(), boardID, 0); err != nil {
		t.Fatal(err)
	}
	if f := next(t, c); f.Type != "subscribed" || f.Board != boardID || f.Seq != 1 {
		t.Fatalf("got %+v, want subscribed at 1", f)
	}
	if f := next(t, c); f.Type != "event" || f.Seq != 1 || f.Kind != "card.created" {
		t.Fatalf("got %+v, want event 1 from the log", f)
	}
	e.publish("card.updated")
	if f := next(t, c); f.Type != "event" || f.Seq != 2 || f.Kind != "card.updated" || string(f.Data) != `{"id":"x"}` {
		t.Fatalf("got %+v, want live event 2", f)
	}
	if err := c.Send(t.Context(), map[string]any{"type": "ping", "id": "p1"}); err != nil {
		t.Fatal(err)
	}
	if f := next(t, c); f.Type != "pong" || f.ID != "p1" {
		t.Fatalf("got %+v, want pong p1", f)
	}
	if err := c.Send(t.Context(), map[string]any{"type": "unsubscribe", "board": boardID, "id": "u1"}); err != nil {
		t.Fatal(err)
	}
	for {
		f := next(t, c)
		if f.Type == "presence" {
			continue
		}
		if f.Type != "unsubscribed" || f.Board != boardID || f.ID != "u1" {
			t.Fatalf("got %+v, want unsubscribed", f)
		}
		break
	}
}

// TestErrorFrames: every bad client frame gets an error frame with a stable
// code, and the connection stays usable.
func TestErrorFrames(t *testing.T) {
	e := newEnv(t, 1<<20)
	c := dial(t, e, "mallory")
	cases := []struct {
		name, send, code string
	}{
		{"not JSON", `{"type":`, board.EMalformed},
		{"not an object", `[1,2]`, board.EMalformed},
		{"two values", `{"type":"ping"} {"type":"ping"}`, board.EMalformed},
		{"unknown field", `{"type":"ping","extra":1}`, board.EMalformed},
		{"unknown type", `{"type":"dance"}`, board.EInvalid},
		{"no type", `{}`, board.EInvalid},
		{"bad board id", `{"type":"subscribe","board":"../etc"}`, board.EInvalid},
		{"negative since", `{"type":"subscribe","board":"` + boardID + `","since":-1}`, board.EInvalid},
		{"not a member", `{"type":"subscribe","board":"` + boardID + `"}`, board.ENotFound},
		{"unsubscribe unknown", `{"type":"unsubscribe","board":"` + boardID + `"}`, board.ENotFound},
		{"too large", `{"type":"ping","id":"` + strings.Repeat("x", ws.MaxFrameBytes) + `"}`, board.ETooLarge},
	}
	for _, tc := range cases {
		if err := c.SendRaw(t.Context(), []byte(tc.send)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		f := next(t, c)
		if f.Type != "error" || f.Code != tc.code || f.Message == "" {
			t.Errorf("%s: got %+v, want an error frame with code %s", tc.name, f, tc.code)
		}
	}
	if err := c.Send(t.Context(), map[string]any{"type": "ping"}); err != nil {
		t.Fatal(err)
	}
	if f := next(t, c); f.Type != "pong" {
		t.Fatalf("after the errors got %+v, want pong", f)
	}
}

func TestRefusedWithoutIdentity(t *testing.T) {
	e := newEnv(t, 1<<20)
	_, resp, err := websocket.Dial(t.Context(), e.url, nil)
	if err == nil {
		t.Fatal("dial without identity succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %v, want a 401 problem", resp)
	}
}

func TestForeignOriginRefused(t *testing.T) {
	e := newEnv(t, 1<<20)
	h := http.Header{"Authorization": {"Bearer alice"}, "Origin": {"https://evil.example"}}
	_, resp, err := websocket.Dial(t.Context(), e.url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %v, %v; want the upgrade refused with 403", resp, err)
	}
}

func closeStatus(t *testing.T, c *wsclient.Conn) websocket.StatusCode {
	t.Helper()
	for range c.Frames() {
	}
	return c.CloseStatus()
}

func TestMessageTooBigCloses(t *testing.T) {
	e := newEnv(t, 1<<20)
	c := dial(t, e, "alice")
	c.SendRaw(t.Context(), []byte(strings.Repeat("x", 100<<10))) //nolint:errcheck // the server closes on it
	if got := closeStatus(t, c); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status %d, want %d", got, websocket.StatusMessageTooBig)
	}
}

func TestSlowClientClosedTooSlow(t *testing.T) {
	e := newEnv(t, 300) // smaller than two event frames
	c := dial(t, e, "alice")
	if err := c.Subscribe(t.Context(), boardID, -1); err != nil {
		t.Fatal(err)
	}
	if f := next(t, c); f.Type != "subscribed" {
		t.Fatalf("got %+v", f)
	}
	for range 5 { // faster than any writer: the queue overflows
		e.publish("card.updated")
	}
	if got := closeStatus(t, c); got != ws.StatusTooSlow {
		t.Fatalf("close status %d, want %d (too slow)", got, ws.StatusTooSlow)
	}
	if e.hub.Stats().SlowCloses != 1 {
		t.Errorf("slow closes %d, want 1", e.hub.Stats().SlowCloses)
	}
}

func TestShutdownGoingAway(t *testing.T) {
	e := newEnv(t, 1<<20)
	c := dial(t, e, "alice")
	if err := c.Subscribe(t.Context(), boardID, -1); err != nil {
		t.Fatal(err)
	}
	next(t, c)
	e.hub.Close()
	if got := closeStatus(t, c); got != websocket.StatusGoingAway {
		t.Fatalf("close status %d, want going away", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.ws.Wait(ctx); err != nil {
		t.Fatalf("connections still open after shutdown: %v", err)
	}
}

// TestRecheckClosesRevokedCredential: a credential that stops being valid
// (its revocation lost on the bus) closes the connection at the next check.
func TestRecheckClosesRevokedCredential(t *testing.T) {
	e := &env{log: &memLog{}}
	var revoked sync.Map
	e.hub = hub.New(hub.Options{Log: e.log, HeadInterval: time.Hour})
	e.ws = ws.New(ws.Options{Hub: e.hub, PingInterval: 20 * time.Millisecond, RecheckInterval: 20 * time.Millisecond,
		Identify: func(r *http.Request) (board.Principal, error) {
			u, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if _, gone := revoked.Load(u); gone || u == "" {
				return board.Principal{}, board.Errorf(board.EUnauthenticated, "session ended")
			}
			return board.Principal{UserID: u}, nil
		}})
	e.srv = httptest.NewServer(e.ws)
	e.url = "ws" + strings.TrimPrefix(e.srv.URL, "http")
	t.Cleanup(func() { e.hub.Close(); e.srv.Close() })
	alice, bob := dial(t, e, "alice"), dial(t, e, "bob")
	revoked.Store("alice", true)
	if got := closeStatus(t, alice); got != websocket.StatusPolicyViolation {
		t.Fatalf("alice's close status %d, want %d", got, websocket.StatusPolicyViolation)
	}
	if err := bob.Send(t.Context(), map[string]any{"type": "ping"}); err != nil {
		t.Fatalf("bob's connection should stay open: %v", err)
	}
	if f := next(t, bob); f.Type != "pong" {
		t.Fatalf("bob got %+v", f)
	}
}
