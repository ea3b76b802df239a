package hub

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// A user message reaches every client of its user whose user stream is on,
// and nobody else; the stream ends with Unsubscribe and with the client.
func TestUserStream(t *testing.T) {
	h := newTestHub(t, Options{Log: newFakeLog(), HeadInterval: time.Hour})
	on1, on2, off, other := h.Connect("u"), h.Connect("u"), h.Connect("u"), h.Connect("v")
	for _, c := range []*Client{on1, on2, other} {
		if err := c.SubscribeUser(); err != nil {
			t.Fatal(err)
		}
	}
	if err := on1.SubscribeUser(); board.ErrorCode(err) != board.EConflict {
		t.Errorf("subscribing twice: %v", err)
	}
	if err := off.UnsubscribeUser(); board.ErrorCode(err) != board.ENotFound {
		t.Errorf("unsubscribing without a stream: %v", err)
	}
	m := board.UserMessage{User: "u", Kind: board.UserBoardAdded, Board: "b", Data: []byte(`{"id":"b","name":"<x>"}`)}
	h.SendUser(m)
	want := []byte(`{"type":"user","kind":"board.added","board":"b","data":{"id":"b","name":"<x>"}}`)
	for name, c := range map[string]*Client{"on1": on1, "on2": on2} {
		if got := c.Take(nil); len(got) != 1 || !bytes.Equal(got[0], want) {
			t.Errorf("%s got %q, want %s", name, got, want)
		}
	}
	for name, c := range map[string]*Client{"off": off, "other": other} {
		if got := c.Take(nil); len(got) != 0 {
			t.Errorf("%s got %q", name, got)
		}
	}
	if err := on1.UnsubscribeUser(); err != nil {
		t.Fatal(err)
	}
	on2.Close(nil)
	h.SendUser(m)
	if got := on1.Take(nil); len(got) != 0 {
		t.Errorf("after unsubscribe_user: %q", got)
	}
	if err := on2.SubscribeUser(); board.ErrorCode(err) != board.EConflict {
		t.Errorf("a closed client subscribed: %v", err)
	}
	h.mu.Lock()
	streams := len(h.userStreams["u"])
	h.mu.Unlock()
	if streams != 0 {
		t.Errorf("%d user streams of u left", streams)
	}
}

// SendUser never blocks: a client whose queue is full is closed as too
// slow, while others connect, subscribe and close concurrently.
func TestUserStreamConcurrent(t *testing.T) {
	h := newTestHub(t, Options{Log: newFakeLog(), HeadInterval: time.Hour, QueueBytes: 4096})
	slow := h.Connect("u")
	if err := slow.SubscribeUser(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				c := h.Connect("u")
				c.SubscribeUser() //nolint:errcheck // racing the close below
				c.Take(nil)
				c.Close(nil)
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 500 {
				h.SendUser(board.UserMessage{User: "u", Kind: board.UserNotification, Data: []byte(`{"id":1}`)})
			}
		})
	}
	wg.Wait()
	if !errors.Is(slow.Err(), ErrTooSlow) {
		t.Errorf("the client that never read: %v, want ErrTooSlow", slow.Err())
	}
	if st := h.Stats(); st.Clients != 0 {
		t.Errorf("%d clients left", st.Clients)
	}
}
