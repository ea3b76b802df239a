package hub

import (
	"context"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// Publish delivers a committed event to the board's local subscribers, in seq
// order and once. It never blocks on subscribers. Events of boards without
// local subscribers are ignored. The event may come from anyone on the bus:
// it is checked against the log later (see verify.go), and if the log holds
// another event at its seq, the board's subscribers are told to resync.
func (h *Hub) Publish(e board.Event) {
	h.mu.Lock()
	bs := h.boards[e.BoardID]
	h.mu.Unlock()
	if bs == nil {
		return
	}
	h.published.Add(1)
	fp := h.fingerprint(e)
	bs.mu.Lock()
	slow := h.accept(bs, e, fp, false)
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

// accept takes the next event of bs (bs.mu held), with its fingerprint and
// whether it was read from the log: it delivers it if it is the next in seq,
// drops it if it was delivered (comparing the two), and holds it back and
// fills the gap from the log if events are missing before it. A
// board.deleted that did not come from the log is held back until the log
// confirms it (confirmDeletion). It returns the clients found too slow.
func (h *Hub) accept(bs *boardState, e board.Event, fp uint64, fromLog bool) []*Client {
	if bs.dead || bs.dropped != nil {
		return nil
	}
	if !bs.known {
		if len(bs.pending) < maxPending {
			bs.pending[e.Seq] = heldEvent{e, fp, fromLog}
		}
		return nil
	}
	if e.Seq <= bs.last {
		h.duplicates.Add(1)
		h.compare(bs, e.Seq, fp, fromLog)
		return nil
	}
	if e.Seq > bs.last+1 || heldForConfirmation(e, fromLog) {
		if p, ok := bs.pending[e.Seq]; len(bs.pending) < maxPending && (!ok || fromLog || !p.fromLog) {
			bs.pending[e.Seq] = heldEvent{e, fp, fromLog}
		}
		if e.Seq > bs.last+1 {
			h.fillTo(bs, e.Seq-1)
		} else {
			h.confirmDeletion(bs)
		}
		return nil
	}
	slow := h.deliver(bs, e, fp, fromLog)
	for {
		next, ok := bs.pending[bs.last+1]
		if !ok {
			break
		}
		if heldForConfirmation(next.e, next.fromLog) {
			h.confirmDeletion(bs)
			break
		}
		delete(bs.pending, next.e.Seq)
		slow = append(slow, h.deliver(bs, next.e, next.fp, next.fromLog)...)
	}
	for seq, p := range bs.pending {
		if seq <= bs.last {
			delete(bs.pending, seq)
			h.compare(bs, seq, p.fp, p.fromLog)
		}
	}
	return slow
}

// deliver queues e, the next event, to every subscriber (bs.mu held).
func (h *Hub) deliver(bs *boardState, e board.Event, fp uint64, fromLog bool) []*Client {
	bs.last = e.Seq
	h.remember(bs, e.Seq, fp, fromLog)
	if e.Kind == board.KindBoardDeleted {
		defer h.dropLocked(bs, endDeleted)
	}
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
	h.startReading(bs)
}

// startReading starts the board's log reader if there is something to read
// (bs.mu held): events up to the target, or a check of delivered events.
func (h *Hub) startReading(bs *boardState) {
	if bs.dead || bs.dropped != nil || bs.filling || !bs.known {
		return
	}
	if bs.target <= bs.last && !bs.confirm && !(bs.verify && len(bs.unchecked) > 0) {
		return
	}
	bs.filling = true
	h.wg.Add(1)
	go h.readLog(bs)
}

// fillBatch is how many events one gap-filling read takes.
const fillBatch = 500

// readLog reads the log for a board: the missing events until bs has
// delivered up to its target, then, if asked, whether a board.deleted held
// back is the log's, then the events delivered that did not come from the
// log, to compare them. On a database error it stops; the head check starts
// it again.
func (h *Hub) readLog(bs *boardState) {
	defer h.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		bs.mu.Lock()
		from, to := bs.last, bs.target
		var read func(ctx context.Context, bs *boardState, from, to int64) bool
		switch {
		case bs.dead || bs.dropped != nil:
		case from < to:
			read = h.fill
		case bs.confirm:
			read, to = h.confirmDeleted, from+1
		case bs.verify && len(bs.unchecked) > 0:
			select { // a few boards at a time: the head check asks for many at once
			case h.verifying <- struct{}{}:
				bs.verify = false
				read = h.verifyDelivered
				from = bs.unchecked[0].seq - 1
				to = min(bs.unchecked[len(bs.unchecked)-1].seq, from+fillBatch)
			default: // the next head check (or checkEvery more events) asks again; fills do not wait
			}
		}
		if read == nil {
			bs.filling = false
			bs.mu.Unlock()
			return
		}
		bs.mu.Unlock()
		if !read(ctx, bs, from, to) {
			bs.mu.Lock()
			bs.filling = false
			bs.mu.Unlock()
			return
		}
	}
}

// fill reads the events after from up to to from the log and delivers them.
// It reports whether it could read the log.
func (h *Hub) fill(ctx context.Context, bs *boardState, from, to int64) bool {
	events, err := h.o.Log.LogEvents(ctx, bs.id, from, int(min(to-from, fillBatch)))
	if err != nil {
		h.log.Error("fill gap from the event log", "board", bs.id, "from", from, "err", err)
		return false
	}
	if len(events) == 0 {
		// Nothing there (yet): the target came from an event ahead that the
		// log does not have. The head check sets it again if it must.
		bs.mu.Lock()
		if bs.last == from {
			bs.target = from
		}
		bs.mu.Unlock()
		return true
	}
	fps := h.fingerprints(events)
	bs.mu.Lock()
	var slow []*Client
	for i, e := range events {
		if e.Seq == bs.last+1 {
			h.gapFills.Add(1)
		}
		slow = append(slow, h.accept(bs, e, fps[i], true)...)
	}
	bs.mu.Unlock()
	h.closeSlow(slow)
	return true
}

// headLoop compares, every HeadInterval, the seq delivered for each board
// with its head in the database, and fills what is missing: even the last
// event of a quiet board, lost on the bus, arrives within that bound. It
// also has the events delivered since the last check that did not come from
// the log compared with it.
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
			go h.dropBoard(bs, endGone)
			continue
		}
		bs.mu.Lock()
		if bs.known && head > bs.last {
			bs.target = max(bs.target, head)
		}
		if len(bs.unchecked) > 0 {
			bs.verify = true
		}
		h.startReading(bs)
		bs.mu.Unlock()
	}
}

// CheckHeads checks every board's head now, as after a bus reconnect when
// messages may have been lost.
func (h *Hub) CheckHeads() { go h.checkHeads() }
