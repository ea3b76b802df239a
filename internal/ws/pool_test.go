package ws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/wsclient"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/ws"
)

// newPoolEnv is newEnv with the writer pool's options and a queue big
// enough that nobody is closed as too slow.
func newPoolEnv(t *testing.T, o ws.Options) *env {
	t.Helper()
	e := &env{log: &memLog{}}
	e.hub = hub.New(hub.Options{Log: e.log, QueueBytes: 256 << 20, HeadInterval: time.Hour})
	o.Hub = e.hub
	o.MaxPerUser = 1000
	o.Identify = func(r *http.Request) (board.Principal, error) {
		if u, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && u != "" {
			return board.Principal{UserID: u}, nil
		}
		return board.Principal{}, board.Errorf(board.EUnauthenticated, "who are you?")
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

// TestPoolDeliversEveryEventInOrder: many connections served by a pool of
// one or two writers, with and without a coalescing window, while events
// are published from several goroutines: every connection gets every event
// once, in seq order.
func TestPoolDeliversEveryEventInOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		writers int
		window  time.Duration
	}{
		{"one writer", 1, 0},
		{"two writers", 2, 0},
		{"coalescing 5ms", 2, 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPoolEnv(t, ws.Options{Writers: tc.writers, CoalesceWindow: tc.window})
			const conns, events = 60, 300
			clients := make([]*wsclient.Conn, conns)
			for i := range clients {
				clients[i] = dial(t, e, "alice")
				if err := clients[i].Subscribe(t.Context(), boardID, 0); err != nil {
					t.Fatal(err)
				}
				if f := next(t, clients[i]); f.Type != "subscribed" {
					t.Fatalf("got %+v, want subscribed", f)
				}
			}
			// Publish holds the order: events are added to the log and
			// published under one lock, from four goroutines.
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range events / 4 {
						mu.Lock()
						e.publish("card.updated")
						mu.Unlock()
					}
				})
			}
			var check sync.WaitGroup
			errs := make(chan error, conns)
			for i, c := range clients {
				check.Go(func() {
					want := int64(1)
					for want <= events {
						select {
						case f, ok := <-c.Frames():
							if !ok {
								errs <- fmt.Errorf("client %d: ended at seq %d: %v", i, want, c.Err())
								return
							}
							if f.Type != "event" {
								continue
							}
							if f.Seq != want {
								errs <- fmt.Errorf("client %d: got seq %d, want %d", i, f.Seq, want)
								return
							}
							want++
						case <-time.After(10 * time.Second):
							errs <- fmt.Errorf("client %d: stuck before seq %d", i, want)
							return
						}
					}
				})
			}
			wg.Wait()
			check.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestPoolBlockedClientHoldsNobodyUp: a client that stops reading fills its
// socket; the pool's single writer does not wait for it, so the other
// subscriber gets every event long before the blocked write would time out;
// when the stuck client reads again it gets every event too, in order.
func TestPoolBlockedClientHoldsNobodyUp(t *testing.T) {
	e := newPoolEnv(t, ws.Options{Writers: 1, WriteTimeout: time.Hour})
	stuck, err := wsclient.Dial(t.Context(), e.url, "alice", 1) // stops reading when one frame waits
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stuck.Kill() })
	good := dial(t, e, "alice")
	for _, c := range []*wsclient.Conn{stuck, good} {
		if err := c.Subscribe(t.Context(), boardID, 0); err != nil {
			t.Fatal(err)
		}
	}
	if f := next(t, good); f.Type != "subscribed" {
		t.Fatalf("got %+v, want subscribed", f)
	}
	// 64 KiB events, 30 MiB in all: more than loopback socket buffers hold.
	data, _ := json.Marshal(map[string]string{"title": strings.Repeat("x", 64<<10)})
	const events = 480
	go func() {
		for range events {
			e.log.mu.Lock()
			ev := board.Event{BoardID: boardID, Seq: int64(len(e.log.events) + 1), Kind: "card.updated",
				Data: data, Actor: "alice", At: time.Now()}
			e.log.events = append(e.log.events, ev)
			e.log.mu.Unlock()
			e.hub.Publish(ev)
		}
	}()
	for want := int64(1); want <= events; {
		f := next(t, good) // 5 s each at most; the blocked write would hold it for an hour
		if f.Type != "event" {
			continue
		}
		if f.Seq != want {
			t.Fatalf("got seq %d, want %d", f.Seq, want)
		}
		want++
	}
	// The stuck client reads again: what its socket did not take was kept
	// and comes in order, after the rest, nothing lost or repeated.
	for want := int64(1); want <= events; {
		f := next(t, stuck)
		if f.Type != "event" {
			continue
		}
		if f.Seq != want {
			t.Fatalf("stuck client: got seq %d, want %d", f.Seq, want)
		}
		want++
	}
}

// TestFrameSentWithTheUpgradeIsRead: a client that sends its first frame in
// the same packet as the upgrade request (net/http has read it already when
// the connection is hijacked) gets it answered.
func TestFrameSentWithTheUpgradeIsRead(t *testing.T) {
	e := newPoolEnv(t, ws.Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := []byte(`{"type":"ping","id":"with-the-upgrade"}`)
	key := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload)), key[0], key[1], key[2], key[3]}
	for i, b := range payload {
		frame = append(frame, b^key[i%4])
	}
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Authorization: Bearer alice\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // a bound for the reads
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, msg); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != 0x81 || !strings.Contains(string(msg), `"type":"pong"`) || !strings.Contains(string(msg), "with-the-upgrade") {
		t.Fatalf("got frame %x %q, want the pong", hdr, msg)
	}
}
