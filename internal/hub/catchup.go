package hub

import (
	"context"
	"fmt"
	"slices"

	"github.com/corkboard/corkboard/internal/board"
)

// subscribe is Client.Subscribe, the hand-over from the log to live
// delivery: register c, not yet live (live events are buffered for it),
// read the log after since and send it (in batches, which the log bounds in
// bytes, each continuing where the last ended, up to the head read first),
// then go live: send the buffered
// events not yet sent, and from then on every event as it is delivered.
func (h *Hub) subscribe(ctx context.Context, c *Client, boardID string, since *int64) error {
	bs, err := h.acquire(boardID, c)
	if err != nil {
		return err
	}
	select {
	case <-bs.joined:
	case <-ctx.Done():
		h.release(bs, c)
		return ctx.Err()
	}
	limit := 0
	from := int64(0)
	if since != nil {
		from, limit = *since, h.o.MaxCatchUp+1
	}
	events, head, err := h.o.Log.Events(ctx, c.user, boardID, from, limit)
	switch {
	case board.ErrorCode(err) == board.ESinceExpired:
		h.release(bs, c)
		h.resync(c, boardID, ResyncSinceExpired)
		return nil
	case err != nil:
		h.release(bs, c)
		return err
	case since != nil && *since > head:
		// Past the board's head: the client saw events this log no longer
		// has (a database restored from a backup). Its copy is not the
		// log's: it reloads, never waits for seqs that will mean something
		// else.
		h.release(bs, c)
		h.resync(c, boardID, ResyncSinceExpired)
		return nil
	case since != nil && head-*since > int64(h.o.MaxCatchUp):
		// The log is gap-free: head-since events are owed.
		h.release(bs, c)
		h.resync(c, boardID, ResyncTooFarBehind)
		return nil
	}
	if !c.Send(Frame{Type: FrameSubscribed, Board: boardID, Seq: seqPtr(head)}.Encode()) {
		return nil
	}
	sent := from
	var read []board.Event // the last events sent, at most printRing
	for {
		for _, e := range events {
			if !c.Send(EncodeEvent(e)) {
				return nil
			}
			sent = e.Seq
		}
		read = append(read, events[max(0, len(events)-printRing):]...)
		read = read[max(0, len(read)-printRing):]
		if since == nil || sent >= head {
			break
		}
		// A batch is bounded in bytes (board.MaxEventsPageBytes): read the
		// rest up to head, which goLive takes as sent.
		more, _, err := h.o.Log.Events(ctx, c.user, boardID, sent, int(head-sent))
		switch {
		case board.ErrorCode(err) == board.ESinceExpired:
			h.release(bs, c)
			h.resync(c, boardID, ResyncSinceExpired)
			return nil
		case err != nil:
			h.release(bs, c)
			return err
		case len(more) == 0 || more[0].Seq != sent+1:
			h.release(bs, c) // no longer in the log
			h.resync(c, boardID, ResyncSinceExpired)
			return nil
		}
		events = more
	}
	// The log's events may be ones this instance delivered from the bus:
	// compare them (the last few, whose fingerprints the board keeps).
	for {
		fps := h.fingerprints(read)
		bs.mu.Lock()
		h.checkLog(bs, read, fps)
		slow, behind, end := h.goLive(bs, c, head)
		bs.mu.Unlock()
		h.closeSlow(slow)
		if end != nil {
			h.dropSub(bs, c, end)
			return nil
		}
		if behind <= head {
			break
		}
		// c read the log before another subscriber set where the board's
		// state starts: read the events in between, which c has not had.
		events, err := h.o.Log.LogEvents(ctx, boardID, head, int(min(behind-head, fillBatch)))
		if err != nil {
			h.release(bs, c)
			return fmt.Errorf("catch up board %s: %w", boardID, err)
		}
		if len(events) == 0 || events[0].Seq != head+1 {
			h.release(bs, c) // no longer in the log
			h.resync(c, boardID, ResyncSinceExpired)
			return nil
		}
		read = nil
		for _, e := range events {
			if e.Seq != head+1 {
				break
			}
			if !c.Send(EncodeEvent(e)) {
				return nil
			}
			head = e.Seq
			read = append(read, e)
		}
		read = read[max(0, len(read)-printRing):]
	}
	h.presenceChanged(bs)
	return nil
}

func (h *Hub) resync(c *Client, boardID, reason string) {
	h.resyncs.Add(1)
	c.Send(Frame{Type: FrameResync, Board: boardID, Reason: reason}.Encode())
}

// goLive ends c's catch-up (bs.mu held): c has been sent the log up to head;
// now the events delivered meanwhile, then live ones, and c counts as a
// viewer of the board. If c must first read the log further, goLive returns
// how far (behind > head) and c stays in catch-up. If the board was dropped
// or c's subscription revoked meanwhile, it returns how c's subscription
// ends, after the events it was owed.
func (h *Hub) goLive(bs *boardState, c *Client, head int64) (slow []*Client, behind int64, end *ending) {
	sub := bs.subs[c]
	if sub == nil {
		return nil, 0, nil
	}
	if head < sub.floor {
		return nil, sub.floor, nil
	}
	if !bs.known {
		// The subscribers still catching up may have read the log before
		// head: the events up to head will not reach their buf.
		for _, s := range bs.subs {
			if !s.live {
				s.floor = head
			}
		}
		bs.known, bs.last = true, head
		seqs := make([]int64, 0, len(bs.pending))
		for seq := range bs.pending {
			seqs = append(seqs, seq)
		}
		slices.Sort(seqs)
		held := bs.pending
		bs.pending = map[int64]heldEvent{}
		for _, seq := range seqs {
			p := held[seq]
			slow = append(slow, h.accept(bs, p.e, p.fp, p.fromLog)...)
		}
	}
	sub.sentUpTo = head
	c.mu.Lock()
	for _, b := range sub.buf {
		if b.seq > sub.sentUpTo {
			sub.sentUpTo = b.seq
			if !c.enqueueLocked(b.frame) {
				slow = append(slow, c)
				break
			}
			h.delivered.Add(1)
		}
	}
	c.mu.Unlock()
	sub.buf, sub.live = nil, true
	switch {
	case sub.ended != nil:
		return slow, 0, sub.ended
	case bs.dropped != nil:
		return slow, 0, bs.dropped
	}
	// Only now, a member for sure, c counts as a viewer.
	sub.counted = true
	bs.local[c.user]++
	return slow, 0, nil
}
