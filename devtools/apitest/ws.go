package apitest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/corkboard/corkboard/devtools/wsclient"
)

// Conn is a WebSocket connection of a test: a wsclient.Conn with helpers
// that fail the test.
type Conn struct {
	*wsclient.Conn
	T testing.TB
}

// WSURL is the WebSocket endpoint of a server at base (http://host:port).
func WSURL(base string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/api/ws"
}

// Dial opens the WebSocket endpoint of the server at base (http://host:port)
// with a credential and extra headers (name/value pairs). It returns the
// HTTP response when the upgrade is refused. The connection is dropped when
// the test ends.
func Dial(t testing.TB, base string, c Cred, hdr ...string) (*Conn, *http.Response, error) {
	h := http.Header{}
	c.Apply(h)
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return DialURL(t, WSURL(base), h)
}

// DialURL opens a WebSocket at url with exactly the headers h.
func DialURL(t testing.TB, url string, h http.Header) (*Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := wsclient.DialHeader(ctx, url, h, 1024)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.Kill() })
	return &Conn{Conn: conn, T: t}, resp, nil
}

// MustDial is Dial that fails the test when the connection is refused.
func MustDial(t testing.TB, base string, c Cred, hdr ...string) *Conn {
	t.Helper()
	w, resp, err := Dial(t, base, c, hdr...)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s as %v: %v (HTTP %d)", base, c, err, status)
	}
	return w
}

// Next returns the next frame that is not presence, within d; false when
// the connection ended or nothing came.
func (w *Conn) Next(d time.Duration) (wsclient.Frame, bool) {
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-w.Frames():
			if !ok {
				return wsclient.Frame{}, false
			}
			if f.Type == "presence" {
				continue
			}
			return f, true
		case <-timeout:
			return wsclient.Frame{}, false
		}
	}
}

// Await returns the first frame other than presence that matches (skipping
// the others), within d; it fails the test otherwise.
func (w *Conn) Await(d time.Duration, what string, match func(wsclient.Frame) bool) wsclient.Frame {
	w.T.Helper()
	deadline := time.Now().Add(d)
	for {
		f, ok := w.Next(time.Until(deadline))
		if !ok {
			select {
			case <-w.Done():
				w.T.Fatalf("waiting for %s: the connection ended (%d: %v)", what, w.CloseStatus(), w.Err())
			default:
				w.T.Fatalf("no %s within %v", what, d)
			}
		}
		if match(f) {
			return f
		}
	}
}

// MustSend sends a client frame.
func (w *Conn) MustSend(v any) {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Send(ctx, v); err != nil {
		w.T.Fatalf("send %v: %v", v, err)
	}
}

var askID atomic.Int64

// Ask sends a frame with a fresh id and returns the answer carrying that id
// (or, to a subscribe, the subscribed frame of its board).
func (w *Conn) Ask(v map[string]any) wsclient.Frame {
	w.T.Helper()
	id := fmt.Sprintf("%d-%d", time.Now().UnixNano(), askID.Add(1))
	v["id"] = id
	w.MustSend(v)
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, ok := w.Next(time.Until(deadline))
		if !ok {
			w.T.Fatalf("no answer to %v (connection: %v)", v, w.Err())
		}
		if f.ID == id || (f.Type == "subscribed" && f.Board == v["board"]) {
			return f
		}
	}
}

// Join subscribes to a board's new events and waits for the subscribed
// frame; an error frame fails the test.
func (w *Conn) Join(boardID string) {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Subscribe(ctx, boardID, -1); err != nil {
		w.T.Fatal(err)
	}
	w.Await(10*time.Second, "subscribed", func(f wsclient.Frame) bool {
		if f.Type == "error" {
			w.T.Fatalf("subscribe %s: %+v", boardID, f)
		}
		return f.Type == "subscribed" && f.Board == boardID
	})
}

// Alive checks that the connection still answers a ping.
func (w *Conn) Alive(what string) {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Send(ctx, map[string]string{"type": "ping", "id": "alive"}); err != nil {
		w.T.Fatalf("%s: %v", what, err)
	}
	w.Await(5*time.Second, what+" (pong)", func(f wsclient.Frame) bool { return f.Type == "pong" && f.ID == "alive" })
}

// Closed waits up to d for the connection to end and returns its close
// status.
func (w *Conn) Closed(d time.Duration) (websocket.StatusCode, bool) {
	select {
	case <-w.Done():
		return w.CloseStatus(), true
	case <-time.After(d):
		return -1, false
	}
}

// ClosedWithin waits for the server to close the connection with code
// within d, and returns how long it took.
func (w *Conn) ClosedWithin(d time.Duration, code websocket.StatusCode, what string) time.Duration {
	w.T.Helper()
	start := time.Now()
	select {
	case <-w.Done():
	case <-time.After(d):
		w.T.Fatalf("%s: still open after %v", what, d)
	}
	if got := w.CloseStatus(); got != code {
		w.T.Errorf("%s: closed with %d (%v), want %d", what, got, w.Err(), code)
	}
	return time.Since(start)
}
