package hub

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// commitBig commits an event whose payload holds a description of 10,000
// '<', as the store keeps a card.updated of such a card.
func (l *fakeLog) commitBig(boardID string) board.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.boards[boardID]
	seq := int64(len(b.events)) + 1
	data, err := board.MarshalJSON(map[string]string{"id": fmt.Sprint(seq), "description": strings.Repeat("<", 10_000)})
	if err != nil {
		panic(err)
	}
	e := board.Event{BoardID: boardID, Seq: seq, Kind: board.KindCardUpdated, Data: json.RawMessage(data),
		Actor: "writer", OpID: fmt.Sprintf("op-%d", seq)}
	b.events = append(b.events, e)
	return e
}

// TestCatchUpBigEvents: a subscriber from 0 on a board of 300 events of
// about 10 KB each (more than one batch of board.MaxEventsPageBytes) while
// a writer commits and publishes 50 more receives each of the 350 events
// exactly once, in order, each frame about 10 KB (no \u003c), and the log
// was read in several batches.
func TestCatchUpBigEvents(t *testing.T) {
	const (
		before = 300
		during = 50
	)
	lg := newFakeLog()
	lg.create("big")
	for range before {
		lg.commitBig("big")
	}
	h := newTestHub(t, Options{Log: lg, Bus: newFakeBus(), HeadInterval: 10 * time.Millisecond, QueueBytes: 16 << 20})
	c := h.Connect("reader")
	defer c.Close(nil)

	var wg sync.WaitGroup
	wg.Go(func() {
		for range during {
			h.Publish(lg.commitBig("big"))
		}
	})
	if err := c.Subscribe(t.Context(), "big", new(int64)); err != nil {
		t.Fatal(err)
	}
	var got []int64
	var largest int
	deadline := time.Now().Add(30 * time.Second)
	done := false
	var frames [][]byte
	for !done && time.Now().Before(deadline) {
		select {
		case <-c.Ready():
		case <-c.Done():
			t.Fatalf("subscriber closed: %v", c.Err())
		case <-time.After(time.Until(deadline)):
		}
		frames = c.Take(frames[:0])
		for _, b := range frames {
			f := parseFrame(t, b)
			if f.Type == FrameEvent {
				got = append(got, *f.Seq)
				largest = max(largest, len(b))
				done = *f.Seq >= before+during
			}
		}
	}
	wg.Wait()
	if want := seqRange(1, before+during); !slices.Equal(got, want) {
		t.Fatalf("got %d events %v, want 1..%d once each in order", len(got), got, before+during)
	}
	if largest > 10_000+1_000 {
		t.Errorf("an event frame of a description of 10,000 '<' is %d bytes", largest)
	}
	lg.mu.Lock()
	batches := lg.batches
	lg.mu.Unlock()
	if batches < 3 {
		t.Errorf("the catch-up read %d batches of the log, want at least 3 (each at most %d bytes)", batches, board.MaxEventsPageBytes)
	}
}
