//go:build linux

package rawws

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// collector is a Handler that keeps every message; the test reads it once
// the poller is closed.
type collector struct {
	fd   int
	r    Reader
	mu   sync.Mutex
	got  []string
	err  error
	done chan struct{}
}

func (c *collector) Readable(int64) bool {
	if err := c.r.ReadFrom(c.fd); err != nil {
		c.finish(err)
		return true
	}
	err := c.r.Feed(func(m []byte) {
		c.mu.Lock()
		c.got = append(c.got, string(m))
		c.mu.Unlock()
	}, func(p []byte) {
		WriteAll(c.fd, ClientFrame(OpPong, p)) //nolint:errcheck // the server reports a missing pong
	})
	if err != nil || c.r.Closed {
		c.finish(err)
		return true
	}
	return false
}

func (c *collector) finish(err error) {
	c.err = err
	close(c.done)
}

// TestPollerAgainstCoderWebsocket runs the client against coder/websocket
// over TCP: a header the server checks, single and fragmented messages,
// 16- and 64-bit lengths, a ping the client must answer, a message the
// client sent, and the close frame.
func TestPollerAgainstCoderWebsocket(t *testing.T) {
	big := strings.Repeat("x", 70_000)
	mid := strings.Repeat("y", 300)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tester" {
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		ctx := r.Context()
		_, hello, err := c.Read(ctx) // the client's first message, echoed below
		if err != nil {
			return
		}
		go func() { // the pongs
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}()
		c.Write(ctx, websocket.MessageText, []byte("one")) //nolint:errcheck // the test sees what arrives
		wr, _ := c.Writer(ctx, websocket.MessageText)
		wr.Write([]byte("frag"))                         //nolint:errcheck // as above
		wr.Write([]byte("ment"))                         //nolint:errcheck // as above
		wr.Close()                                       //nolint:errcheck // as above
		c.Write(ctx, websocket.MessageText, []byte(mid)) //nolint:errcheck // as above
		c.Write(ctx, websocket.MessageText, hello)       //nolint:errcheck // as above
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		perr := c.Ping(pctx)
		cancel()
		msg := "pong ok"
		if perr != nil {
			msg = "pong missing: " + perr.Error()
		}
		c.Write(ctx, websocket.MessageText, []byte(msg)) //nolint:errcheck // as above
		c.Write(ctx, websocket.MessageText, []byte(big)) //nolint:errcheck // as above
		c.Close(4001, "too slow")                        //nolint:errcheck // as above
	}))
	defer srv.Close()

	if _, _, err := Dial(t.Context(), srv.URL, "/", ""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("dial without the header: %v, want the 401 refusal", err)
	}
	if _, _, err := Dial(t.Context(), "http://192.0.2.1:80", "/", ""); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("dial of a non-loopback address: %v, want refused", err)
	}
	fd, rest, err := Dial(t.Context(), srv.URL, "/", "Authorization: Bearer tester\r\n")
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := WriteAll(fd, ClientFrame(OpText, []byte(`{"hello":1}`))); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p, err := NewPoller(2, func() int64 { return int64(time.Since(start)) })
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{fd: fd, done: make(chan struct{})}
	c.r.Buf = append(make([]byte, 0, 2048), rest...)
	if err := p.Add(1, fd, c); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Error("no close frame within 10 s")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if c.err != nil {
		t.Fatal(c.err)
	}
	want := []string{"one", "fragment", mid, `{"hello":1}`, "pong ok", big}
	if len(c.got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(c.got), len(want))
	}
	for i := range want {
		if c.got[i] != want[i] {
			t.Errorf("message %d = %.40q (%d bytes), want %.40q (%d bytes)", i, c.got[i], len(c.got[i]), want[i], len(want[i]))
		}
	}
	if !c.r.Closed || c.r.Code != 4001 || c.r.Reason != "too slow" {
		t.Errorf("close: %v %d %q, want 4001 too slow", c.r.Closed, c.r.Code, c.r.Reason)
	}
}

// TestReaderRejects checks that frames no server may send are errors.
func TestReaderRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"masked":                {0x81, 0x81, 1, 2, 3, 4, 'x'},
		"compressed":            {0xc1, 0x01, 'x'},
		"continuation first":    {0x80, 0x01, 'x'},
		"unknown opcode":        {0x83, 0x00},
		"message in a fragment": {0x01, 0x01, 'a', 0x81, 0x01, 'b'},
		"huge":                  {0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0},
	} {
		r := Reader{Buf: b}
		if err := r.Feed(func([]byte) {}, func([]byte) {}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A partial frame waits for more.
	r := Reader{Buf: []byte{0x81, 0x05, 'a', 'b'}}
	var got []string
	if err := r.Feed(func(m []byte) { got = append(got, string(m)) }, nil); err != nil || len(got) != 0 || len(r.Buf) != 4 {
		t.Fatalf("partial frame: %v, %q, %d bytes kept", err, got, len(r.Buf))
	}
	r.Buf = append(r.Buf, 'c', 'd', 'e')
	if err := r.Feed(func(m []byte) { got = append(got, string(m)) }, nil); err != nil || len(got) != 1 || got[0] != "abcde" {
		t.Fatalf("completed frame: %v, %q", err, got)
	}
}

// TestArrivalTimes reads a server's message on a socket with arrival times
// on: the stamp must lie between the server's write and the read.
func TestArrivalTimes(t *testing.T) {
	written := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		defer c.CloseNow() //nolint:errcheck // the test is over

		// The client's word that its arrival times are on.
		if _, _, err := c.Read(r.Context()); err != nil {
			return
		}
		before := time.Now()
		if err := c.Write(r.Context(), websocket.MessageText, []byte("stamped")); err != nil {
			return
		}
		written <- before
		c.Read(r.Context()) //nolint:errcheck // until the client goes
	}))
	defer srv.Close()
	fd, rest, err := Dial(context.Background(), srv.URL, "/", "")
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if len(rest) > 0 {
		t.Fatalf("bytes before arrival times were on: %q", rest)
	}
	var r Reader
	if err := r.EnableArrivalTimes(fd); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(fd, ClientFrame(OpText, []byte("go"))); err != nil {
		t.Fatal(err)
	}
	before := <-written
	var got []string
	for len(got) == 0 {
		if err := r.ReadFrom(fd); err != nil { // blocking: Dial's socket
			t.Fatal(err)
		}
		if err := r.Feed(func(m []byte) { got = append(got, string(m)) }, func([]byte) {}); err != nil {
			t.Fatal(err)
		}
	}
	read := time.Now()
	if got[0] != "stamped" {
		t.Fatalf("got %q", got)
	}
	if r.Arrived == 0 {
		t.Fatal("no arrival time")
	}
	if at := time.Unix(0, r.Arrived); at.Before(before.Round(0)) || at.After(read.Round(0)) {
		t.Errorf("arrived %v, not between the write (%v) and the read (%v)", at, before, read)
	}
}
