package hub

import (
	"context"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// Publish delivers a committed event to the board's local subscribers, in seq
// order and once. It never blocks on subscribers. Events of boards without
// local subscribers are ignored.
func (h *Hub) Publish(e board.Event) {
	h.mu.Lock()
	bs := h.boards[e.BoardID]
	h.mu.Unlock()
	if bs == nil {
		return
	}
	h.published.Add(1)
	bs.mu.Lock()
	slow := h.accept(bs, e)
	bs.mu.Unlock()
	h.closeSlow(slow)
}

func (h *Hub) closeSlow(slow []*Client) {
	for _, c := range slow {
		h.closeClient(c, nil)
	}
}

// maxPending bounds the events held back behind a gap; later ones are read
// from the log when the gap is filled.
const maxPending = 10000

// accept takes the next event of bs (bs.mu held): it delivers it if it is
// the next in seq, drops it if it was delivered, and holds it back and fills
// the gap from the log if events are missing before it. It returns the
// clients found too slow.
func (h *Hub) accept(bs *boardState, e board.Event) []*Client {
	if bs.dead {
		return nil
	}
	if !bs.known {
		if len(bs.pending) < maxPending {
			bs.pending[e.Seq] = e
		}
		return nil
	}
	if e.Seq <= bs.last {
		h.duplicates.Add(1)
		return nil
	}
	if e.Seq > bs.last+1 {
		if len(bs.pending) < maxPending {
			bs.pending[e.Seq] = e
		}
		h.fillTo(bs, e.Seq-1)
		return nil
	}
	slow := h.deliver(bs, e)
	for {
		next, ok := bs.pending[bs.last+1]
		if !ok {
			break
		}
		delete(bs.pending, next.Seq)
		slow = append(slow, h.deliver(bs, next)...)
	}
	for seq := range bs.pending {
		if seq <= bs.last {
			delete(bs.pending, seq)
		}
	}
	if e.Kind == board.KindBoardDeleted {
		go h.dropBoard(bs, "")
	}
	return slow
}

// deliver queues e, the next event, to every subscriber (bs.mu held).
func (h *Hub) deliver(bs *boardState, e board.Event) []*Client {
	bs.last = e.Seq
	if len(bs.subs) == 0 {
		return nil
	}
	frame := EncodeEvent(e)
	var slow []*Client
	for c, sub := range bs.subs {
		if !sub.live {
			sub.buf = append(sub.buf, bufferedEvent{e.Seq, frame})
			continue
		}
		if e.Seq <= sub.sentUpTo {
			continue
		}
		sub.sentUpTo = e.Seq
		c.mu.Lock()
		ok := c.enqueueLocked(frame)
		c.mu.Unlock()
		if ok {
			h.delivered.Add(1)
		} else {
			slow = append(slow, c)
		}
	}
	if h.o.OnDeliver != nil {
		h.o.OnDeliver(e)
	}
	return slow
}

// fillTo makes sure the events up to seq get read from the log (bs.mu held).
func (h *Hub) fillTo(bs *boardState, seq int64) {
	bs.target = max(bs.target, seq)
	if bs.dead || bs.filling || !bs.known || bs.target <= bs.last {
		return
	}
	bs.filling = true
	h.wg.Add(1)
	go h.fill(bs)
}

// fillBatch is how many events one gap-filling read takes.
const fillBatch = 500

// fill reads missing events from the log until bs has delivered up to its
// target. On a database error it stops; the head check starts it again.
func (h *Hub) fill(bs *boardState) {
	defer h.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		bs.mu.Lock()
		from, to := bs.last, bs.target
		if bs.dead || from >= to {
			bs.filling = false
			bs.mu.Unlock()
			return
		}
		bs.mu.Unlock()
		events, err := h.o.Log.LogEvents(ctx, bs.id, from, int(min(to-from, fillBatch)))
		bs.mu.Lock()
		if err != nil || len(events) == 0 {
			bs.filling = false
			bs.mu.Unlock()
			if err != nil {
				h.log.Error("fill gap from the event log", "board", bs.id, "from", from, "err", err)
			}
			return
		}
		var slow []*Client
		for _, e := range events {
			if e.Seq == bs.last+1 {
				h.gapFills.Add(1)
			}
			slow = append(slow, h.accept(bs, e)...)
		}
		bs.mu.Unlock()
		h.closeSlow(slow)
	}
}

// headLoop compares, every HeadInterval, the seq delivered for each board
// with its head in the database, and fills what is missing: even the last
// event of a quiet board, lost on the bus, arrives within that bound.
func (h *Hub) headLoop() {
	defer h.wg.Done()
	t := time.NewTicker(h.o.HeadInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.checkHeads()
		}
	}
}

func (h *Hub) checkHeads() {
	h.mu.Lock()
	states := make([]*boardState, 0, len(h.boards))
	ids := make([]string, 0, len(h.boards))
	for id, bs := range h.boards {
		states = append(states, bs)
		ids = append(ids, id)
	}
	h.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.o.HeadInterval)
	defer cancel()
	heads, err := h.o.Log.Heads(ctx, ids)
	if err != nil {
		h.log.Error("check board heads", "err", err)
		return
	}
	for _, bs := range states {
		head, ok := heads[bs.id]
		if !ok {
			go h.dropBoard(bs, ResyncBoardGone)
			continue
		}
		bs.mu.Lock()
		if bs.known && head > bs.last {
			h.fillTo(bs, head)
		}
		bs.mu.Unlock()
	}
}

// CheckHeads checks every board's head now, as after a bus reconnect when
// messages may have been lost.
func (h *Hub) CheckHeads() { go h.checkHeads() }
