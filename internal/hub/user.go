package hub

import (
	"github.com/corkboard/corkboard/internal/board"
)

// Frame types of the user stream (see docs/protocol.md).
const (
	FrameUser             = "user"
	FrameUserSubscribed   = "user_subscribed"
	FrameUserUnsubscribed = "user_unsubscribed"
)

// userFrame is a user message as the client receives it.
type userFrame struct {
	Type  string `json:"type"`
	Kind  string `json:"kind"`
	Board string `json:"board,omitempty"`
	Data  any    `json:"data,omitempty"`
}

// EncodeUser encodes m as a user frame.
func EncodeUser(m board.UserMessage) []byte {
	f := userFrame{Type: FrameUser, Kind: m.Kind, Board: m.Board}
	if len(m.Data) > 0 {
		f.Data = m.Data
	}
	b, err := board.MarshalJSON(f)
	if err != nil {
		// Data came from board.MarshalJSON or the bus (checked as JSON by
		// the handler): it always encodes.
		panic("hub: encode user frame: " + err.Error())
	}
	return b
}

// SubscribeUser starts c's user stream: from now on it gets the user
// messages addressed to its user (SendUser). They are not numbered and not
// replayed: a client that (re)subscribes reads the state they describe
// over HTTP after it got the user_subscribed frame. EConflict when the
// stream is on already or the client is closed.
func (c *Client) SubscribeUser() error {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return board.Errorf(board.EConflict, "the connection is closed")
	}
	if h.userStreams == nil {
		h.userStreams = map[string]map[*Client]struct{}{}
	}
	set := h.userStreams[c.user]
	if _, ok := set[c]; ok {
		return board.Errorf(board.EConflict, "already subscribed to the user stream")
	}
	if set == nil {
		set = map[*Client]struct{}{}
		h.userStreams[c.user] = set
	}
	set[c] = struct{}{}
	return nil
}

// UnsubscribeUser ends c's user stream; ENotFound when it has none.
func (c *Client) UnsubscribeUser() error {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.userStreams[c.user][c]; !ok {
		return board.Errorf(board.ENotFound, "not subscribed to the user stream")
	}
	h.dropUserStreamLocked(c)
	return nil
}

// UserStream reports whether c's user stream is on.
func (c *Client) UserStream() bool {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.userStreams[c.user][c]
	return ok
}

// dropUserStreamLocked removes c from the user streams; h.mu is held.
func (h *Hub) dropUserStreamLocked(c *Client) {
	set := h.userStreams[c.user]
	delete(set, c)
	if len(set) == 0 {
		delete(h.userStreams, c.user)
	}
}

// SendUser queues m, encoded once, to every client of m.User on this
// instance whose user stream is on. Like Publish, it never blocks: a
// client whose queue is full is closed as too slow.
func (h *Hub) SendUser(m board.UserMessage) {
	h.mu.Lock()
	set := h.userStreams[m.User]
	if len(set) == 0 {
		h.mu.Unlock()
		return
	}
	frame := EncodeUser(m)
	var slow []*Client
	for c := range set {
		c.mu.Lock()
		ok := c.enqueueLocked(frame)
		c.mu.Unlock()
		if !ok {
			slow = append(slow, c)
		}
	}
	h.mu.Unlock()
	h.closeSlow(slow)
}
