package hub

import (
	"context"

	"github.com/corkboard/corkboard/internal/board"
)

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
	endBehind   = &ending{FrameResync, ResyncTooFarBehind}
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

// heldForConfirmation reports whether e must be confirmed by the log before
// it is delivered: a board.deleted from the bus ends every subscription to
// the board, so a forged one is not let through.
func heldForConfirmation(e board.Event, fromLog bool) bool {
	return e.Kind == board.KindBoardDeleted && !fromLog
}

// confirmDeletion asks the log reader whether the board.deleted held back
// as the board's next event is the log's (bs.mu held).
func (h *Hub) confirmDeletion(bs *boardState) {
	bs.confirm = true
	h.startReading(bs)
}

// confirmDeleted checks the board.deleted held back at seq to (from+1)
// against the log, read after it arrived: the board is gone (its events
// with it), or the log holds that very event; then it is delivered and the
// subscriptions end. Otherwise it was forged and is dropped, and the log's
// event at that seq (if any yet) is delivered instead. It reports whether it
// could read the log.
func (h *Hub) confirmDeleted(ctx context.Context, bs *boardState, _, seq int64) bool {
	heads, err := h.o.Log.Heads(ctx, []string{bs.id})
	if err != nil {
		h.log.Error("confirm a board deletion", "board", bs.id, "err", err)
		return false
	}
	_, exists := heads[bs.id]
	var events []board.Event
	if exists {
		if events, err = h.o.Log.LogEvents(ctx, bs.id, seq-1, 1); err != nil {
			h.log.Error("confirm a board deletion", "board", bs.id, "err", err)
			return false
		}
	}
	fps := h.fingerprints(events)
	bs.mu.Lock()
	held, ok := bs.pending[seq]
	if !ok || bs.last+1 != seq || !heldForConfirmation(held.e, held.fromLog) {
		bs.confirm = false // delivered or displaced meanwhile
		bs.mu.Unlock()
		return true
	}
	bs.confirm = false
	delete(bs.pending, seq)
	var slow []*Client
	switch {
	case !exists:
		slow = h.accept(bs, held.e, held.fp, true)
	case len(events) == 1 && events[0].Seq == seq:
		if fps[0] != held.fp {
			h.log.Warn("dropping a board.deleted that is not the log's", "board", bs.id, "seq", seq)
		}
		slow = h.accept(bs, events[0], fps[0], true)
	default:
		h.log.Warn("dropping a board.deleted that is not in the log", "board", bs.id, "seq", seq)
	}
	bs.mu.Unlock()
	h.closeSlow(slow)
	return true
}
