package ws_test

import (
	"context"
	"encoding/json"
	"errors"
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

// bearerIdentify takes the bearer credential as the user id, refusing those
// in revoked.
func bearerIdentify(revoked *sync.Map) func(r *http.Request) (board.Principal, error) {
	return func(r *http.Request) (board.Principal, error) {
		u, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if _, gone := revoked.Load(u); gone || u == "" {
			return board.Principal{}, board.Errorf(board.EUnauthenticated, "session ended")
		}
		return board.Principal{UserID: u}, nil
	}
}

// newEnvWith starts an endpoint with the options given (Hub and, unless
// set, Identify are filled in).
func newEnvWith(t *testing.T, ho hub.Options, o ws.Options) *env {
	t.Helper()
	e := &env{log: &memLog{}}
	ho.Log = e.log
	if ho.HeadInterval == 0 {
		ho.HeadInterval = time.Hour
	}
	e.hub = hub.New(ho)
	o.Hub = e.hub
	if o.Identify == nil {
		o.Identify = bearerIdentify(&sync.Map{})
	}
	e.ws = ws.New(o)
	e.srv = httptest.NewServer(e.ws)
	e.url = "ws" + strings.TrimPrefix(e.srv.URL, "http")
	t.Cleanup(func() {
		e.hub.Close()
		e.ws.Wait(context.Background()) //nolint:errcheck // bounded by the hub closing every client
		e.srv.Close()
	})
	return e
}

// closeStatusWithin waits for the connection to end and returns the close
// code the server sent; it fails the test if the connection is still open
// after d (a bound far above what it takes, not a measurement).
func closeStatusWithin(t *testing.T, c *wsclient.Conn, d time.Duration) websocket.StatusCode {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case _, ok := <-c.Frames():
			if !ok {
				return c.CloseStatus()
			}
		case <-timeout:
			t.Fatalf("the connection is still open after %v", d)
		}
	}
}

