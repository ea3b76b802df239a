package hub

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// TestStrangerNotInPresence: a non-member's subscription is refused before
// it counts as a viewer. 200 times, a presence flush runs while the
// stranger's membership is being checked: the owner's presence frames and
// this instance's announcements on the bus never name the stranger.
func TestStrangerNotInPresence(t *testing.T) {
	lg := newFakeLog()
	lg.create("b", "owner")
	bus := newFakeBus()
	h := newTestHub(t, Options{Log: lg, Bus: bus, PresenceDelay: time.Microsecond,
		PresenceInterval: time.Hour, HeadInterval: time.Hour})
	owner := h.Connect("owner")
	if err := owner.Subscribe(t.Context(), "b", nil); err != nil {
		t.Fatal(err)
	}
	var round int
	lg.setHooks(func(user, _ string) {
		if user != "stranger" {
			return
		}
		// While the stranger is being checked, presence changes: the owner
		// gets a frame computed now.
		viewer := fmt.Sprintf("viewer%03d", round)
		h.RemotePresence("b", "instance-2", []string{viewer})
		ok := drain(t, owner, time.Now().Add(5*time.Second), func(f rframe) bool {
			if f.Type != FramePresence {
				return false
			}
			if slices.Contains(f.Users, "stranger") {
				t.Errorf("round %d: the owner sees the stranger: %v", round, f.Users)
			}
			return slices.Contains(f.Users, viewer)
		})
		if !ok {
			t.Errorf("round %d: no presence frame naming %s", round, viewer)
		}
	}, nil)
	stranger := h.Connect("stranger")
	for round = range 200 {
		err := stranger.Subscribe(t.Context(), "b", nil)
		if board.ErrorCode(err) != board.ENotFound {
			t.Fatalf("round %d: stranger's subscribe: %v, want not_found", round, err)
		}
		if t.Failed() {
			break
		}
	}
	lg.setHooks(nil, nil)
	if bus.everAnnounced("stranger") {
		t.Error("the stranger was announced on the bus as a viewer")
	}
}

// TestRevokeRacingSubscribe: a member is removed from a board (and the
// revocation applied) while subscribing to it, at every moment of the
// subscription: before the membership check, between the log read and going
// live, and at random. The client is never left holding a subscription that
// receives nothing: it ends unsubscribed (or was refused), and the frames of
// the board end with an unsubscribed frame or an error.
func TestRevokeRacingSubscribe(t *testing.T) {
	lg := newFakeLog()
	lg.create("b", "owner", "member")
	lg.commitN("b", 5)
	h := newTestHub(t, Options{Log: lg, HeadInterval: time.Hour, PresenceDelay: time.Millisecond})
	revoke := func() {
		lg.setMember("b", "member", false)
		h.Revoke(board.Revocation{UserID: "member", BoardID: "b", Reason: "removed from the board"})
	}
	ctx := t.Context()
	for round := range 300 {
		lg.setMember("b", "member", true)
		c := h.Connect("member")
		var wg sync.WaitGroup
		switch round % 3 {
		case 0: // after the log was read, before going live
			lg.setHooks(nil, func(user, _ string, _ int64) {
				if user == "member" {
					revoke()
				}
			})
		case 1: // at the membership check
			lg.setHooks(func(user, _ string) {
				if user == "member" {
					revoke()
				}
			}, nil)
		default: // at any moment
			lg.setHooks(nil, nil)
			wg.Go(func() {
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				revoke()
			})
		}
		since := int64(rand.IntN(6))
		err := c.Subscribe(ctx, "b", &since)
		wg.Wait()
		lg.setHooks(nil, nil)
		if err != nil && board.ErrorCode(err) != board.ENotFound {
			t.Fatalf("round %d: subscribe: %v", round, err)
		}
		var got []string
		for _, f := range takeFrames(t, c) {
			if f.Board == "b" && f.Type != FramePresence && f.Type != FrameEvent {
				got = append(got, f.Type)
			}
		}
		if b := c.Boards(); len(b) != 0 {
			t.Fatalf("round %d: still subscribed to %v after the revocation (frames %q)", round, b, got)
		}
		if err == nil && (len(got) == 0 || got[len(got)-1] != FrameUnsubscribed) {
			t.Fatalf("round %d: subscribe succeeded, frames %q: want them to end with unsubscribed", round, got)
		}
		if err != nil && slices.Contains(got, FrameSubscribed) && got[len(got)-1] != FrameUnsubscribed {
			t.Fatalf("round %d: subscribe failed (%v) after frames %q", round, err, got)
		}
		c.Close(nil)
	}
	if st := h.Stats(); st.Subscribers != 0 {
		t.Errorf("Subscribers = %d, want 0", st.Subscribers)
	}
}

