package hub

import (
	"errors"

	"github.com/corkboard/corkboard/internal/board"
)

// Connect returns a new client for user.
func (h *Hub) Connect(user string) *Client {
	c, _ := h.ConnectAs(board.Principal{UserID: user}, 0)
	return c
}

// ConnectAs returns a new client for a principal, whose session or token a
// revocation may name. With maxPerUser > 0, a user with that many clients on
// this instance already gets ErrTooManyClients.
func (h *Hub) ConnectAs(p board.Principal, maxPerUser int) (*Client, error) {
	c := &Client{
		hub: h, user: p.UserID, p: p, max: h.o.QueueBytes,
		boards: map[string]*boardState{},
		ready:  make(chan struct{}, 1), done: make(chan struct{}),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if maxPerUser > 0 && h.perUser[p.UserID] >= maxPerUser {
		return nil, ErrTooManyClients
	}
	if h.closed {
		c.err = ErrShuttingDown
		close(c.done)
	} else {
		h.clients[c] = struct{}{}
		h.perUser[p.UserID]++
		h.nclients.Add(1)
	}
	return c, nil
}

// ErrTooManyClients refuses a user's connection over the per-user cap.
var ErrTooManyClients = errors.New("hub: too many connections for this user")

// Revoke applies a revocation to this instance: matching clients are closed
// with ErrRevoked, or, when it names a board, only their subscription to it
// ends (with an unsubscribed frame giving the reason).
func (h *Hub) Revoke(r board.Revocation) {
	h.mu.Lock()
	var hit []*Client
	for c := range h.clients {
		p := c.p
		if p.UserID != r.UserID || (r.SessionID != "" && p.SessionID != r.SessionID) ||
			(r.TokenID != "" && p.TokenID != r.TokenID) ||
			(r.ExceptSession != "" && p.SessionID == r.ExceptSession) {
			continue
		}
		hit = append(hit, c)
	}
	h.mu.Unlock()
	for _, c := range hit {
		if r.BoardID == "" {
			h.closeClient(c, ErrRevoked)
			continue
		}
		h.endSubscription(c, r.BoardID, r.Reason)
	}
}

// endSubscription ends c's subscription to a board, if it has one, with an
// unsubscribed frame giving the reason. A subscription still catching up
// ends when it goes live, after the subscribed frame and the events it was
// sent (so that the unsubscribed frame is its last).
func (h *Hub) endSubscription(c *Client, boardID, reason string) {
	c.mu.Lock()
	bs := c.boards[boardID]
	c.mu.Unlock()
	if bs == nil {
		return
	}
	end := &ending{FrameUnsubscribed, reason}
	bs.mu.Lock()
	sub := bs.subs[c]
	if sub != nil && !sub.live {
		if sub.ended == nil {
			sub.ended = end
		}
		bs.mu.Unlock()
		return
	}
	bs.mu.Unlock()
	h.dropSub(bs, c, end)
}

// closeClient closes c (with err, or with the reason already recorded) and
// releases its subscriptions.
func (h *Hub) closeClient(c *Client, err error) {
	boards := c.markClosed(err)
	for _, bs := range boards {
		h.release(bs, c)
	}
	h.mu.Lock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		if h.perUser[c.user]--; h.perUser[c.user] <= 0 {
			delete(h.perUser, c.user)
		}
		h.nclients.Add(-1)
	}
	h.dropUserStreamLocked(c)
	h.mu.Unlock()
}

// acquire registers c, not yet live, as a subscriber of the board, creating
// the board's state (and joining the bus) for its first local subscriber.
func (h *Hub) acquire(boardID string, c *Client) (*boardState, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, board.Errorf(board.EConflict, "the server is shutting down")
	}
	bs := h.boards[boardID]
	if bs != nil {
		bs.mu.Lock()
		if bs.dropped != nil {
			bs = nil // being dropped: a new subscriber starts afresh
		}
		bs.mu.Unlock()
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		h.mu.Unlock()
		return nil, board.Errorf(board.EConflict, "the connection is closed")
	}
	if c.boards[boardID] != nil {
		c.mu.Unlock()
		h.mu.Unlock()
		return nil, board.Errorf(board.EConflict, "already subscribed to this board")
	}
	if len(c.boards) >= MaxSubscriptions {
		c.mu.Unlock()
		h.mu.Unlock()
		return nil, board.Errorf(board.EConflict, "a connection may subscribe to at most %d boards", MaxSubscriptions)
	}
	created := bs == nil
	if created {
		bs = newBoardState(boardID)
		h.boards[boardID] = bs
	}
	c.boards[boardID] = bs
	c.mu.Unlock()
	bs.mu.Lock()
	// Not a viewer before it is checked (goLive). The events up to bs.last
	// went to the others before c came: c must read the log at least that
	// far, even from a read replica that lags.
	bs.subs[c] = &subscription{floor: bs.last}
	bs.mu.Unlock()
	h.mu.Unlock()
	h.subscribers.Add(1)
	if created {
		h.join(bs)
	}
	return bs, nil
}

// join subscribes the board on the bus, then lets subscribers read the log:
// an event committed after their read is then sure to come by the bus (or by
// a gap fill).
func (h *Hub) join(bs *boardState) {
	defer close(bs.joined)
	if h.o.Bus == nil {
		return
	}
	leave, err := h.o.Bus.Join(bs.id)
	if err != nil {
		// The head check still delivers every event, only later.
		h.log.Error("join board on the bus", "board", bs.id, "err", err)
		return
	}
	bs.mu.Lock()
	bs.leave = leave
	dead := bs.dead
	bs.mu.Unlock()
	if dead {
		leave()
	}
}

// release removes c's subscription to bs, and the board's state with its
// last subscriber. It reports whether it removed the subscription (false:
// it was already gone).
func (h *Hub) release(bs *boardState, c *Client) bool {
	c.mu.Lock()
	if c.boards[bs.id] == bs {
		delete(c.boards, bs.id)
	}
	c.mu.Unlock()
	h.mu.Lock()
	bs.mu.Lock()
	sub, ok := bs.subs[c]
	if ok {
		delete(bs.subs, c)
		if sub.counted {
			if bs.local[c.user]--; bs.local[c.user] <= 0 {
				delete(bs.local, c.user)
			}
		}
	}
	var leave func()
	empty := len(bs.subs) == 0 && !bs.dead
	// A dropped board's state was detached: another may have taken its
	// place, whose viewers this one must not deny.
	replaced := h.boards[bs.id] != nil && h.boards[bs.id] != bs
	if empty {
		bs.dead = true
		leave = bs.leave
		if h.boards[bs.id] == bs {
			delete(h.boards, bs.id)
		}
	}
	bs.mu.Unlock()
	h.mu.Unlock()
	if !ok {
		return false
	}
	h.subscribers.Add(-1)
	if empty {
		if h.o.Bus != nil && !replaced {
			h.o.Bus.PublishPresence(bs.id, h.instance, nil)
		}
		if leave != nil {
			leave()
		}
		return true
	}
	h.presenceChanged(bs)
	return true
}

// MaxSubscriptions is the most boards one client may subscribe to.
const MaxSubscriptions = 100
