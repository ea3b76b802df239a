package main

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/natsbus"
)

// typingFrame is the whole server side of a new kind of real-time message,
// with typingHandler below: a typing indicator, which is not in the log.
type typingFrame struct {
	Type  string   `json:"type"` // "typing"
	Board string   `json:"board"`
	Users []string `json:"users"`
}

// typingHandler takes the kind from the bus to this instance's subscribers.
func typingHandler(a *App) natsbus.Handler {
	return func(m natsbus.Message) { a.hub.Broadcast(m.Board, m.Payload) }
}

// A new kind of real-time message is a frame type and a handler registered
// on the bus after construction: sent by one instance, it reaches the
// board's subscribers on another instance over NATS, and nobody else.
func TestANewRealtimeKindReachesSubscribers(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 2, nil)
	a0, a1 := cl.apps[0], cl.apps[1]
	b, _ := a0.api(t, "typist").newBoard("typing")
	other, _ := a0.api(t, "typist").newBoard("elsewhere")
	watcher := dialSubscriber(t, a1, "typist", "watcher")
	watcher.subscribe(b, 0)
	watcher.waitSubscribed(b)
	bystander := dialSubscriber(t, a1, "typist", "bystander")
	bystander.subscribe(other, 0)
	bystander.waitSubscribed(other)
	for _, a := range cl.apps {
		a.bus.Register("typing", typingHandler(a))
	}

	payload, err := json.Marshal(typingFrame{Type: "typing", Board: b, Users: []string{"typist"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a0.bus.Send(natsbus.Message{Kind: "typing", Board: b, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the typing frame on the other instance", func() bool {
		f, ok := watcher.frameOf("typing", b)
		return ok && slices.Equal(f.Users, []string{"typist"})
	})
	time.Sleep(100 * time.Millisecond)
	if f, ok := bystander.frameOf("typing", b); ok {
		t.Errorf("a subscriber of another board got %+v", f)
	}
}
