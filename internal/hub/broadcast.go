package hub

// Broadcast queues frame, one encoded server frame that is not in the
// board's log (an ephemeral kind of real-time message: typing indicators
// and the like), to every subscriber of boardID on this instance that is
// live (past its catch-up). It is neither numbered nor replayed: a
// subscriber that is not live, or reconnects, does not get it. Like
// Publish, it never blocks: a client whose queue is full is closed as too
// slow. A new kind of message is then a frame type, a bus handler that
// calls Broadcast, and a Register line (see natsbus.Bus.Register).
func (h *Hub) Broadcast(boardID string, frame []byte) {
	h.mu.Lock()
	bs := h.boards[boardID]
	h.mu.Unlock()
	if bs == nil {
		return
	}
	var slow []*Client
	bs.mu.Lock()
	for c, sub := range bs.subs {
		if !sub.live {
			continue
		}
		c.mu.Lock()
		ok := c.enqueueLocked(frame)
		c.mu.Unlock()
		if !ok {
			slow = append(slow, c)
		}
	}
	bs.mu.Unlock()
	h.closeSlow(slow)
}
