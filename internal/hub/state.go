package hub

import (
	"sync"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// boardState is the hub's state of one board with local subscribers. Its
// fields after mu are guarded by mu (see the lock order in the package doc).
type boardState struct {
	id     string
	joined chan struct{} // closed once the bus subscription is in place

	mu sync.Mutex

	// The registry's (registry.go).
	dead  bool // removed from the hub
	subs  map[*Client]*subscription
	leave func()

	// Ordering and gap filling (ordering.go).
	known   bool  // last is set
	last    int64 // seq of the last event delivered
	pending map[int64]heldEvent
	target  int64 // fill the log up to here
	filling bool  // a goroutine reads the log (readLog)
	confirm bool  // the board.deleted held as the next event is to be confirmed (drop.go)

	// Checking delivered events against the log (verify.go).
	prints    [printRing]print // the last events delivered, by seq % printRing
	unchecked []print          // events delivered not from the log, not yet compared with it, by seq
	verify    bool             // compare them with the log now

	// Board drop (drop.go).
	dropped  *ending // the board is dropped: no more events; subscribers end with this
	dropping bool    // its live subscribers are being dropped

	// Presence (presence.go).
	local         map[string]int           // local subscriptions per user
	remote        map[string]remoteViewers // other instances' viewers
	lastSeen      []string                 // users in the last presence frame
	lastLocal     []string                 // local users last announced
	presenceTimer *time.Timer              // a flush is scheduled
	presenceNext  time.Time                // no flush before then (Options.PresenceBytes)
}

// subscription is one client's subscription to a board: catching up (not
// live, live events buffered in buf), then live (catchup.go).
type subscription struct {
	live        bool
	counted     bool    // counted among the board's viewers (bs.local): once live
	ended       *ending // revoked while catching up: ends so on going live
	sawPresence bool
	sentUpTo    int64
	buf         []bufferedEvent // events delivered while catching up
	// floor: the events up to here were never delivered to buf (the
	// subscriber came before the board's state knew where it started), so
	// the subscriber must have read the log at least this far.
	floor int64
}

// heldEvent is an event held back behind a gap, with its fingerprint and
// whether it was read from the log.
type heldEvent struct {
	e       board.Event
	fp      uint64
	fromLog bool
}

type bufferedEvent struct {
	seq   int64
	frame []byte
}

func newBoardState(id string) *boardState {
	return &boardState{
		id: id, joined: make(chan struct{}),
		pending: map[int64]heldEvent{}, subs: map[*Client]*subscription{},
		local: map[string]int{}, remote: map[string]remoteViewers{},
	}
}
