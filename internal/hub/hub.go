// Package hub fans committed board events out to the subscribers connected to
// this instance. It alone owns the subscriber sets. For each board with local
// subscribers it keeps the seq of the last event delivered and delivers
// events strictly in seq order, each exactly once: duplicates (an event
// published locally and also received from the bus) are dropped, and a gap
// (an event lost on the bus, or an instance that died between COMMIT and
// publish) is filled from the event log, found either by the next event or by
// a periodic check of the board's head in the database.
//
// Publishing never blocks: each event is encoded once and the same bytes are
// queued to every subscriber's bounded queue; a subscriber whose queue is
// full is closed as too slow (it resumes from its last seq).
//
// The bus is untrusted: an event delivered from it that the log later
// contradicts (a different event at its seq, or none) makes the board's
// subscribers resync (verify.go).
//
// # Files
//
//   - hub.go: the Hub, its options, counters and shutdown.
//   - client.go: Client, one connection's queue, and all of its methods.
//   - registry.go: clients and subscriptions coming and going, revocation.
//   - state.go: boardState, the hub's state of one board.
//   - ordering.go: seq order, duplicates, gap filling and the head check.
//   - catchup.go: the hand-over from reading the log to live delivery.
//   - drop.go: ending every subscription to a board that is gone.
//   - verify.go: delivered events checked against the log (fingerprints);
//     jsonhash.go hashes their data by meaning.
//   - presence.go: who views a board, here and on other instances.
//   - user.go: a user's own stream (their boards, their notifications).
//
// # Lock order
//
// Three kinds of mutex, always taken in this order, never the other way:
//
//	Hub.mu → boardState.mu → Client.mu
//
// A goroutine holding one of them may take a later one, never an earlier
// one (release it first). Hub.mu guards the board and client registries (and user streams);
// boardState.mu a board's order, subscribers and presence; Client.mu a
// client's queue, state and subscription map. No lock is held while calling
// the Log or the Bus, nor while closing a client (closeClient takes them in
// turn). A client's notify function (Client.SetNotify) runs under Client.mu
// and may take only a lock of its own, last in this order.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// Log is the event log, read to catch subscribers up, to fill gaps and to
// check the events that came by the bus. It must read the primary (or a
// replica at least as far as every event published): an event delivered
// but missing from a read that started after it looks forged.
type Log interface {
	// Events returns up to limit events of the board after since, in seq
	// order, and the board's head seq, if user may read the board
	// (ENotFound otherwise). With since older than the retained log it
	// returns ESinceExpired. limit 0 returns just the head. A batch may
	// end before limit and before the head (the store bounds it by
	// board.MaxEventsPageBytes) but holds at least one event if there is one.
	Events(ctx context.Context, user, boardID string, since int64, limit int) ([]board.Event, int64, error)
	// LogEvents is Events for the hub itself: no membership check.
	LogEvents(ctx context.Context, boardID string, since int64, limit int) ([]board.Event, error)
	// Heads returns the head seq of each of the boards that still exist.
	Heads(ctx context.Context, boardIDs []string) (map[string]int64, error)
}

// Bus carries events and presence between instances. The instance that
// commits an event publishes it to the bus itself; the bus hands events of
// joined boards from other instances to Hub.Publish and their presence to
// Hub.RemotePresence. The hub does not trust what comes by the bus: events
// are checked against the log (verify.go).
type Bus interface {
	// Join starts receiving a board's events and presence. It returns once
	// the subscription is in place; leave ends it.
	Join(boardID string) (leave func(), err error)
	// PublishPresence announces the users viewing the board on this
	// instance.
	PublishPresence(boardID, instance string, users []string)
}