// forgedEvent is what anyone on the bus can publish: the board's next seq,
// made up.
func forgedEvent(boardID string, seq int64) board.Event {
	return board.Event{BoardID: boardID, Seq: seq, Kind: board.KindCardDeleted,
		Data: json.RawMessage(`{"id":"forged"}`), Actor: "mallory", OpID: "op-forged"}
}

// waitResync drains c until a resync frame and returns its reason ("" if
// none came).
func waitResync(t *testing.T, c *Client) (reason string, events []int64) {
	t.Helper()
	drain(t, c, time.Now().Add(10*time.Second), func(f rframe) bool {
		switch f.Type {
		case FrameEvent:
			events = append(events, *f.Seq)
		case FrameResync:
			reason = f.Reason
			return true
		}
		return false
	})
	return reason, events
}

// TestForgedBusEvent: an event forged on the bus with seq = head+1 is
// delivered (nothing can tell it apart then), but as soon as the log shows
// another event at that seq, the subscribers are told to resync: when the
// real event arrives, when the head check reads the log, or when the log
// has no such seq at all. A subscriber that resubscribes gets the real
// event.
func TestForgedBusEvent(t *testing.T) {
	for _, tc := range []struct {
		name string
		real func(h *Hub, lg *fakeLog) // what follows the forgery
	}{
		{"the real event published", func(h *Hub, lg *fakeLog) { h.Publish(lg.commit("b", board.KindCardUpdated)) }},
		{"the real event lost on the bus", func(h *Hub, lg *fakeLog) { lg.commit("b", board.KindCardUpdated) }},
		{"no real event", func(*Hub, *fakeLog) {}},
		{"the real event and the next", func(h *Hub, lg *fakeLog) {
			e := lg.commit("b", board.KindCardUpdated)
			h.Publish(lg.commit("b", board.KindCardUpdated))
			h.Publish(e)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lg := newFakeLog()
			lg.create("b")
			lg.commitN("b", 3)
			h := newTestHub(t, Options{Log: lg, HeadInterval: 20 * time.Millisecond})
			c := h.Connect("u")
			if err := c.Subscribe(t.Context(), "b", nil); err != nil {
				t.Fatal(err)
			}
			h.Publish(forgedEvent("b", 4)) // as the bus would
			tc.real(h, lg)
			reason, events := waitResync(t, c)
			if reason != ResyncDiverged {
				t.Fatalf("events %v and no resync (reason %q): the forged event stands", events, reason)
			}
			if b := c.Boards(); len(b) != 0 {
				t.Errorf("still subscribed to %v after the resync", b)
			}
			// Reloading and resubscribing gives the log's events.
			since := int64(3)
			if err := c.Subscribe(t.Context(), "b", &since); err != nil {
				t.Fatal(err)
			}
			var kinds []string
			drain(t, c, time.Now().Add(200*time.Millisecond), func(f rframe) bool {
				if f.Type == FrameEvent {
					kinds = append(kinds, f.Kind)
				}
				return false
			})
			for i, k := range kinds {
				if k != board.KindCardUpdated {
					t.Errorf("after resubscribing, event %d is a %s, want the log's card.updated", 4+i, k)
				}
			}
		})
	}
}

