package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// TestFanoutConcurrent: 200 subscribers of two boards, 1,000 events per board
// published by several goroutines per board — every event by "this
// instance" shuffled within windows and some twice, about half of them again
// by "the bus" — while every subscriber drains concurrently. Each subscriber
// receives every event of each board exactly once, in seq order.
func TestFanoutConcurrent(t *testing.T) {
	const (
		nsubs   = 200
		nevents = 1000
		window  = 8
	)
	boards := []string{"board-a", "board-b"}
	lg := newFakeLog()
	for _, b := range boards {
		lg.create(b)
	}
	bus := newFakeBus()
	h := newTestHub(t, Options{Log: lg, Bus: bus, HeadInterval: 20 * time.Millisecond})
	ctx := t.Context()

	clients := make([]*Client, nsubs)
	var subs sync.WaitGroup
	for i := range clients {
		clients[i] = h.Connect(userName(i, 10))
		subs.Go(func() {
			for _, b := range boards {
				if err := clients[i].Subscribe(ctx, b, nil); err != nil {
					t.Errorf("subscribe %d to %s: %v", i, b, err)
				}
			}
		})
	}
	subs.Wait()
	if t.Failed() {
		return
	}
	if got := h.Stats().Subscribers; got != nsubs*int64(len(boards)) {
		t.Fatalf("Subscribers = %d, want %d", got, nsubs*len(boards))
	}

	deadline := time.Now().Add(45 * time.Second)
	var readers sync.WaitGroup
	for i, c := range clients {
		readers.Go(func() {
			next := map[string]int64{}
			for _, b := range boards {
				next[b] = 1
			}
			left := len(boards)
			var bad error
			done := drain(t, c, deadline, func(f rframe) bool {
				switch f.Type {
				case FrameEvent:
					if *f.Seq != next[f.Board] {
						bad = fmt.Errorf("board %s: got seq %d, want %d", f.Board, *f.Seq, next[f.Board])
						return true
					}
					if next[f.Board]++; next[f.Board] > nevents {
						left--
					}
					return left == 0
				case FrameSubscribed, FramePresence:
					return false
				default:
					bad = fmt.Errorf("unexpected frame %+v", f)
					return true
				}
			})
			switch {
			case bad != nil:
				t.Errorf("subscriber %d: %v", i, bad)
			case !done:
				t.Errorf("subscriber %d: incomplete (closed: %v): next seqs %v", i, c.Err(), next)
			}
		})
	}

	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	var pubs sync.WaitGroup
	for bi, b := range boards {
		local := make(chan []board.Event, nevents/window+1)
		remote := make(chan []board.Event, nevents/window+1)
		pubs.Go(func() { // the writers: commit a window of events at a time
			defer close(local)
			defer close(remote)
			for n := 0; n < nevents; n += window {
				w := lg.commitN(b, min(window, nevents-n))
				local <- w
				remote <- w
			}
		})
		pubs.Go(func() { // this instance: every event, shuffled, some twice
			r := rand.New(rand.NewPCG(seed, uint64(2*bi)))
			var prev []board.Event
			for w := range local {
				w = slices.Clone(w)
				r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
				for _, e := range w {
					h.Publish(e)
					if prev != nil && r.IntN(8) == 0 {
						h.Publish(prev[r.IntN(len(prev))])
					}
				}
				prev = w
			}
		})
		pubs.Go(func() { // the bus: about half of them, shuffled
			r := rand.New(rand.NewPCG(seed, uint64(2*bi+1)))
			for w := range remote {
				w = slices.Clone(w)
				r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
				for _, e := range w {
					if r.IntN(2) == 0 {
						h.Publish(e)
					}
				}
			}
		})
	}
	pubs.Wait()
	readers.Wait()

	st := h.Stats()
	t.Logf("stats %+v", st)
	if want := uint64(nsubs * len(boards) * nevents); st.Delivered != want {
		t.Errorf("Delivered = %d, want %d", st.Delivered, want)
	}
	if st.Duplicates == 0 {
		t.Errorf("no duplicate was dropped: the test does not exercise dedupe")
	}
	if st.SlowCloses != 0 {
		t.Errorf("SlowCloses = %d, want 0", st.SlowCloses)
	}
	for i, c := range clients {
		if err := c.Err(); err != nil {
			t.Errorf("subscriber %d closed: %v", i, err)
		}
		c.Close(nil)
	}
	st = h.Stats()
	if st.Subscribers != 0 || st.Clients != 0 || boardStates(h) != 0 || bus.joins() != 0 {
		t.Errorf("after closing every client: %d subscribers, %d clients, %d board states, %d bus joins; want none",
			st.Subscribers, st.Clients, boardStates(h), bus.joins())
	}
}