// TestTooSlowWhilePinging: the writer has sent a ping that the client does
// not answer (it reads nothing) when the client's queue overflows (an event
// larger than the whole queue): the connection is closed as too slow (4001)
// at once, not as "ping timed out" (1001) after the write timeout.
func TestTooSlowWhilePinging(t *testing.T) {
	e := newEnvWith(t, hub.Options{QueueBytes: 300},
		ws.Options{PingInterval: 20 * time.Millisecond, WriteTimeout: time.Second})
	ctx := t.Context()
	conn, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow() //nolint:errcheck // the test is over
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","board":"`+boardID+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.Read(ctx); err != nil || !strings.Contains(string(msg), `"subscribed"`) {
		t.Fatalf("got %q, %v; want subscribed", msg, err)
	}
	// The client stops reading: the server's next ping goes unanswered and
	// its writer waits for the pong.
	time.Sleep(100 * time.Millisecond)
	big := board.Event{BoardID: boardID, Seq: 1, Kind: "card.updated", Actor: "alice", At: time.Now(),
		Data: json.RawMessage(`{"id":"x","description":"` + strings.Repeat("x", 500) + `"}`)}
	e.log.add(big)
	e.hub.Publish(big)
	// Longer than the write timeout, so that a writer stuck in its ping
	// would have given up on it by the time the client reads again.
	time.Sleep(1500 * time.Millisecond)
	for {
		_, _, err := conn.Read(ctx)
		if err != nil {
			if got := websocket.CloseStatus(err); got != ws.StatusTooSlow {
				t.Fatalf("closed with %d (%v), want %d (too slow)", got, err, ws.StatusTooSlow)
			}
			return
		}
	}
}

// TestInvalidUTF8Closes1007: a text message that is not UTF-8 closes the
// connection with 1007 (RFC 6455 §8.1), before anything in it is handled.
func TestInvalidUTF8Closes1007(t *testing.T) {
	e := newEnv(t, 1<<20)
	c := dial(t, e, "alice")
	if err := c.SendRaw(t.Context(), []byte("{\"type\":\"ping\",\"id\":\"\xff\xfe\"}")); err != nil {
		t.Fatal(err)
	}
	if got := closeStatusWithin(t, c, 10*time.Second); got != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("close status %d, want %d", got, websocket.StatusInvalidFramePayloadData)
	}
}

// TestOriginScheme: the Origin must match the server's own origin or a
// trusted one in scheme as well as host: a page served over http cannot
// open a socket that an https page could, and the other way round.
func TestOriginScheme(t *testing.T) {
	e := newEnvWith(t, hub.Options{}, ws.Options{OriginPatterns: []string{"https://app.example"}})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	cases := []struct {
		origin, proto string
		ok            bool
	}{
		{"http://" + host, "", true},
		{"https://" + host, "", false}, // the server is served over http
		{"https://" + host, "https", true},
		{"http://" + host, "https", false},
		{"HTTP://" + strings.ToUpper(host), "", true},
		{"https://app.example", "", true},
		{"http://app.example", "", false},
		{"https://app.example.evil", "", false},
		{"null", "", false},
	}
	for _, tc := range cases {
		h := http.Header{"Authorization": {"Bearer alice"}, "Origin": {tc.origin}}
		if tc.proto != "" {
			h.Set("X-Forwarded-Proto", tc.proto)
		}
		conn, resp, err := websocket.Dial(t.Context(), e.url, &websocket.DialOptions{HTTPHeader: h})
		if tc.ok {
			if err != nil {
				t.Errorf("origin %s (proto %q): refused: %v", tc.origin, tc.proto, err)
				continue
			}
			conn.Close(websocket.StatusNormalClosure, "") //nolint:errcheck // done
			continue
		}
		if err == nil {
			conn.CloseNow() //nolint:errcheck // done
			t.Errorf("origin %s (proto %q): accepted, want 403", tc.origin, tc.proto)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %s (proto %q): %v, %v; want 403", tc.origin, tc.proto, resp, err)
		}
	}
}

// TestRecheckAll: RecheckAll makes every connection check its credential
// now: a revoked one is closed with 1008, others stay open — though neither
// the recheck interval nor a ping comes in the test's lifetime.
func TestRecheckAll(t *testing.T) {
	var revoked sync.Map
	e := newEnvWith(t, hub.Options{}, ws.Options{PingInterval: time.Hour, RecheckInterval: time.Hour,
		Identify: bearerIdentify(&revoked)})
	alice, bob := dial(t, e, "alice"), dial(t, e, "bob")
	for _, c := range []*wsclient.Conn{alice, bob} { // both connections are up
		if err := c.Send(t.Context(), map[string]any{"type": "ping"}); err != nil {
			t.Fatal(err)
		}
		next(t, c)
	}
	revoked.Store("alice", true)
	e.ws.RecheckAll()
	if got := closeStatusWithin(t, alice, 10*time.Second); got != websocket.StatusPolicyViolation {
		t.Fatalf("alice's close status %d, want %d", got, websocket.StatusPolicyViolation)
	}
	if err := bob.Send(t.Context(), map[string]any{"type": "ping"}); err != nil {
		t.Fatalf("bob's connection should stay open: %v", err)
	}
	if f := next(t, bob); f.Type != "pong" {
		t.Fatalf("bob got %+v", f)
	}
}

// TestRecheckOwnTimer: the credential is rechecked every RecheckInterval on
// its own timer, not on the ping's: with pings an hour apart, a revoked
// credential's socket is still closed with 1008.
func TestRecheckOwnTimer(t *testing.T) {
	var revoked sync.Map
	e := newEnvWith(t, hub.Options{}, ws.Options{PingInterval: time.Hour, RecheckInterval: 20 * time.Millisecond,
		Identify: bearerIdentify(&revoked)})
	alice := dial(t, e, "alice")
	revoked.Store("alice", true)
	if got := closeStatusWithin(t, alice, 10*time.Second); got != websocket.StatusPolicyViolation {
		t.Fatalf("alice's close status %d, want %d", got, websocket.StatusPolicyViolation)
	}
}

// TestSetRecheckInterval: shortening the interval (as while the bus is
// down) rechecks every connection at once, then at the new interval.
func TestSetRecheckInterval(t *testing.T) {
	var revoked sync.Map
	e := newEnvWith(t, hub.Options{}, ws.Options{PingInterval: time.Hour, RecheckInterval: time.Hour,
		Identify: bearerIdentify(&revoked)})
	alice := dial(t, e, "alice")
	if err := alice.Send(t.Context(), map[string]any{"type": "ping"}); err != nil {
		t.Fatal(err)
	}
	next(t, alice)
	e.ws.SetRecheckInterval(20 * time.Millisecond)
	time.Sleep(50 * time.Millisecond) // the immediate recheck has passed
	revoked.Store("alice", true)      // only a later, periodic one sees this
	if got := closeStatusWithin(t, alice, 10*time.Second); got != websocket.StatusPolicyViolation {
		t.Fatalf("alice's close status %d, want %d", got, websocket.StatusPolicyViolation)
	}
	if errors.Is(alice.Err(), context.Canceled) {
		t.Fatal("the test's context ended the connection")
	}
}