// TestForgedEventSeenByCatchUp: a subscriber catching up reads the log at
// a seq whose event this instance delivered from the bus: a different event
// there corrects the board's subscribers.
func TestForgedEventSeenByCatchUp(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	lg.commitN("b", 3)
	h := newTestHub(t, Options{Log: lg, HeadInterval: time.Hour})
	live := h.Connect("live")
	if err := live.Subscribe(t.Context(), "b", nil); err != nil {
		t.Fatal(err)
	}
	h.Publish(forgedEvent("b", 4))
	lg.commit("b", board.KindCardUpdated) // the real 4, lost on the bus
	late := h.Connect("late")
	since := int64(0)
	if err := late.Subscribe(t.Context(), "b", &since); err != nil {
		t.Fatal(err)
	}
	if reason, events := waitResync(t, live); reason != ResyncDiverged {
		t.Fatalf("live subscriber: events %v and no resync (reason %q)", events, reason)
	}
}

// TestSameEventReformattedIsNoForgery: the committing instance publishes an
// event's data as encoded by Go, the log gives it back as PostgreSQL's jsonb
// prints it (keys reordered, spaces, no HTML escapes): the same event, so no
// resync, whichever copy comes first and however often the log is read.
func TestSameEventReformattedIsNoForgery(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	h := newTestHub(t, Options{Log: lg, HeadInterval: 5 * time.Millisecond})
	c := h.Connect("u")
	if err := c.Subscribe(t.Context(), "b", nil); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		e := lg.commit("b", board.KindCardUpdated)
		data := fmt.Sprintf(`{"title":"a \u003cb\u003e \u0026 c","n":%d,"tags":["x","y"],"rank":1.5}`, e.Seq)
		lg.setData("b", e.Seq, fmt.Sprintf(`{"n": %d, "rank": 1.5, "tags": ["x", "y"], "title": "a <b> & c"}`, e.Seq))
		e.Data = json.RawMessage(data)
		h.Publish(e)
		if i%2 == 0 {
			h.Publish(e)
		}
	}
	time.Sleep(50 * time.Millisecond) // several head checks
	var seqs []int64
	for _, f := range takeFrames(t, c) {
		switch f.Type {
		case FrameEvent:
			seqs = append(seqs, *f.Seq)
		case FrameResync:
			t.Fatalf("resync %q for an event that is the log's", f.Reason)
		}
	}
	if !slices.Equal(seqs, seqRange(1, 20)) {
		t.Errorf("seqs %v, want 1..20", seqs)
	}
}

// TestForgedBoardDeleted: a board.deleted forged on the bus ends nobody's
// subscription: it is held back until the log confirms it, and dropped when
// the log holds another event at its seq, or none; the subscribers get the
// log's events as if it had never come.
func TestForgedBoardDeleted(t *testing.T) {
	for _, tc := range []struct {
		name string
		real func(h *Hub, lg *fakeLog) // what follows the forgery
	}{
		{"the real event published", func(h *Hub, lg *fakeLog) { h.Publish(lg.commit("b", board.KindCardUpdated)) }},
		{"the real event only in the log", func(h *Hub, lg *fakeLog) { lg.commit("b", board.KindCardUpdated) }},
		{"the real event later", func(h *Hub, lg *fakeLog) {
			time.Sleep(50 * time.Millisecond) // the forgery was checked and dropped
			h.Publish(lg.commit("b", board.KindCardUpdated))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lg := newFakeLog()
			lg.create("b")
			lg.commitN("b", 3)
			h := newTestHub(t, Options{Log: lg, HeadInterval: 20 * time.Millisecond})
			c := h.Connect("u")
			if err := c.Subscribe(t.Context(), "b", nil); err != nil {
				t.Fatal(err)
			}
			forged := board.Event{BoardID: "b", Seq: 4, Kind: board.KindBoardDeleted,
				Data: json.RawMessage(`{"id":"b"}`), Actor: "mallory", OpID: "op-forged"}
			h.Publish(forged) // as the bus would
			tc.real(h, lg)
			var got []string
			drain(t, c, time.Now().Add(10*time.Second), func(f rframe) bool {
				switch f.Type {
				case FrameEvent:
					got = append(got, fmt.Sprintf("event %d %s", *f.Seq, f.Kind))
					return true
				case FrameUnsubscribed, FrameResync:
					got = append(got, f.Type+" "+f.Reason)
					return true
				}
				return false
			})
			if want := []string{"event 4 " + board.KindCardUpdated}; !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			if b := c.Boards(); !slices.Equal(b, []string{"b"}) {
				t.Errorf("subscribed to %v, want [b]", b)
			}
		})
	}
}

