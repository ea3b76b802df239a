package hub

import (
	"cmp"
	"context"
	"slices"

	"github.com/corkboard/corkboard/internal/board"
)

// The bus is not trusted: anyone who can publish on it can make up an
// event with the board's next seq, which the hub delivers as it would the
// real one (nothing tells them apart then), and the real event would then
// be dropped as a duplicate. So the hub keeps, for each board, the
// fingerprints of the last printRing events it delivered and of every
// event it delivered that did not come from the log and was not yet
// compared with it (unchecked), and compares them whenever it sees the
// log's version:
//
//   - a second copy of a delivered seq that differs (the real event after a
//     forged one, or the other way round) makes it read the log at once;
//   - a gap fill or a catch-up reads the log at seqs already delivered;
//   - the head check, and every checkEvery unchecked events, read the log
//     for the unchecked events, and the board's head: a seq delivered beyond
//     the head is not in the log.
//
// When the log holds another event at a seq delivered (or none), the
// board's subscribers get a resync (ResyncDiverged) and reload: they never
// keep a forged event silently. The log must be read from the primary (a
// lagging replica would look like a forgery).

// printRing is how many delivered events' fingerprints a board keeps for
// comparing second copies and catch-up reads.
const printRing = 128

// checkEvery is how many unchecked events start a check at once, without
// waiting for the head check; maxUnchecked is how many a board may hold:
// beyond it (the log cannot be read fast enough) its subscribers resync
// rather than receive events nobody can vouch for.
const (
	checkEvery   = printRing
	maxUnchecked = 8192
)

// print is a delivered event's seq and fingerprint.
type print struct {
	seq int64
	fp  uint64
}

// fingerprint hashes what an event says: kind, data, actor and op_id. Data
// is hashed by its meaning, not its bytes: the committing instance sends it
// as Go encoded it and the log returns it as PostgreSQL's jsonb prints it
// (see jsonHash). The hash is keyed per hub, so nobody can aim a forgery at
// a collision.
func (h *Hub) fingerprint(e board.Event) uint64 {
	j := jsonHasher{seed: h.seed}
	x := mix(j.str(e.Kind), j.str(e.Actor))
	x = mix(x, j.str(e.OpID))
	return mix(x, j.hash(e.Data))
}

// remember records a delivered event's fingerprint (bs.mu held).
func (h *Hub) remember(bs *boardState, seq int64, fp uint64, fromLog bool) {
	bs.prints[seq%printRing] = print{seq, fp}
	if fromLog {
		return
	}
	bs.unchecked = append(bs.unchecked, print{seq, fp})
	switch n := len(bs.unchecked); {
	case n > maxUnchecked:
		h.log.Warn("too many events from the bus not yet checked against the event log; subscribers resync",
			"board", bs.id, "unchecked", n)
		h.dropLocked(bs, endBehind)
	case n%checkEvery == 0:
		bs.verify = true
		h.startReading(bs)
	}
}

// delivered returns the fingerprint of the event delivered at seq, if the
// board still has it, and whether it was compared with the log (bs.mu
// held).
func (bs *boardState) delivered(seq int64) (fp uint64, found, checked bool) {
	if i, ok := slices.BinarySearchFunc(bs.unchecked, seq, func(p print, s int64) int { return cmp.Compare(p.seq, s) }); ok {
		return bs.unchecked[i].fp, true, false
	}
	if p := bs.prints[seq%printRing]; p.seq == seq {
		return p.fp, true, true
	}
	return 0, false, true
}

// compare checks a second version of a delivered event (bs.mu held): one
// read from the log corrects the subscribers if it differs; two different
// ones from elsewhere send the hub to the log.
func (h *Hub) compare(bs *boardState, seq int64, fp uint64, fromLog bool) {
	dfp, found, checked := bs.delivered(seq)
	if !found || dfp == fp {
		return
	}
	if fromLog {
		h.diverged(bs, seq)
		return
	}
	if !checked {
		// Which of the two is the log's?
		bs.verify = true
		h.startReading(bs)
		return
	}
	// The delivered one was checked against the log: this one is not the
	// log's.
	h.log.Warn("dropping an event that differs from the log's", "board", bs.id, "seq", seq)
}

// checkLog compares the log's events with the fingerprints of those
// delivered (bs.mu held), and corrects the subscribers if one differs. It
// reports whether all that could be compared matched.
func (h *Hub) checkLog(bs *boardState, events []board.Event, fps []uint64) bool {
	for i, e := range events {
		if fp, found, _ := bs.delivered(e.Seq); found && fp != fps[i] {
			h.diverged(bs, e.Seq)
			return false
		}
	}
	return true
}

// diverged corrects the subscribers of a board whose delivered event at seq
// is not the log's (bs.mu held): each gets a resync, and the board's state
// starts afresh from the log for the next subscriber.
func (h *Hub) diverged(bs *boardState, seq int64) {
	if bs.dropped != nil {
		return
	}
	h.divergences.Add(1)
	h.log.Warn("an event delivered differs from the event log: forged or corrupted on the bus; subscribers resync",
		"board", bs.id, "seq", seq)
	h.dropLocked(bs, endDiverged)
}

// verifyDelivered compares the unchecked events delivered after from up
// to to with the log's, and, if the log has fewer, the board's head with
// them: those reads start after the events were delivered, so each of them
// is in the log by then. An event the log no longer keeps (retention) cannot
// be compared and passes. It reports whether it could read the log. It
// releases the h.verifying token its caller took.
func (h *Hub) verifyDelivered(ctx context.Context, bs *boardState, from, to int64) bool {
	defer func() { <-h.verifying }() // taken by readLog
	events, err := h.o.Log.LogEvents(ctx, bs.id, from, int(to-from))
	if err != nil {
		h.log.Error("check delivered events against the event log", "board", bs.id, "from", from, "err", err)
		return false
	}
	head, found := to, true
	if len(events) == 0 || events[len(events)-1].Seq < to {
		heads, err := h.o.Log.Heads(ctx, []string{bs.id})
		if err != nil {
			h.log.Error("check delivered events against the event log", "board", bs.id, "err", err)
			return false
		}
		head, found = heads[bs.id]
	}
	fps := h.fingerprints(events)
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if !found {
		h.dropLocked(bs, endGone)
		return true
	}
	n := 0
	for _, p := range bs.unchecked {
		if p.seq > to {
			break
		}
		n++
		if p.seq > head {
			h.diverged(bs, p.seq)
			return true
		}
		if i, ok := slices.BinarySearchFunc(events, p.seq, func(e board.Event, s int64) int { return cmp.Compare(e.Seq, s) }); ok && fps[i] != p.fp {
			h.diverged(bs, p.seq)
			return true
		}
	}
	bs.unchecked = slices.Delete(bs.unchecked, 0, n)
	if len(bs.unchecked) >= checkEvery {
		bs.verify = true
	}
	return true
}

// fingerprints returns the fingerprints of events.
func (h *Hub) fingerprints(events []board.Event) []uint64 {
	fps := make([]uint64, len(events))
	for i, e := range events {
		fps[i] = h.fingerprint(e)
	}
	return fps
}
