package hub

// dropBoard ends every subscription to a board that no longer exists; with a
// reason, subscribers are told to resync (and will find it gone).
//
// Only live subscribers are dropped here, once; those still catching up are
// dropped when they go live, after the events they are owed.
func (h *Hub) dropBoard(bs *boardState, reason string) {
	bs.mu.Lock()
	if bs.dropped != nil {
		bs.mu.Unlock()
		return
	}
	bs.dropped = &reason
	clients := make([]*Client, 0, len(bs.subs))
	for c, sub := range bs.subs {
		if sub.live {
			clients = append(clients, c)
		}
	}
	bs.mu.Unlock()
	for _, c := range clients {
		h.dropSub(bs, c, reason)
	}
}

// dropSub tells c the board is gone and releases its subscription.
func (h *Hub) dropSub(bs *boardState, c *Client, reason string) {
	if reason != "" {
		h.resync(c, bs.id, reason)
	} else {
		c.Send(Frame{Type: FrameUnsubscribed, Board: bs.id, Reason: "board deleted"}.Encode())
	}
	h.release(bs, c)
}
