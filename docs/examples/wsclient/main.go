// Command wsclient follows one Corkboard board live, the way any client
// should: load the snapshot, subscribe from its seq, apply every event in
// order, and after a dropped connection reconnect and resume from the last
// seq received. It prints one line per frame.
//
//	CORKBOARD_TOKEN=cbt_… go run ./docs/examples/wsclient -board <board id>
//
// It uses only the standard library and github.com/coder/websocket; see
// docs/protocol.md for the protocol it speaks.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// frame is any server frame; the fields that do not belong to its type stay
// zero.
type frame struct {
	Type    string          `json:"type"`
	Board   string          `json:"board"`
	Seq     int64           `json:"seq"`
	Kind    string          `json:"kind"`
	Data    json.RawMessage `json:"data"`
	Actor   string          `json:"actor"`
	Reason  string          `json:"reason"`
	Users   []string        `json:"users"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

// errStop ends the program without reconnecting; errResync reloads the
// snapshot and subscribes again at once.
var (
	errStop   = errors.New("stop")
	errResync = errors.New("resync")
)

// fatal is an error reconnecting cannot cure.
type fatal struct{ error }

func (f fatal) Unwrap() error { return f.error }

type client struct {
	base, token, board string
	last               int64 // the last seq applied; -1 before the snapshot
	events, max        int   // events printed; stop after max (0: never)
	reconnects         int
	out                io.Writer
}

func main() {
	base := flag.String("url", "http://localhost:8080", "the server (or the load balancer)")
	boardID := flag.String("board", "", "id of the board to follow (required)")
	since := flag.Int64("since", -1, "resume after this seq instead of loading the snapshot first")
	max := flag.Int("n", 0, "exit after this many events (0: run until Ctrl-C)")
	flag.Parse()
	token := os.Getenv("CORKBOARD_TOKEN")
	if token == "" || *boardID == "" {
		fmt.Fprintln(os.Stderr, "usage: CORKBOARD_TOKEN=<API token> wsclient -board <board id> [-url http://localhost:8080] [-since seq] [-n events]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := &client{base: strings.TrimRight(*base, "/"), token: token, board: *boardID, last: *since, max: *max, out: os.Stdout}
	if err := c.run(ctx); err != nil && !errors.Is(err, errStop) && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// run keeps a connection up until ctx ends or the server says to stop,
// reconnecting with exponential backoff (with jitter) after a drop.
func (c *client) run(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for {
		started := time.Now()
		var err error
		if c.last < 0 {
			err = c.loadSnapshot(ctx)
		}
		if err == nil {
			err = c.follow(ctx)
		}
		var f fatal
		switch {
		case errors.Is(err, errStop) || errors.As(err, &f) || ctx.Err() != nil:
			return err
		case errors.Is(err, errResync):
			continue
		}
		switch websocket.CloseStatus(err) {
		case websocket.StatusPolicyViolation, websocket.StatusMessageTooBig:
			// Revoked, too many connections or frames: log in again, or fix
			// the client.
			return fmt.Errorf("the server ended the connection for good: %w", err)
		}
		if time.Since(started) > 10*time.Second {
			backoff = 250 * time.Millisecond // it was up for a while: start over
		}
		wait := backoff/2 + time.Duration(time.Now().UnixNano()%int64(backoff/2+1))
		c.reconnects++
		log.Printf("connection lost (%v); resuming after seq %d in %v", err, c.last, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// loadSnapshot reads the board (GET /api/boards/{board}) and takes its seq as
// the point to subscribe from. A real client would keep the snapshot's
// columns and cards and apply the events to them.
func (c *client) loadSnapshot(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/boards/"+c.board, nil)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer resp.Body.Close()
	var snap struct {
		Board struct {
			Name string `json:"name"`
		} `json:"board"`
		Cards  []json.RawMessage `json:"cards"`
		Seq    int64             `json:"seq"`
		Code   string            `json:"code"`
		Detail string            `json:"detail"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		return fmt.Errorf("snapshot: %s: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fatal{fmt.Errorf("snapshot: %s: %s (%s)", resp.Status, snap.Detail, snap.Code)}
	}
	fmt.Fprintf(c.out, "snapshot  %q: %d cards at seq %d\n", snap.Board.Name, len(snap.Cards), snap.Seq)
	c.last = snap.Seq
	return nil
}

// follow connects, subscribes after c.last and handles frames until the
// connection ends.
func (c *client) follow(ctx context.Context) error {
	wsURL := "ws" + strings.TrimPrefix(c.base, "http") + "/api/ws" // http→ws, https→wss
	h := http.Header{"Authorization": {"Bearer " + c.token}}
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return fmt.Errorf("dial %s: %w", wsURL, err)
	}
	defer conn.CloseNow() //nolint:errcheck // a no-op after Close
	sub, err := json.Marshal(map[string]any{"type": "subscribe", "board": c.board, "since": c.last})
	if err != nil {
		return err
	}
	if err := conn.Write(ctx, websocket.MessageText, sub); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		// One message may hold several frames, one per line.
		for line := range bytes.SplitSeq(msg, []byte("\n")) {
			var f frame
			if err := json.Unmarshal(line, &f); err != nil {
				return fmt.Errorf("bad frame %q: %w", line, err)
			}
			if err := c.handle(f); err != nil {
				if errors.Is(err, errStop) {
					conn.Close(websocket.StatusNormalClosure, "") //nolint:errcheck // leaving
				}
				return err
			}
		}
	}
}

func (c *client) handle(f frame) error {
	switch f.Type {
	case "subscribed":
		if f.Seq > c.last {
			fmt.Fprintf(c.out, "subscribed  head %d; the log replays %d..%d\n", f.Seq, c.last+1, f.Seq)
		} else {
			fmt.Fprintf(c.out, "subscribed  head %d\n", f.Seq)
		}
	case "event":
		if f.Seq != c.last+1 {
			// The server never does this; a client must not apply it.
			return fatal{fmt.Errorf("event %d after %d: a gap", f.Seq, c.last)}
		}
		c.last = f.Seq
		data := string(f.Data)
		if len(data) > 100 {
			data = data[:100] + "…"
		}
		fmt.Fprintf(c.out, "event %4d  %-16s by %s: %s\n", f.Seq, f.Kind, f.Actor, data)
		if c.events++; c.max > 0 && c.events >= c.max {
			return errStop
		}
	case "resync":
		// The log can no longer continue from c.last: reload the snapshot
		// and subscribe from its seq (run does both after this).
		fmt.Fprintf(c.out, "resync  %s: reloading the snapshot\n", f.Reason)
		c.last = -1
		return errResync
	case "presence":
		fmt.Fprintf(c.out, "presence  %d viewing: %v\n", len(f.Users), f.Users)
	case "unsubscribed":
		fmt.Fprintf(c.out, "unsubscribed  %s\n", f.Reason)
		return errStop
	case "error":
		return fatal{fmt.Errorf("the server refused the subscription: %s (%s)", f.Message, f.Code)}
	}
	return nil
}
