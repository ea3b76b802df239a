// Package wsclient is the Go client of Corkboard's WebSocket protocol, on
// coder/websocket, for tests (cmd/server's end-to-end and topology tests,
// internal/ws): it reads every message the server sends, splits it into
// frames (SplitFrames) and hands them over in order, one goroutine per
// connection.
//
// The load generator keeps its own reader (devtools/cmd/loadgen/rawws_linux.go):
// thousands of non-blocking sockets read by a few epoll loops, no goroutine
// or websocket.Conn per connection, because it shares the CPUs with the
// servers it measures and that reader costs it 4–6 µs per delivery against
// 8–10 µs with this client (docs/load.md). It splits messages with
// SplitFrames too.
package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/corkboard/corkboard/internal/board"
)

// Frame is any server frame; the fields that do not belong to its type are
// zero.
type Frame struct {
	Type    string          `json:"type"`
	Board   string          `json:"board"`
	Seq     int64           `json:"seq"`
	Kind    string          `json:"kind"`
	Data    json.RawMessage `json:"data"`
	Actor   string          `json:"actor"`
	OpID    string          `json:"op_id"`
	At      time.Time       `json:"at"`
	Reason  string          `json:"reason"`
	Users   []string        `json:"users"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	ID      string          `json:"id"`

	Received time.Time `json:"-"` // when the message holding it arrived
}

// Event returns the frame as an event.
func (f Frame) Event() board.Event {
	return board.Event{BoardID: f.Board, Seq: f.Seq, Kind: f.Kind, Data: f.Data, Actor: f.Actor, OpID: f.OpID, At: f.At}
}

// Conn is a client connection. Frames delivers what the server sends until
// the connection ends; then Err says why.
type Conn struct {
	c      *websocket.Conn
	frames chan Frame
	err    error
	done   chan struct{}
}

// Dial connects to the WebSocket endpoint at url (ws://host/api/ws) with a
// credential: an API token or session secret, sent as a Bearer token.
// buffer is the capacity of the Frames channel; a full channel makes the
// client stop reading, as a slow client would.
func Dial(ctx context.Context, url, credential string, buffer int) (*Conn, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+credential)
	c, _, err := DialHeader(ctx, url, h, buffer)
	return c, err
}

// DialHeader is Dial with the upgrade request's headers given in full (the
// credential among them, or none); when the server refuses the upgrade it
// returns the server's response with the error.
func DialHeader(ctx context.Context, url string, h http.Header, buffer int) (*Conn, *http.Response, error) {
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, resp, fmt.Errorf("dial %s: %w", url, err)
	}
	c.SetReadLimit(64 << 20)
	conn := &Conn{c: c, frames: make(chan Frame, buffer), done: make(chan struct{})}
	go conn.read()
	return conn, resp, nil
}

// Frames delivers the server's frames in order; it is closed when the
// connection ends.
func (c *Conn) Frames() <-chan Frame { return c.frames }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (valid after Done).
func (c *Conn) Err() error { return c.err }

// CloseStatus is the close code the server sent, or -1.
func (c *Conn) CloseStatus() websocket.StatusCode { return websocket.CloseStatus(c.err) }

func (c *Conn) read() {
	defer close(c.done)
	defer close(c.frames)
	ctx := context.Background()
	for {
		_, msg, err := c.c.Read(ctx)
		if err != nil {
			c.err = err
			return
		}
		now := time.Now()
		for line := range SplitFrames(msg) {
			var f Frame
			if err := json.Unmarshal(line, &f); err != nil {
				c.err = fmt.Errorf("bad frame %q: %w", line, err)
				c.c.Close(websocket.StatusProtocolError, "bad frame") //nolint:errcheck // closing anyway
				return
			}
			f.Received = now
			c.frames <- f
		}
	}
}

// SplitFrames yields the frames of one server message in order: the server
// batches the frames waiting for a connection into one message, one JSON
// object per line.
func SplitFrames(msg []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(msg) > 0 {
			line := msg
			if i := bytes.IndexByte(msg, '\n'); i >= 0 {
				line, msg = msg[:i], msg[i+1:]
			} else {
				msg = nil
			}
			if !yield(line) {
				return
			}
		}
	}
}

// Send sends one client frame.
func (c *Conn) Send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.c.Write(ctx, websocket.MessageText, b)
}

// SendRaw sends a text message as is.
func (c *Conn) SendRaw(ctx context.Context, b []byte) error {
	return c.c.Write(ctx, websocket.MessageText, b)
}

// Subscribe asks for a board's events, after since when since >= 0.
func (c *Conn) Subscribe(ctx context.Context, boardID string, since int64) error {
	f := map[string]any{"type": "subscribe", "board": boardID}
	if since >= 0 {
		f["since"] = since
	}
	return c.Send(ctx, f)
}

// Close closes the connection normally.
func (c *Conn) Close() error { return c.c.Close(websocket.StatusNormalClosure, "") }

// Kill drops the connection without a closing handshake.
func (c *Conn) Kill() error { return c.c.CloseNow() }