// TestForgeriesUnderTraffic: while writers commit 300 events (most
// published, some lost on the bus), a forger publishes made-up events with
// the board's next or last seq. Every one of 20 subscribers either ends up
// with exactly the log's events, in order, or is told to resync: none keeps
// a forged event silently.
func TestForgeriesUnderTraffic(t *testing.T) {
	const (
		nsubs   = 20
		nevents = 300
	)
	lg := newFakeLog()
	lg.create("b")
	h := newTestHub(t, Options{Log: lg, HeadInterval: 10 * time.Millisecond})
	clients := make([]*Client, nsubs)
	for i := range clients {
		clients[i] = h.Connect(userName(i, 5))
		if err := clients[i].Subscribe(t.Context(), "b", nil); err != nil {
			t.Fatal(err)
		}
	}
	var writers sync.WaitGroup
	stop := make(chan struct{})
	writers.Go(func() {
		defer close(stop)
		for range nevents {
			e := lg.commit("b", board.KindCardUpdated)
			if rand.IntN(10) > 0 {
				h.Publish(e)
			}
		}
	})
	writers.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			// The next seq, or the last: ahead of the real event, or behind it.
			f := forgedEvent("b", lg.head("b")+int64(rand.IntN(2)))
			if f.Seq == 0 {
				continue
			}
			f.OpID = fmt.Sprintf("forged-%d", n)
			h.Publish(f)
			time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		}
	})
	writers.Wait()
	// The queues (1 MiB) hold every frame. Every event delivered is
	// compared with the log within a few head checks: then the board has
	// been dropped and each subscriber told to resync, or it is all
	// delivered and checked.
	waitFor(t, "the events delivered checked against the log", 10*time.Second, func() bool {
		h.mu.Lock()
		bs := h.boards["b"]
		h.mu.Unlock()
		if bs == nil {
			return h.Stats().Resyncs == nsubs
		}
		bs.mu.Lock()
		defer bs.mu.Unlock()
		return len(bs.unchecked) == 0 && !bs.filling && len(bs.pending) == 0 && bs.last == nevents
	})
	resyncs := 0
	for i, c := range clients {
		var events []rframe
		resync := false
		for _, f := range takeFrames(t, c) {
			switch f.Type {
			case FrameEvent:
				events = append(events, f)
			case FrameResync:
				resync = f.Reason == ResyncDiverged
			}
		}
		if resync {
			resyncs++
			continue
		}
		if len(events) != nevents {
			t.Errorf("subscriber %d: %d events and no resync, want all %d", i, len(events), nevents)
		}
		for j, f := range events {
			if *f.Seq != int64(j+1) || f.Kind != board.KindCardUpdated {
				t.Errorf("subscriber %d kept %+v as event %d, with no resync", i, f, j+1)
				break
			}
		}
	}
	t.Logf("%d of %d subscribers told to resync", resyncs, nsubs)
}
