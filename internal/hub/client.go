package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/corkboard/corkboard/internal/board"
)

// Why a client was closed by the hub.
var (
	ErrTooSlow      = errors.New("hub: client too slow: its queue is full")
	ErrShuttingDown = errors.New("hub: shutting down")
	ErrClosed       = errors.New("hub: client closed")
	ErrRevoked      = errors.New("hub: access revoked")
)

// Client is one connection's side of the hub: a bounded queue of encoded
// frames that the hub fills without ever blocking, and that the connection's
// single writer drains. When the queue would exceed its byte limit the client
// is closed with ErrTooSlow, and nobody else waits for it.
type Client struct {
	hub  *Hub
	user string
	p    board.Principal

	mu     sync.Mutex
	queue  [][]byte
	queued int // bytes in queue
	max    int
	err    error                  // why closed; nil while open
	boards map[string]*boardState // the client's subscriptions

	ready  chan struct{} // has a value when queue is non-empty (without notify)
	done   chan struct{} // closed when the client closes
	notify func()        // see SetNotify; nil: ready is signalled
}

// User is the id of the client's user.
func (c *Client) User() string { return c.user }

// Ready is signalled when frames wait in the queue, unless SetNotify gave
// a function to call instead.
func (c *Client) Ready() <-chan struct{} { return c.ready }

// SetNotify makes the hub call f, instead of signalling Ready, each time
// the client's queue goes from empty to non-empty and once when the client
// is closed: a connection then needs no goroutine of its own waiting for
// frames (a pool of writers serves those that have some). f is called with
// the client's lock held (and maybe a board's): it must be quick, must not
// block and must not call the hub or the client; it may take a lock of its
// own that it never holds while calling the hub (the last in the lock order
// of package hub). If the client is closed already, or has frames queued,
// f is called at once.
func (c *Client) SetNotify(f func()) {
	c.mu.Lock()
	c.notify = f
	if c.err != nil || len(c.queue) > 0 {
		f()
	}
	c.mu.Unlock()
}

// Done is closed when the client is closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the client was closed; nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Take appends the queued frames to dst, in order, empties the queue and
// returns dst. The frames must not be modified: they are shared with other
// clients.
func (c *Client) Take(dst [][]byte) [][]byte {
	dst, _ = c.TakeErr(dst)
	return dst
}

// TakeErr is Take, and Err at the same moment (one lock for both: the
// writer pool calls it for every message).
func (c *Client) TakeErr(dst [][]byte) ([][]byte, error) {
	c.mu.Lock()
	dst = append(dst, c.queue...)
	clear(c.queue)
	c.queue = c.queue[:0]
	if cap(c.queue) > 64 {
		c.queue = nil // a burst's slice is not kept for the client's life
	}
	c.queued = 0
	err := c.err
	c.mu.Unlock()
	return dst, err
}

// Send queues a frame for the client. It never blocks; it reports false when
// the client is closed, or has just been closed because its queue is full.
func (c *Client) Send(frame []byte) bool {
	c.mu.Lock()
	ok := c.enqueueLocked(frame)
	c.mu.Unlock()
	if !ok {
		c.hub.closeClient(c, nil)
	}
	return ok
}

func (c *Client) enqueueLocked(frame []byte) bool {
	if c.err != nil {
		return false
	}
	if c.queued+len(frame) > c.max {
		c.err = ErrTooSlow
		close(c.done)
		c.hub.slowCloses.Add(1) // here, where it happens once per client
		if c.notify != nil {
			c.notify()
		}
		return false
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	if c.notify != nil {
		if len(c.queue) == 1 {
			c.notify()
		}
		return true
	}
	select {
	case c.ready <- struct{}{}:
	default:
	}
	return true
}

// Close closes the client with err (ErrClosed when nil) and ends its
// subscriptions. Closing a closed client does nothing.
func (c *Client) Close(err error) {
	if err == nil {
		err = ErrClosed
	}
	c.hub.closeClient(c, err)
}

// markClosed records err as the reason if the client is open, and returns
// the client's subscriptions, which the caller must release.
func (c *Client) markClosed(err error) []*boardState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && err != nil {
		c.err = err
		close(c.done)
		if c.notify != nil {
			c.notify()
		}
	}
	boards := make([]*boardState, 0, len(c.boards))
	for _, bs := range c.boards {
		boards = append(boards, bs)
	}
	clear(c.boards)
	return boards
}

// CheckAccess checks again that c's user may still read each board c is
// subscribed to, and ends the subscription to each board it may not (with
// an unsubscribed frame, as Revoke does): the backstop for a removal from a
// board whose revocation was lost on the bus. It returns the first failing
// check's error, having ended nothing for that board.
func (c *Client) CheckAccess(ctx context.Context) error {
	for _, id := range c.Boards() {
		_, _, err := c.hub.o.Log.Events(ctx, c.user, id, 0, 0)
		switch board.ErrorCode(err) {
		case "":
			continue
		case board.ENotFound:
		default:
			return fmt.Errorf("check access to board %s: %w", id, err)
		}
		c.hub.endSubscription(c, id, "no longer a member of the board")
	}
	return nil
}

// Subscribe subscribes c to a board. Without since, the client gets the
// events committed after the subscription; with since, first every event
// after since from the log, then the live ones, with no gap and no duplicate.
// It queues a subscribed frame (with the board's head), or a resync frame
// when since is older than the log or too far behind. Errors are
// *board.Error: ENotFound when the user may not read the board, EConflict
// when already subscribed, EInvalid for a since ahead of the board.
func (c *Client) Subscribe(ctx context.Context, boardID string, since *int64) error {
	return c.hub.subscribe(ctx, c, boardID, since)
}

// Unsubscribe ends c's subscription to a board; ENotFound when there is
// none.
func (c *Client) Unsubscribe(boardID string) error {
	c.mu.Lock()
	bs := c.boards[boardID]
	delete(c.boards, boardID)
	c.mu.Unlock()
	if bs == nil {
		return board.Errorf(board.ENotFound, "not subscribed to this board")
	}
	c.hub.release(bs, c)
	return nil
}

// Boards returns the ids of the boards c is subscribed to.
func (c *Client) Boards() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.boards))
	for id := range c.boards {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
