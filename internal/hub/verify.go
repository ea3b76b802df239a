package hub

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"math"
	"slices"

	"github.com/corkboard/corkboard/internal/board"
)

// The bus is not trusted: anyone who can publish on it can make up an
// event with the board's next seq, which the hub delivers as it would the
// real one (nothing tells them apart then), and the real event would then
// be dropped as a duplicate. So the hub keeps the fingerprints of the last
// printRing events it delivered on each board, and compares them whenever
// it sees the log's version of an event it delivered:
//
//   - a second copy of a delivered seq that differs (the real event after a
//     forged one, or the other way round) makes it read the log at once;
//   - a gap fill or a catch-up reads the log at seqs already delivered;
//   - the head check reads the log for the events delivered since the last
//     check that did not come from the log, and the board's head: a seq
//     delivered beyond the head is not in the log.
//
// When the log holds another event at a seq delivered (or none), the
// board's subscribers get a resync (ResyncDiverged) and reload: they never
// keep a forged event silently. The log must be read from the primary (a
// lagging replica would look like a forgery).

// printRing is how many delivered events' fingerprints a board keeps.
const printRing = 128

// print is a delivered event's seq and fingerprint.
type print struct {
	seq int64
	fp  uint64
}

// fingerprint hashes what an event says: kind, data, actor and op_id. Data
// is hashed by its meaning, not its bytes: the committing instance sends it
// as Go encoded it and the log returns it as PostgreSQL's jsonb prints it.
// The hash is keyed per hub, so nobody can make up a collision.
func (h *Hub) fingerprint(e board.Event) uint64 {
	var m maphash.Hash
	m.SetSeed(h.seed)
	for _, s := range []string{e.Kind, e.Actor, e.OpID} {
		hashString(&m, s)
	}
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		m.WriteByte('r')
		m.Write(e.Data)
	} else {
		hashJSON(&m, v)
	}
	return m.Sum64()
}

func hashString(m *maphash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	m.Write(n[:])
	m.WriteString(s)
}

func hashUint(m *maphash.Hash, tag byte, u uint64) {
	var n [9]byte
	n[0] = tag
	binary.LittleEndian.PutUint64(n[1:], u)
	m.Write(n[:])
}

// hashJSON hashes a decoded JSON value: object keys in order, numbers by
// value.
func hashJSON(m *maphash.Hash, v any) {
	switch v := v.(type) {
	case nil:
		m.WriteByte('n')
	case bool:
		if v {
			m.WriteByte('t')
		} else {
			m.WriteByte('f')
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			hashUint(m, 'i', uint64(i))
		} else if f, err := v.Float64(); err == nil {
			if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
				hashUint(m, 'i', uint64(int64(f)))
			} else {
				hashUint(m, 'd', math.Float64bits(f))
			}
		} else {
			m.WriteByte('N')
			hashString(m, v.String())
		}
	case string:
		m.WriteByte('s')
		hashString(m, v)
	case []any:
		hashUint(m, 'a', uint64(len(v)))
		for _, x := range v {
			hashJSON(m, x)
		}
	case map[string]any:
		hashUint(m, 'o', uint64(len(v)))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			hashString(m, k)
			hashJSON(m, v[k])
		}
	}
}

// remember records a delivered event's fingerprint (bs.mu held).
func (h *Hub) remember(bs *boardState, seq int64, fp uint64, fromLog bool) {
	bs.prints[seq%printRing] = print{seq, fp}
	if !fromLog && bs.unverified == 0 {
		bs.unverified = seq
	}
}

// compare checks a second version of a delivered event (bs.mu held): one
// read from the log corrects the subscribers if it differs; two different
// ones from elsewhere send the hub to the log.
func (h *Hub) compare(bs *boardState, seq int64, fp uint64, fromLog bool) {
	p := bs.prints[seq%printRing]
	if p.seq != seq || p.fp == fp {
		return
	}
	if fromLog {
		h.diverged(bs, seq)
		return
	}
	if bs.unverified != 0 && seq >= bs.unverified {
		// Not yet checked: which of the two is the log's?
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
		p := bs.prints[e.Seq%printRing]
		if p.seq == e.Seq && p.fp != fps[i] {
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

// fingerprints returns the fingerprints of events.
func (h *Hub) fingerprints(events []board.Event) []uint64 {
	fps := make([]uint64, len(events))
	for i, e := range events {
		fps[i] = h.fingerprint(e)
	}
	return fps
}
