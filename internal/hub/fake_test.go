package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/corkboard/corkboard/internal/board"
)

// fakeLog is an in-memory event log: boards with contiguous seqs, an
// optional retention floor and optional members.
type fakeLog struct {
	mu     sync.Mutex
	boards map[string]*fakeBoard

	// afterEvents, when set, runs at the end of Events, after the result
	// was read and before it is returned: a hook to widen or order the
	// subscribe/go-live race.
	afterEvents func(user, boardID string, head int64)
	// beforeEvents, when set, runs at the start of Events, before the
	// membership check.
	beforeEvents func(user, boardID string)
	// batches counts the calls of Events that read events.
	batches int
}

type fakeBoard struct {
	events  []board.Event // events[i].Seq == i+1
	kept    int64         // events with seq <= kept are no longer retained
	members map[string]bool
}

var _ Log = (*fakeLog)(nil)

func newFakeLog() *fakeLog { return &fakeLog{boards: map[string]*fakeBoard{}} }

// create adds an empty board; members nil lets everyone read it.
func (l *fakeLog) create(boardID string, members ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &fakeBoard{}
	if len(members) > 0 {
		b.members = map[string]bool{}
		for _, m := range members {
			b.members[m] = true
		}
	}
	l.boards[boardID] = b
}

// commit appends the next event of the board and returns it.
func (l *fakeLog) commit(boardID, kind string) board.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.boards[boardID]
	seq := int64(len(b.events)) + 1
	e := board.Event{
		BoardID: boardID, Seq: seq, Kind: kind,
		Data:  json.RawMessage(fmt.Sprintf(`{"n":%d}`, seq)),
		Actor: "writer", OpID: fmt.Sprintf("op-%d", seq),
	}
	b.events = append(b.events, e)
	return e
}

// append appends e, the board's next event, as it is.
func (l *fakeLog) append(e board.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.boards[e.BoardID]
	b.events = append(b.events, e)
}

// commitN commits n card.updated events and returns them.
func (l *fakeLog) commitN(boardID string, n int) []board.Event {
	events := make([]board.Event, n)
	for i := range events {
		events[i] = l.commit(boardID, board.KindCardUpdated)
	}
	return events
}

// setMember adds user to the board's members or removes them.
func (l *fakeLog) setMember(boardID, user string, member bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.boards[boardID].members[user] = member
}

// setHooks sets the hooks run by Events.
func (l *fakeLog) setHooks(before func(user, boardID string), after func(user, boardID string, head int64)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.beforeEvents, l.afterEvents = before, after
}

// setData replaces the data of a committed event, as the log stores it.
func (l *fakeLog) setData(boardID string, seq int64, data string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.boards[boardID].events[seq-1].Data = json.RawMessage(data)
}

// trim stops retaining the events up to seq.
func (l *fakeLog) trim(boardID string, seq int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.boards[boardID].kept = seq
}

// remove deletes the board.
func (l *fakeLog) remove(boardID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.boards, boardID)
}

func (l *fakeLog) head(boardID string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.boards[boardID].events))
}

func (l *fakeLog) Events(ctx context.Context, user, boardID string, since int64, limit int) ([]board.Event, int64, error) {
	l.mu.Lock()
	before := l.beforeEvents
	l.mu.Unlock()
	if before != nil {
		before(user, boardID)
	}
	l.mu.Lock()
	b := l.boards[boardID]
	if b == nil || (b.members != nil && !b.members[user]) {
		l.mu.Unlock()
		return nil, 0, board.Errorf(board.ENotFound, "board not found")
	}
	head := int64(len(b.events))
	if limit > 0 && since < b.kept && since < head {
		l.mu.Unlock()
		return nil, 0, fmt.Errorf("events of board %s: %w", boardID,
			board.Errorf(board.ESinceExpired, "events after %d are no longer kept", since))
	}
	events := []board.Event{}
	if limit > 0 && since < head {
		// As the store, a batch is bounded in bytes but holds at least one.
		size := 0
		for _, e := range b.events[since:min(head, since+int64(limit))] {
			size += len(e.Data) + board.EventOverheadBytes
			if len(events) > 0 && size > board.MaxEventsPageBytes {
				break
			}
			events = append(events, e)
		}
		l.batches++
	}
	hook := l.afterEvents
	l.mu.Unlock()
	if hook != nil {
		hook(user, boardID, head)
	}
	return events, head, ctx.Err()
}

func (l *fakeLog) LogEvents(ctx context.Context, boardID string, since int64, limit int) ([]board.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.boards[boardID]
	if b == nil {
		return []board.Event{}, nil
	}
	head := int64(len(b.events))
	since = max(since, b.kept) // as the store: what is no longer kept is skipped
	if since >= head {
		return []board.Event{}, nil
	}
	return append([]board.Event(nil), b.events[since:min(head, since+int64(limit))]...), nil
}

func (l *fakeLog) Heads(ctx context.Context, boardIDs []string) (map[string]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	heads := map[string]int64{}
	for _, id := range boardIDs {
		if b := l.boards[id]; b != nil {
			heads[id] = int64(len(b.events))
		}
	}
	return heads, nil
}