// TestStalledReader: a subscriber that never reads is closed as too slow
// once its queue is full; the publisher never waits for it and everyone
// else receives every event in order.
func TestStalledReader(t *testing.T) {
	const (
		nhealthy = 20
		nevents  = 1000
		lag      = 50 // events the healthy readers may fall behind: ~7 KB, well under the queue
	)
	lg := newFakeLog()
	lg.create("b")
	h := newTestHub(t, Options{Log: lg, QueueBytes: 32 << 10, HeadInterval: time.Hour})
	ctx := t.Context()

	stalled := h.Connect("stalled")
	if err := stalled.Subscribe(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	healthy := make([]*Client, nhealthy)
	progress := make([]atomic.Int64, nhealthy)
	for i := range healthy {
		healthy[i] = h.Connect(userName(i, 5))
		if err := healthy[i].Subscribe(ctx, "b", nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	var readers sync.WaitGroup
	for i, c := range healthy {
		readers.Go(func() {
			next := int64(1)
			done := drain(t, c, deadline, func(f rframe) bool {
				if f.Type != FrameEvent {
					return false
				}
				if *f.Seq != next {
					t.Errorf("reader %d: got seq %d, want %d", i, *f.Seq, next)
					return true
				}
				progress[i].Store(next)
				next++
				return next > nevents
			})
			if !done {
				t.Errorf("reader %d: incomplete at seq %d (closed: %v)", i, next, c.Err())
			}
		})
	}

	// Publish every event while the stalled client is never drained. The
	// publisher only lets the healthy readers keep up: it never waits on
	// the stalled one.
	var slowest time.Duration
	for seq := int64(1); seq <= nevents; seq++ {
		for i := range progress {
			for progress[i].Load() < seq-lag {
				if time.Now().After(deadline) {
					t.Fatalf("reader %d stuck at %d", i, progress[i].Load())
				}
				runtime.Gosched()
			}
		}
		e := lg.commit("b", board.KindCardUpdated)
		start := time.Now()
		h.Publish(e)
		slowest = max(slowest, time.Since(start))
	}
	readers.Wait()
	t.Logf("slowest Publish: %v; stats %+v", slowest, h.Stats())

	select {
	case <-stalled.Done():
	default:
		t.Fatal("the stalled client is still open")
	}
	if err := stalled.Err(); !errors.Is(err, ErrTooSlow) {
		t.Errorf("stalled client: Err() = %v, want ErrTooSlow", err)
	}
	// What it holds is an in-order prefix it can resume after.
	seqs := eventSeqs(takeFrames(t, stalled), "b")
	if len(seqs) == 0 || len(seqs) == nevents || !slices.Equal(seqs, seqRange(1, int64(len(seqs)))) {
		t.Errorf("stalled client's queue holds seqs %v, want a strict prefix of 1..%d", seqs, nevents)
	}
	st := h.Stats()
	if st.SlowCloses != 1 {
		t.Errorf("SlowCloses = %d, want 1", st.SlowCloses)
	}
	if st.Subscribers != nhealthy || st.Clients != nhealthy {
		t.Errorf("Subscribers, Clients = %d, %d; want %d each", st.Subscribers, st.Clients, nhealthy)
	}
	for i, c := range healthy {
		if err := c.Err(); err != nil {
			t.Errorf("reader %d closed: %v", i, err)
		}
	}
	if stalled.Subscribe(ctx, "b", nil) == nil {
		t.Error("a closed client could subscribe")
	}
}

// TestSubscribeSinceRacingWriters: 200 times, three subscribers arrive on a
// board without local state while a writer commits and publishes (with lost
// and duplicated publishes): one resumes from 0, one from a random seq, one
// without since. Each receives exactly the events after its position, in
// order: replay and live join with no gap and no duplicate.
func TestSubscribeSinceRacingWriters(t *testing.T) {
	const (
		rounds  = 200
		nevents = 60
	)
	lg := newFakeLog()
	lg.afterEvents = func(string, string, int64) {
		for range rand.IntN(4) {
			runtime.Gosched()
		}
	}
	bus := newFakeBus()
	h := newTestHub(t, Options{Log: lg, Bus: bus, HeadInterval: 10 * time.Millisecond})
	ctx := t.Context()

	for round := range rounds {
		id := fmt.Sprintf("race-%d", round)
		lg.create(id)
		var wg sync.WaitGroup
		wg.Go(func() {
			for range nevents {
				e := lg.commit(id, board.KindCardUpdated)
				switch rand.IntN(10) {
				case 0: // lost on the bus, and the committing instance died
				case 1:
					h.Publish(e)
					h.Publish(e)
				default:
					h.Publish(e)
				}
				if rand.IntN(3) == 0 {
					runtime.Gosched()
				}
			}
		})
		for s := range 3 {
			wg.Go(func() {
				at := rand.Int64N(nevents)
				for lg.head(id) < at {
					runtime.Gosched()
				}
				var since *int64
				switch s {
				case 0:
					since = new(int64)
				case 1:
					since = new(rand.Int64N(lg.head(id) + 1))
				}
				c := h.Connect(fmt.Sprintf("user%d", s))
				defer c.Close(nil)
				if err := c.Subscribe(ctx, id, since); err != nil {
					t.Errorf("round %d, subscriber %d: subscribe: %v", round, s, err)
					return
				}
				var got []int64
				from := int64(-1)
				drain(t, c, time.Now().Add(10*time.Second), func(f rframe) bool {
					switch f.Type {
					case FrameSubscribed:
						from = *f.Seq
						if since != nil {
							from = *since
						}
						return from >= nevents
					case FrameEvent:
						got = append(got, *f.Seq)
						return *f.Seq >= nevents
					}
					return false
				})
				if want := seqRange(from+1, nevents); from < 0 || !slices.Equal(got, want) {
					t.Errorf("round %d, subscriber %d (since %v, from %d): got seqs %v, want %v",
						round, s, since, from, got, want)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		if n, st := boardStates(h), h.Stats(); n != 0 || st.Subscribers != 0 {
			t.Fatalf("round %d: %d board states and %d subscribers left", round, n, st.Subscribers)
		}
	}
	t.Logf("stats %+v", h.Stats())
}

// TestConcurrentFirstSubscribers pins the handoff when two subscribers
// arrive on a board the hub holds no state for: the first reads the log
// (head 0) and is held up; meanwhile event 1 commits and the second reads
// head 1 and goes live, so the board's state starts at 1. Event 1 arrives
// late and is a duplicate for the hub, yet the first subscriber has not had
// it: it must still receive 1, then 2.
func TestConcurrentFirstSubscribers(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	read, hold := make(chan struct{}), make(chan struct{})
	lg.afterEvents = func(user, _ string, _ int64) {
		if user == "early" {
			close(read)
			<-hold
		}
	}
	h := newTestHub(t, Options{Log: lg, HeadInterval: time.Hour})
	ctx := t.Context()

	early, late := h.Connect("early"), h.Connect("late")
	errc := make(chan error, 1)
	go func() { errc <- early.Subscribe(ctx, "b", nil) }()
	<-read
	e1 := lg.commit("b", board.KindCardCreated)
	if err := late.Subscribe(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	close(hold)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	h.Publish(e1)
	h.Publish(lg.commit("b", board.KindCardUpdated))

	for _, tc := range []struct {
		c    *Client
		from int64
	}{{early, 0}, {late, 1}} {
		frames := takeFrames(t, tc.c)
		if len(frames) == 0 || frames[0].Type != FrameSubscribed || *frames[0].Seq != tc.from {
			t.Errorf("%s: frames %+v, want subscribed at %d first", tc.c.User(), frames, tc.from)
			continue
		}
		if got, want := eventSeqs(frames, "b"), seqRange(tc.from+1, 2); !slices.Equal(got, want) {
			t.Errorf("%s: got seqs %v, want %v", tc.c.User(), got, want)
		}
	}
}

// TestConcurrentFirstSubscribersLogTrimmed: as above, but by the time the
// first subscriber reads the events it missed, they are no longer in the
// log: it is told to resync rather than given a gap.
func TestConcurrentFirstSubscribersLogTrimmed(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	read, hold := make(chan struct{}), make(chan struct{})
	lg.afterEvents = func(user, _ string, _ int64) {
		if user == "early" {
			close(read)
			<-hold
		}
	}
	h := newTestHub(t, Options{Log: lg, HeadInterval: time.Hour})
	ctx := t.Context()

	early, late := h.Connect("early"), h.Connect("late")
	errc := make(chan error, 1)
	go func() { errc <- early.Subscribe(ctx, "b", nil) }()
	<-read
	lg.commitN("b", 3)
	if err := late.Subscribe(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	lg.trim("b", 2)
	close(hold)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range takeFrames(t, early) {
		got = append(got, f.Type+" "+f.Reason)
	}
	if want := []string{"subscribed ", "resync " + ResyncSinceExpired}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if b := early.Boards(); len(b) != 0 {
		t.Errorf("still subscribed to %v", b)
	}
	if st := h.Stats(); st.Subscribers != 1 {
		t.Errorf("Subscribers = %d, want 1", st.Subscribers)
	}
}

// TestGapFill: 1, 2 and 4 are published, 3 is only in the log: the
// subscriber gets 1, 2, 3, 4. Then 5 is committed and never published (the
// instance died): the head check delivers it.
func TestGapFill(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	h := newTestHub(t, Options{Log: lg, HeadInterval: 50 * time.Millisecond})
	c := h.Connect("u")
	if err := c.Subscribe(t.Context(), "b", nil); err != nil {
		t.Fatal(err)
	}
	events := lg.commitN("b", 4)
	h.Publish(events[0])
	h.Publish(events[1])
	h.Publish(events[3])
	var got []int64
	want := seqRange(1, 4)
	drain(t, c, time.Now().Add(10*time.Second), func(f rframe) bool {
		if f.Type == FrameEvent {
			got = append(got, *f.Seq)
		}
		return len(got) == len(want)
	})
	if !slices.Equal(got, want) {
		t.Fatalf("got seqs %v, want %v", got, want)
	}
	if st := h.Stats(); st.GapFills < 1 {
		t.Errorf("GapFills = %d, want at least 1", st.GapFills)
	}

	lg.commit("b", board.KindCardUpdated) // never published
	got = nil
	drain(t, c, time.Now().Add(10*time.Second), func(f rframe) bool {
		if f.Type == FrameEvent {
			got = append(got, *f.Seq)
		}
		return len(got) > 0
	})
	if !slices.Equal(got, []int64{5}) {
		t.Fatalf("after the head check: got seqs %v, want [5]", got)
	}
	// A late duplicate of what the log filled in is dropped.
	h.Publish(events[2])
	if frames := takeFrames(t, c); len(eventSeqs(frames, "b")) != 0 {
		t.Errorf("a duplicate was delivered: %+v", frames)
	}
}

// TestSubscribeOutcomes covers the answers to Subscribe other than a plain
// subscription, and that every way out releases the hub's state.
func TestSubscribeOutcomes(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	lg.commitN("b", 20)
	lg.trim("b", 5) // events 1..5 are gone
	lg.create("private", "owner")
	bus := newFakeBus()
	h := newTestHub(t, Options{Log: lg, Bus: bus, MaxCatchUp: 10, HeadInterval: time.Hour})
	ctx := t.Context()

	released := func(t *testing.T) {
		t.Helper()
		if n, st, j := boardStates(h), h.Stats(), bus.joins(); n != 0 || st.Subscribers != 0 || j != 0 {
			t.Errorf("%d board states, %d subscribers, %d bus joins; want none", n, st.Subscribers, j)
		}
	}
	only := func(t *testing.T, c *Client, want rframe) {
		t.Helper()
		frames := takeFrames(t, c)
		if len(frames) != 1 || frames[0].Type != want.Type || frames[0].Board != want.Board || frames[0].Reason != want.Reason {
			t.Errorf("frames %+v, want just %+v", frames, want)
		}
		if b := c.Boards(); len(b) != 0 {
			t.Errorf("client still subscribed to %v", b)
		}
	}

	t.Run("since expired", func(t *testing.T) {
		c := h.Connect("u")
		defer c.Close(nil)
		resyncs := h.Stats().Resyncs
		if err := c.Subscribe(ctx, "b", new(int64(2))); err != nil {
			t.Fatal(err)
		}
		only(t, c, rframe{Type: FrameResync, Board: "b", Reason: ResyncSinceExpired})
		if got := h.Stats().Resyncs; got != resyncs+1 {
			t.Errorf("Resyncs = %d, want %d", got, resyncs+1)
		}
		released(t)
	})
	t.Run("too far behind", func(t *testing.T) {
		c := h.Connect("u")
		defer c.Close(nil)
		if err := c.Subscribe(ctx, "b", new(int64(6))); err != nil { // 14 events > MaxCatchUp
			t.Fatal(err)
		}
		only(t, c, rframe{Type: FrameResync, Board: "b", Reason: ResyncTooFarBehind})
		released(t)
	})
	t.Run("catch up within limits", func(t *testing.T) {
		c := h.Connect("u")
		defer c.Close(nil)
		if err := c.Subscribe(ctx, "b", new(int64(10))); err != nil { // exactly MaxCatchUp
			t.Fatal(err)
		}
		frames := takeFrames(t, c)
		if frames[0].Type != FrameSubscribed || *frames[0].Seq != 20 {
			t.Errorf("first frame %+v, want subscribed at 20", frames[0])
		}
		if got := eventSeqs(frames, "b"); !slices.Equal(got, seqRange(11, 20)) {
			t.Errorf("got seqs %v, want 11..20", got)
		}
		c.Close(nil)
		released(t)
	})
	t.Run("not a member", func(t *testing.T) {
		c := h.Connect("stranger")
		defer c.Close(nil)
		err := c.Subscribe(ctx, "private", nil)
		if board.ErrorCode(err) != board.ENotFound {
			t.Errorf("Subscribe = %v, want %s", err, board.ENotFound)
		}
		if frames := takeFrames(t, c); len(frames) != 0 {
			t.Errorf("frames %+v, want none", frames)
		}
		released(t)
		if err := c.Subscribe(ctx, "missing", nil); board.ErrorCode(err) != board.ENotFound {
			t.Errorf("Subscribe to a missing board = %v, want %s", err, board.ENotFound)
		}
		released(t)
	})
	t.Run("since ahead", func(t *testing.T) {
		// Past the head (a restored database): resync, not an error.
		c := h.Connect("u")
		defer c.Close(nil)
		if err := c.Subscribe(ctx, "b", new(int64(21))); err != nil {
			t.Fatalf("Subscribe = %v, want a resync", err)
		}
		only(t, c, rframe{Type: FrameResync, Board: "b", Reason: ResyncSinceExpired})
		released(t)
	})
	t.Run("twice, then unsubscribe", func(t *testing.T) {
		c := h.Connect("u")
		defer c.Close(nil)
		if err := c.Subscribe(ctx, "b", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe(ctx, "b", nil); board.ErrorCode(err) != board.EConflict {
			t.Errorf("second Subscribe = %v, want %s", err, board.EConflict)
		}
		if got := c.Boards(); !slices.Equal(got, []string{"b"}) {
			t.Errorf("Boards() = %v, want [b]", got)
		}
		if n, j := boardStates(h), bus.joins(); n != 1 || j != 1 {
			t.Errorf("%d board states, %d bus joins; want 1 each", n, j)
		}
		if err := c.Unsubscribe("b"); err != nil {
			t.Fatal(err)
		}
		released(t)
		if err := c.Unsubscribe("b"); board.ErrorCode(err) != board.ENotFound {
			t.Errorf("second Unsubscribe = %v, want %s", err, board.ENotFound)
		}
		if got := bus.announced("b"); got != "" {
			t.Errorf("last presence announced %v, want none", got)
		}
	})
	t.Run("close releases", func(t *testing.T) {
		lg.create("c")
		clients := []*Client{h.Connect("u1"), h.Connect("u2")}
		for _, c := range clients {
			for _, b := range []string{"b", "c"} {
				if err := c.Subscribe(ctx, b, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		if st := h.Stats(); st.Subscribers != 4 {
			t.Errorf("Subscribers = %d, want 4", st.Subscribers)
		}
		for _, c := range clients {
			c.Close(nil)
			c.Close(nil) // twice is harmless
			if err := c.Err(); !errors.Is(err, ErrClosed) {
				t.Errorf("Err() = %v, want ErrClosed", err)
			}
			if c.Send([]byte(`{}`)) {
				t.Error("Send to a closed client reported true")
			}
		}
		released(t)
		if st := h.Stats(); st.Clients != 0 {
			t.Errorf("Clients = %d, want 0", st.Clients)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		c := h.Connect("u")
		defer c.Close(nil)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := c.Subscribe(cctx, "b", nil); err == nil {
			t.Error("Subscribe with a canceled context succeeded")
		}
		released(t)
	})
}

// TestSlowCloseCountedOnce: a client closed as too slow counts once, however
// many more frames are offered to it afterwards.
func TestSlowCloseCountedOnce(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	h := newTestHub(t, Options{Log: lg, QueueBytes: 1024, HeadInterval: time.Hour})
	c := h.Connect("u")
	if err := c.Subscribe(t.Context(), "b", nil); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		h.Publish(lg.commit("b", board.KindCardUpdated))
	}
	if !errors.Is(c.Err(), ErrTooSlow) {
		t.Fatalf("Err() = %v, want ErrTooSlow", c.Err())
	}
	c.Send([]byte(`{"type":"pong"}`)) // as the WebSocket reader may
	c.Close(nil)
	if st := h.Stats(); st.SlowCloses != 1 || st.Clients != 0 || st.Subscribers != 0 {
		t.Errorf("SlowCloses, Clients, Subscribers = %d, %d, %d; want 1, 0, 0", st.SlowCloses, st.Clients, st.Subscribers)
	}
}

// lastPresence follows the presence frames a client receives.
type lastPresence struct {
	mu    sync.Mutex
	users map[string]string // board → users of the last presence frame
}

func (p *lastPresence) is(t *testing.T, c *Client, boardID, want string) bool {
	for _, f := range takeFrames(t, c) {
		if f.Type == FramePresence {
			p.mu.Lock()
			p.users[f.Board] = joinUsers(f.Users)
			p.mu.Unlock()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.users[boardID] == want
}

// TestPresence: local viewers see each other; other instances' viewers are
// added, and forgotten three presence intervals after their instance stops
// announcing them.
func TestPresence(t *testing.T) {
	const interval = 50 * time.Millisecond
	lg := newFakeLog()
	lg.create("b")
	bus := newFakeBus()
	h := newTestHub(t, Options{Log: lg, Bus: bus, PresenceInterval: interval, HeadInterval: time.Hour})
	ctx := t.Context()

	alice, bob := h.Connect("alice"), h.Connect("bob")
	seen := map[*Client]*lastPresence{}
	for _, c := range []*Client{alice, bob} {
		seen[c] = &lastPresence{users: map[string]string{}}
		if err := c.Subscribe(ctx, "b", nil); err != nil {
			t.Fatal(err)
		}
	}
	see := func(want string) {
		t.Helper()
		for c, p := range seen {
			waitFor(t, c.User()+" seeing "+want, 5*time.Second, func() bool { return p.is(t, c, "b", want) })
		}
	}
	see("alice,bob")
	waitFor(t, "presence announced on the bus", 5*time.Second, func() bool {
		return bus.announced("b") == "alice,bob"
	})

	h.RemotePresence("b", h.Instance(), []string{"ghost"}) // our own echo: ignored
	added := time.Now()
	h.RemotePresence("b", "instance-2", []string{"carol", "alice"})
	see("alice,bob,carol")

	// instance-2 keeps announcing carol for a while, then crashes.
	stop := time.Now().Add(10 * interval)
	for time.Now().Before(stop) {
		added = time.Now()
		h.RemotePresence("b", "instance-2", []string{"carol", "alice"})
		time.Sleep(interval / 5)
		if !seen[alice].is(t, alice, "b", "alice,bob,carol") {
			t.Fatal("carol disappeared while announced")
		}
	}
	see("alice,bob")
	if gone := time.Since(added); gone < 3*interval {
		t.Errorf("carol expired %v after her last announcement, before 3 intervals (%v)", gone, 3*interval)
	}

	// A viewer leaving is seen too.
	bob.Close(nil)
	waitFor(t, "alice seeing bob leave", 5*time.Second, func() bool { return seen[alice].is(t, alice, "b", "alice") })
}

// TestPresenceConverges: however joins and leaves interleave, the last
// presence frame each remaining subscriber has is the final set of viewers.
func TestPresenceConverges(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	h := newTestHub(t, Options{Log: lg, PresenceInterval: time.Hour, HeadInterval: time.Hour})
	ctx := t.Context()
	for round := range 50 {
		stay := make([]*Client, 4)
		var wg sync.WaitGroup
		for i := range stay {
			stay[i] = h.Connect(fmt.Sprintf("stay%d", i))
			wg.Go(func() {
				if err := stay[i].Subscribe(ctx, "b", nil); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				c := h.Connect(fmt.Sprintf("passer%d", i))
				if err := c.Subscribe(ctx, "b", nil); err != nil {
					t.Error(err)
				}
				c.Close(nil)
			})
		}
		wg.Wait()
		// Presence is flushed within PresenceDelay: wait for it.
		for _, c := range stay {
			p := &lastPresence{users: map[string]string{}}
			deadline := time.Now().Add(5 * time.Second)
			for !p.is(t, c, "b", "stay0,stay1,stay2,stay3") {
				if time.Now().After(deadline) {
					t.Fatalf("round %d: %s last saw %q", round, c.User(), p.users["b"])
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		for _, c := range stay {
			c.Close(nil)
		}
	}
}

// TestBoardDeleted: subscribers get the board.deleted event, then an
// unsubscribed frame, and the board's state is released.
func TestBoardDeleted(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	bus := newFakeBus()
	h := newTestHub(t, Options{Log: lg, Bus: bus, HeadInterval: time.Hour})
	clients := []*Client{h.Connect("u1"), h.Connect("u2")}
	for _, c := range clients {
		if err := c.Subscribe(t.Context(), "b", nil); err != nil {
			t.Fatal(err)
		}
	}
	h.Publish(lg.commit("b", board.KindCardCreated))
	h.Publish(lg.commit("b", board.KindBoardDeleted))
	lg.remove("b")
	for _, c := range clients {
		var got []string
		drain(t, c, time.Now().Add(10*time.Second), func(f rframe) bool {
			switch f.Type {
			case FrameEvent:
				got = append(got, fmt.Sprintf("event %d %s", *f.Seq, f.Kind))
			case FrameUnsubscribed:
				got = append(got, "unsubscribed "+f.Board)
				return true
			}
			return false
		})
		want := []string{"event 1 card.created", "event 2 board.deleted", "unsubscribed b"}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", c.User(), got, want)
		}
	}
	waitFor(t, "the board's state released", 5*time.Second, func() bool {
		return boardStates(h) == 0 && h.Stats().Subscribers == 0 && bus.joins() == 0
	})
	for _, c := range clients {
		if b := c.Boards(); len(b) != 0 {
			t.Errorf("%s still subscribed to %v", c.User(), b)
		}
		if err := c.Err(); err != nil {
			t.Errorf("%s closed: %v", c.User(), err)
		}
	}
}

// TestBoardDeletedWhileSubscribing: a subscriber still reading the log when
// the board is deleted gets its subscribed frame, the board.deleted event,
// then unsubscribed — in that order — and is not left subscribed.
func TestBoardDeletedWhileSubscribing(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	read, hold := make(chan struct{}), make(chan struct{})
	lg.afterEvents = func(user, _ string, _ int64) {
		if user == "slow" {
			close(read)
			<-hold
		}
	}
	h := newTestHub(t, Options{Log: lg, HeadInterval: time.Hour})
	ctx := t.Context()
	live := h.Connect("live")
	if err := live.Subscribe(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	slow := h.Connect("slow")
	errc := make(chan error, 1)
	go func() { errc <- slow.Subscribe(ctx, "b", nil) }()
	<-read
	h.Publish(lg.commit("b", board.KindBoardDeleted))
	lg.remove("b")
	drain(t, live, time.Now().Add(10*time.Second), func(f rframe) bool { return f.Type == FrameUnsubscribed })
	close(hold)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range takeFrames(t, slow) {
		switch f.Type {
		case FrameSubscribed, FrameEvent:
			got = append(got, fmt.Sprintf("%s %d", f.Type, *f.Seq))
		case FrameUnsubscribed, FrameResync:
			got = append(got, f.Type)
		}
	}
	if want := []string{"subscribed 0", "event 1", "unsubscribed"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if b := slow.Boards(); len(b) != 0 {
		t.Errorf("still subscribed to %v", b)
	}
	waitFor(t, "the board's state released", 5*time.Second, func() bool {
		return boardStates(h) == 0 && h.Stats().Subscribers == 0
	})
}

// TestBoardGone: a board that disappears without a board.deleted event
// reaching this instance is found by the head check: resync.
func TestBoardGone(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	h := newTestHub(t, Options{Log: lg, HeadInterval: 20 * time.Millisecond})
	c := h.Connect("u")
	if err := c.Subscribe(t.Context(), "b", nil); err != nil {
		t.Fatal(err)
	}
	lg.remove("b")
	var got []rframe
	drain(t, c, time.Now().Add(10*time.Second), func(f rframe) bool {
		got = append(got, f)
		return f.Type == FrameResync
	})
	if f := got[len(got)-1]; f.Type != FrameResync || f.Reason != ResyncBoardGone {
		t.Fatalf("frames %+v, want a resync for board_gone", got)
	}
	waitFor(t, "the board's state released", 5*time.Second, func() bool { return boardStates(h) == 0 })
	time.Sleep(60 * time.Millisecond) // more head checks: nothing more is sent
	for _, f := range takeFrames(t, c) {
		if f.Type == FrameResync {
			t.Errorf("second resync: %+v", f)
		}
	}
}

// TestHubClose: Close closes every client with ErrShuttingDown, releases
// everything, and refuses new clients.
func TestHubClose(t *testing.T) {
	lg := newFakeLog()
	lg.create("b")
	bus := newFakeBus()
	h := newTestHub(t, Options{Log: lg, Bus: bus, HeadInterval: 10 * time.Millisecond, PresenceInterval: 10 * time.Millisecond})
	clients := make([]*Client, 10)
	for i := range clients {
		clients[i] = h.Connect(userName(i, 3))
		if err := clients[i].Subscribe(t.Context(), "b", nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { // publishing while closing is safe
		for range 2000 { // well under the clients' queues
			select {
			case <-stop:
				return
			default:
				h.Publish(lg.commit("b", board.KindCardUpdated))
			}
		}
	})
	time.Sleep(20 * time.Millisecond)
	h.Close()
	close(stop)
	wg.Wait()
	for _, c := range clients {
		<-c.Done()
		if err := c.Err(); !errors.Is(err, ErrShuttingDown) {
			t.Errorf("Err() = %v, want ErrShuttingDown", err)
		}
	}
	if st := h.Stats(); st.Clients != 0 || st.Subscribers != 0 || boardStates(h) != 0 || bus.joins() != 0 {
		t.Errorf("after Close: %+v, %d board states, %d joins", st, boardStates(h), bus.joins())
	}
	c := h.Connect("late")
	if !errors.Is(c.Err(), ErrShuttingDown) {
		t.Errorf("Connect after Close: Err() = %v, want ErrShuttingDown", c.Err())
	}
	if err := c.Subscribe(t.Context(), "b", nil); err == nil {
		t.Error("Subscribe after Close succeeded")
	}
	h.Close() // twice is harmless
}

// TestPresenceBytes: a board whose viewers come and go all the time sends
// its subscribers presence frames at no more than PresenceBytes per second
// on average (here a tenth of what a flush every PresenceDelay would send),
// and its subscribers still end with the final set of viewers.
func TestPresenceBytes(t *testing.T) {
	const budget = 20_000 // bytes per second
	lg := newFakeLog()
	lg.create("b")
	h := newTestHub(t, Options{Log: lg, PresenceDelay: time.Millisecond, PresenceBytes: budget,
		PresenceInterval: time.Hour, HeadInterval: time.Hour})
	ctx := t.Context()
	var watchers []*Client
	var want []string
	for i := range 10 {
		c := h.Connect(fmt.Sprintf("watcher%d", i))
		if err := c.Subscribe(ctx, "b", nil); err != nil {
			t.Fatal(err)
		}
		watchers = append(watchers, c)
		want = append(want, c.User())
	}
	// What the watchers have been sent so far, in presence frames: the
	// total, the largest single frame, and the last each one got.
	var total, largest int
	last := map[*Client]string{}
	drain := func() {
		for _, c := range watchers {
			for _, b := range c.Take(nil) {
				if f := parseFrame(t, b); f.Type == FramePresence {
					total += len(b)
					largest = max(largest, len(b))
					last[c] = joinUsers(f.Users)
				}
			}
		}
	}
	drain()
	total = 0

	// For a second, a passer-by joins every 3 ms and the one before leaves:
	// the set of viewers is a new one at every flush.
	start := time.Now()
	var prev *Client
	for i := 0; time.Since(start) < time.Second; i++ {
		c := h.Connect(fmt.Sprintf("passer%d", i))
		if err := c.Subscribe(ctx, "b", nil); err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			prev.Close(nil)
		}
		prev = c
		drain()
		time.Sleep(3 * time.Millisecond)
	}
	prev.Close(nil)
	elapsed := time.Since(start)
	drain()
	// Each flush sends one frame to each watcher: the budget allows
	// budget × elapsed, plus the flush that opened the second.
	if limit := int(float64(budget)*elapsed.Seconds()) + 2*largest*len(watchers); total > limit {
		t.Errorf("the watchers were sent %d bytes of presence in %v, want at most %d (%d bytes/s)", total, elapsed, limit, budget)
	}
	waitFor(t, "the watchers seeing themselves alone", 10*time.Second, func() bool {
		drain()
		for _, c := range watchers {
			if last[c] != joinUsers(want) {
				return false
			}
		}
		return true
	})
}
