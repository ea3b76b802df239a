package httpapi

import (
	"bytes"
	"container/list"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultSnapshotCacheBytes bounds the encoded snapshots an instance keeps.
const DefaultSnapshotCacheBytes = 64 << 20

// A snapshot is fully determined by its board, its seq and the reader's
// role (the only per-reader field: usernames never change and everything
// else on a board changes only with an event, which moves the seq). So an
// encoded snapshot stays right for as long as the board's head is its seq,
// and the cache needs no expiry: a request reads the head (one indexed
// read, which also checks membership) and looks the bytes up under it.
type snapKey struct {
	board string
	seq   int64
	role  string
}

// snapshotCache keeps encoded snapshots, least recently used out first,
// within a byte budget; one reader encodes a missing snapshot while the
// others wanting the same one wait for it, so a thousand subscribers
// resyncing after a change cost one read of the board.
type snapshotCache struct {
	max      int64 // bytes; an entry over max/4 is never kept
	mu       sync.Mutex
	size     int64
	entries  map[snapKey]*list.Element // of *snapEntry
	lru      list.List                 // front: most recently used
	inflight map[snapKey]*snapFlight

	hits, misses, notModified atomic.Uint64
}

// SnapshotCacheStats are the snapshot cache's counters, for the metrics.
type SnapshotCacheStats struct {
	Hits        uint64 // answered from the cache
	Misses      uint64 // read from the database
	NotModified uint64 // answered 304
	Bytes       int64  // kept now
	Entries     int
}

// SnapshotCacheStats returns the cache's counters (zero when it is off).
func (a *API) SnapshotCacheStats() SnapshotCacheStats {
	c := a.snapshots
	if c == nil {
		return SnapshotCacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return SnapshotCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), NotModified: c.notModified.Load(),
		Bytes: c.size, Entries: len(c.entries)}
}

type snapEntry struct {
	key  snapKey
	body []byte
}

// snapFlight is one encoding others wait for; body is nil when it failed
// or was too large to keep, and the waiters read for themselves.
type snapFlight struct {
	done chan struct{}
	seq  int64 // of the snapshot read, which may be past the head the leader saw
	role string
	body []byte
}

func newSnapshotCache(max int64) *snapshotCache {
	return &snapshotCache{max: max, entries: map[snapKey]*list.Element{}, inflight: map[snapKey]*snapFlight{}}
}

// lookup returns the encoded snapshot under k if it is kept; otherwise the
// flight encoding it, starting one (leader true) when there is none. One
// lock for both: a reader either finds the bytes, or waits for the one
// encoding them, or encodes them.
func (c *snapshotCache) lookup(k snapKey) (body []byte, f *snapFlight, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*snapEntry).body, nil, false
	}
	if f, ok := c.inflight[k]; ok {
		return nil, f, false
	}
	f = &snapFlight{done: make(chan struct{})}
	c.inflight[k] = f
	return nil, f, true
}

// put keeps body under k, dropping the least recently used entries to stay
// within the budget.
func (c *snapshotCache) put(k snapKey, body []byte) {
	n := int64(len(body))
	if n > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; ok {
		return
	}
	c.entries[k] = c.lru.PushFront(&snapEntry{key: k, body: body})
	c.size += n
	for c.size > c.max {
		old := c.lru.Back().Value.(*snapEntry)
		c.lru.Remove(c.lru.Back())
		delete(c.entries, old.key)
		c.size -= int64(len(old.body))
	}
}

// land ends the flight for k with its result.
func (c *snapshotCache) land(k snapKey, f *snapFlight, got snapKey, body []byte) {
	f.seq, f.role, f.body = got.seq, got.role, body
	c.mu.Lock()
	delete(c.inflight, k)
	c.mu.Unlock()
	close(f.done)
}

// snapshotETag is the snapshot's entity tag: its seq, marked so that it
// cannot be mistaken for a version in If-Match (the board's version is in
// the body).
func snapshotETag(seq int64) string { return `"s` + strconv.FormatInt(seq, 10) + `"` }