// fakeBus records joins and presence announcements.
type fakeBus struct {
	mu       sync.Mutex
	joined   map[string]int
	presence map[string][]string // board → last users this instance announced
	ever     map[string]bool     // every user this instance ever announced
}

var _ Bus = (*fakeBus)(nil)

func newFakeBus() *fakeBus {
	return &fakeBus{joined: map[string]int{}, presence: map[string][]string{}, ever: map[string]bool{}}
}

func (b *fakeBus) Join(boardID string) (func(), error) {
	b.mu.Lock()
	b.joined[boardID]++
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if b.joined[boardID]--; b.joined[boardID] == 0 {
				delete(b.joined, boardID)
			}
			b.mu.Unlock()
		})
	}, nil
}

func (b *fakeBus) PublishPresence(boardID, instance string, users []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.presence[boardID] = append([]string(nil), users...)
	for _, u := range users {
		b.ever[u] = true
	}
}

// everAnnounced reports whether this instance ever announced user.
func (b *fakeBus) everAnnounced(user string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ever[user]
}

// announced returns the users this instance last announced on the board.
func (b *fakeBus) announced(boardID string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return joinUsers(b.presence[boardID])
}

func (b *fakeBus) joins() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, j := range b.joined {
		n += j
	}
	return n
}

// rframe is any server frame as a test reads it.
type rframe struct {
	Type   string   `json:"type"`
	Board  string   `json:"board"`
	Seq    *int64   `json:"seq"`
	Kind   string   `json:"kind"`
	Reason string   `json:"reason"`
	Users  []string `json:"users"`
	Code   string   `json:"code"`
}

// parsed caches parsed frames by the address of their bytes: the hub
// queues the same immutable bytes to every subscriber of an event, so a
// frame is parsed once however many clients receive it. The cache holds the
// bytes too, so an address is never reused for another frame.
var parsed sync.Map // *byte → parsedFrame

type parsedFrame struct {
	raw []byte
	f   rframe
}

func parseFrame(t testing.TB, b []byte) rframe {
	key := unsafe.SliceData(b)
	if p, ok := parsed.Load(key); ok && len(p.(parsedFrame).raw) == len(b) {
		return p.(parsedFrame).f
	}
	var f rframe
	if err := json.Unmarshal(b, &f); err != nil {
		t.Errorf("frame %q: %v", b, err)
	}
	parsed.Store(key, parsedFrame{b, f})
	return f
}

// drain reads c's frames and hands each to fn until fn returns true (it
// then returns true), c is closed and drained, or the deadline passes.
func drain(t testing.TB, c *Client, deadline time.Time, fn func(rframe) bool) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var frames [][]byte
	for {
		closed := false
		select {
		case <-c.Ready():
		case <-c.Done():
			closed = true
		case <-timer.C:
			return false
		}
		frames = c.Take(frames[:0])
		for _, b := range frames {
			if fn(parseFrame(t, b)) {
				return true
			}
		}
		if closed {
			return false
		}
	}
}

// takeFrames returns the frames queued for c now.
func takeFrames(t testing.TB, c *Client) []rframe {
	var out []rframe
	for _, b := range c.Take(nil) {
		out = append(out, parseFrame(t, b))
	}
	return out
}

// eventSeqs returns the seqs of the event frames of boardID in frames.
func eventSeqs(frames []rframe, boardID string) []int64 {
	var seqs []int64
	for _, f := range frames {
		if f.Type == FrameEvent && f.Board == boardID {
			seqs = append(seqs, *f.Seq)
		}
	}
	return seqs
}

// seqRange returns from..to.
func seqRange(from, to int64) []int64 {
	s := []int64{}
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// boardStates is how many boards the hub holds state for.
func boardStates(h *Hub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.boards)
}

// newTestHub starts a hub for the test and closes it at its end; it checks
// that the goroutines the test started have ended by then.
func newTestHub(t testing.TB, o Options) *Hub {
	t.Helper()
	checkLeaks(t)
	if o.Logger == nil {
		o.Logger = testLogger
	}
	h := New(o)
	t.Cleanup(h.Close)
	return h
}

// checkLeaks records the goroutine count now and, when the test ends (after
// the cleanups registered later), waits for it to come back down.
func checkLeaks(t testing.TB) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d goroutines, %d at the start of the test:\n%s",
					runtime.NumGoroutine(), base, buf)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// testLogger shows the hub's warnings and errors (the fakes never fail, so
// any is worth seeing).
var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// TestMain checks that no test leaves goroutines behind.
func TestMain(m *testing.M) {
	base := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > base {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "goroutine leak: %d goroutines after the tests, %d before:\n%s", n, base, buf)
			code = 1
		}
	}
	os.Exit(code)
}

// users returns n user names cycling over k distinct users.
func userName(i, k int) string { return fmt.Sprintf("user%02d", i%k) }

func joinUsers(u []string) string { return strings.Join(u, ",") }
