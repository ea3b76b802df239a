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

	// Ordering and gap filling (ordering.go), board drop (drop.go).
	dropped *string // the board is gone: subscribers are told so (with this resync reason, or "": deleted) and released
	known   bool    // last is set
	last    int64   // seq of the last event delivered
	pending map[int64]board.Event
	target  int64 // fill the log up to here
	filling bool

	// Presence (presence.go).
	local         map[string]int           // local subscriptions per user
	remote        map[string]remoteViewers // other instances' viewers
	lastSeen      []string                 // users in the last presence frame
	lastLocal     []string                 // local users last announced
	presenceTimer *time.Timer              // a flush is scheduled
}

// subscription is one client's subscription to a board: catching up (not
// live, live events buffered in buf), then live (catchup.go).
type subscription struct {
	live        bool
	sawPresence bool
	sentUpTo    int64
	buf         []bufferedEvent // events delivered while catching up
	// floor: the events up to here were never delivered to buf (the
	// subscriber came before the board's state knew where it started), so
	// the subscriber must have read the log at least this far.
	floor int64
}

type bufferedEvent struct {
	seq   int64
	frame []byte
}

func newBoardState(id string) *boardState {
	return &boardState{
		id: id, joined: make(chan struct{}),
		pending: map[int64]board.Event{}, subs: map[*Client]*subscription{},
		local: map[string]int{}, remote: map[string]remoteViewers{},
	}
}