// Options configure a Hub.
type Options struct {
	Log              Log
	Bus              Bus           // nil: this instance is alone
	HeadInterval     time.Duration // how often heads are checked; 0: 2s
	PresenceInterval time.Duration // presence heartbeat; 0: 1s (expiry after 3)
	PresenceDelay    time.Duration // presence changes are sent at most this late, batched; 0: 100ms
	// PresenceBytes bounds the presence frames a board sends its local
	// subscribers, in bytes per second on average: after a flush, the next
	// waits until the bytes queued by this one are paid for at this rate
	// (if that is longer than PresenceDelay). A presence frame carries the
	// board's whole viewer list to every subscriber, so a busy board's cost
	// grows with the square of its viewers. 0: 16 MiB/s.
	PresenceBytes int
	QueueBytes    int // per-client queue limit; 0: 1 MiB
	MaxCatchUp    int // most events replayed on subscribe; more gets resync; 0: 1000
	Logger        *slog.Logger
	// OnDeliver, when set, is called once for each event just queued to
	// the board's subscribers, in seq order per board, with the board's
	// lock held: it must be quick and must not call the hub (metrics).
	OnDeliver func(board.Event)
}

// Stats are counters since the hub started.
type Stats struct {
	Published   uint64 // events accepted for delivery
	Delivered   uint64 // frames queued to subscribers for events
	Duplicates  uint64 // events dropped as already delivered
	GapFills    uint64 // events read from the log to fill a gap
	SlowCloses  uint64 // clients closed as too slow
	Resyncs     uint64 // subscribers told to resync
	Divergences uint64 // boards whose delivered events differed from the log (forged or corrupted on the bus)
	Subscribers int64  // current subscriptions
	Clients     int64  // current clients
}

// Hub is safe for concurrent use.
type Hub struct {
	o        Options
	log      *slog.Logger
	instance string

	mu      sync.Mutex
	boards  map[string]*boardState
	clients map[*Client]struct{}
	perUser map[string]int
	closed  bool
	// userStreams are the clients whose user stream is on, by user
	// (user.go); created with the first.
	userStreams map[string]map[*Client]struct{}

	stop chan struct{}
	wg   sync.WaitGroup

	seed      maphash.Seed  // keys event fingerprints (verify.go)
	verifying chan struct{} // a token per board being checked against the log

	published, delivered, duplicates, gapFills, slowCloses, resyncs, divergences atomic.Uint64
	subscribers, nclients                                                        atomic.Int64
}

// New returns a running hub. Close stops it.
func New(o Options) *Hub {
	if o.HeadInterval == 0 {
		o.HeadInterval = 2 * time.Second
	}
	if o.PresenceInterval == 0 {
		o.PresenceInterval = time.Second
	}
	if o.PresenceDelay == 0 {
		o.PresenceDelay = 100 * time.Millisecond
	}
	if o.PresenceBytes == 0 {
		o.PresenceBytes = 16 << 20
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = 1 << 20
	}
	if o.MaxCatchUp == 0 {
		o.MaxCatchUp = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var id [8]byte
	rand.Read(id[:]) //nolint:errcheck // crypto/rand.Read never fails
	h := &Hub{
		o: o, log: o.Logger, instance: hex.EncodeToString(id[:]),
		boards: map[string]*boardState{}, clients: map[*Client]struct{}{}, perUser: map[string]int{},
		stop: make(chan struct{}), seed: maphash.MakeSeed(), verifying: make(chan struct{}, maxVerifying),
	}
	h.wg.Add(2)
	go h.headLoop()
	go h.presenceLoop()
	return h
}

// maxVerifying bounds the boards whose delivered events are read from the
// log at once to check them.
const maxVerifying = 4

// Instance is this hub's random instance id, as presence messages carry it.
func (h *Hub) Instance() string { return h.instance }

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Published: h.published.Load(), Delivered: h.delivered.Load(), Duplicates: h.duplicates.Load(),
		GapFills: h.gapFills.Load(), SlowCloses: h.slowCloses.Load(), Resyncs: h.resyncs.Load(),
		Divergences: h.divergences.Load(),
		Subscribers: h.subscribers.Load(), Clients: h.nclients.Load(),
	}
}

// Close closes every client with ErrShuttingDown and stops the hub's loops.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	clients := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	for _, c := range clients {
		h.closeClient(c, ErrShuttingDown)
	}
	close(h.stop)
	h.wg.Wait()
}
