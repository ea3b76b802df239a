package hub

// An ending says how a subscription ends, as its last frame for the board:
// a resync or an unsubscribed frame, with a reason.
type ending struct {
	frame  string // FrameResync or FrameUnsubscribed
	reason string
}

var (
	endDeleted  = &ending{FrameUnsubscribed, "board deleted"}
	endGone     = &ending{FrameResync, ResyncBoardGone}
	endDiverged = &ending{FrameResync, ResyncDiverged}
)

// dropBoard ends every subscription to a board, with end as the last frame
// each subscriber gets for it: the board was deleted, is gone, or its
// delivered events diverged from the log. The board's state is detached
// from the hub at once, so that a new subscriber starts from a fresh one;
// it accepts no more events.
//
// Only live subscribers are dropped here, once; those still catching up are
// dropped when they go live, after the events they are owed.
func (h *Hub) dropBoard(bs *boardState, end *ending) {
	bs.mu.Lock()
	if bs.dropped == nil {
		bs.dropped = end
	}
	end = bs.dropped
	bs.mu.Unlock()
	h.mu.Lock()
	if h.boards[bs.id] == bs {
		delete(h.boards, bs.id)
	}
	h.mu.Unlock()
	bs.mu.Lock()
	if bs.dropping {
		bs.mu.Unlock()
		return
	}
	bs.dropping = true
	clients := make([]*Client, 0, len(bs.subs))
	for c, sub := range bs.subs {
		if sub.live {
			clients = append(clients, c)
		}
	}
	bs.mu.Unlock()
	for _, c := range clients {
		h.dropSub(bs, c, end)
	}
}

// dropLocked marks the board dropped (bs.mu held) and drops its subscribers
// from another goroutine: dropBoard takes Hub.mu, which comes before bs.mu.
func (h *Hub) dropLocked(bs *boardState, end *ending) {
	if bs.dropped != nil {
		return
	}
	bs.dropped = end
	go h.dropBoard(bs, end)
}

// dropSub ends c's subscription to the board with end: released first, so
// that nothing follows the last frame.
func (h *Hub) dropSub(bs *boardState, c *Client, end *ending) {
	if !h.release(bs, c) {
		return
	}
	if end.frame == FrameResync {
		h.resync(c, bs.id, end.reason)
		return
	}
	c.Send(Frame{Type: FrameUnsubscribed, Board: bs.id, Reason: end.reason}.Encode())
}