// notModified reports whether the If-None-Match header names the snapshot
// at seq (a list of tags, or *).
func notModified(r *http.Request, seq int64) bool {
	h := r.Header.Get("If-None-Match")
	if h == "" {
		return false
	}
	want := snapshotETag(seq)
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == want || t == "*" {
			return true
		}
	}
	return false
}

func (a *API) getSnapshot(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx, err := minSeq(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	user := userFrom(ctx)
	if a.snapshots == nil {
		snap, err := a.store.Snapshot(ctx, user, id)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		writeSnapshotHeaders(w, snap.Seq)
		writeSnapshot(w, snap)
		return
	}
	seq, role, err := a.store.BoardHead(ctx, user, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if notModified(r, seq) {
		writeSnapshotHeaders(w, seq)
		w.WriteHeader(http.StatusNotModified)
		a.snapshots.notModified.Add(1)
		return
	}
	k := snapKey{board: id, seq: seq, role: role}
	body, f, leader := a.snapshots.lookup(k)
	if body != nil {
		a.snapshots.hits.Add(1)
		writeSnapshotBody(w, seq, body)
		return
	}
	if !leader {
		select {
		case <-f.done:
		case <-ctx.Done():
			return
		}
		// Only the very snapshot this reader's head read promised: a later
		// one may hold changes after this reader lost access.
		if f.body != nil && f.seq == seq && f.role == role {
			a.snapshots.hits.Add(1)
			writeSnapshotBody(w, f.seq, f.body)
			return
		}
	}
	a.snapshots.misses.Add(1)
	got, body, err := a.encodeSnapshot(ctx, w, user, id)
	if leader {
		a.snapshots.land(k, f, got, body)
	}
	if err != nil {
		a.writeError(w, r, err)
	}
}

// encodeSnapshot reads the snapshot and answers it, keeping the encoding
// (returned) unless it is too large for the cache, in which case it streams
// past the first part and returns a nil body.
func (a *API) encodeSnapshot(ctx context.Context, w http.ResponseWriter, user, id string) (snapKey, []byte, error) {
	snap, err := a.store.Snapshot(ctx, user, id)
	if err != nil {
		return snapKey{}, nil, err
	}
	k := snapKey{board: id, seq: snap.Seq, role: snap.Board.Role}
	writeSnapshotHeaders(w, snap.Seq)
	sw := &spillWriter{w: w, limit: int(a.snapshots.max / 4)}
	sw.buf.Grow(64 << 10)
	if err := snap.WriteJSON(sw); err != nil {
		panic(http.ErrAbortHandler)
	}
	if sw.spilled {
		return k, nil, nil
	}
	body := sw.buf.Bytes()
	a.snapshots.put(k, body)
	writeSnapshotBody(w, snap.Seq, body)
	return k, body, nil
}

func writeSnapshotHeaders(w http.ResponseWriter, seq int64) {
	w.Header().Set("ETag", snapshotETag(seq))
	w.Header().Set("Board-Seq", strconv.FormatInt(seq, 10))
}

func writeSnapshotBody(w http.ResponseWriter, seq int64, body []byte) {
	writeSnapshotHeaders(w, seq)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// spillWriter keeps what is written until it passes limit; then it sends
// the status, what it kept and everything after straight to w.
type spillWriter struct {
	w       http.ResponseWriter
	limit   int
	buf     bytes.Buffer
	spilled bool
}

func (s *spillWriter) Write(p []byte) (int, error) {
	if s.spilled {
		return s.w.Write(p)
	}
	if s.buf.Len()+len(p) <= s.limit {
		return s.buf.Write(p)
	}
	s.spilled = true
	s.w.Header().Set("Content-Type", "application/json")
	s.w.WriteHeader(http.StatusOK)
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return 0, err
	}
	s.buf = bytes.Buffer{}
	return s.w.Write(p)
}
