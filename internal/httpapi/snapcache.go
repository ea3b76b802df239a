package httpapi

import (
	"bytes"
	"compress/gzip"
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
	gz   []byte // body gzipped, for clients that accept it; nil for a small body
}

// gzipMinBytes is the smallest encoded snapshot that is also kept gzipped:
// a large board's snapshot shrinks to about a tenth, which is that much less
// to write for the server and to download for a browser; a small one is not
// worth a second copy.
const gzipMinBytes = 32 << 10

// newSnapEntry makes the cache entry of an encoded snapshot, gzipping it
// when it is large enough (once per entry: every reader that accepts gzip
// is then served the same compressed bytes).
func newSnapEntry(k snapKey, body []byte) *snapEntry {
	e := &snapEntry{key: k, body: body}
	if len(body) >= gzipMinBytes {
		var buf bytes.Buffer
		buf.Grow(len(body) / 8)
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // a valid level: no error
		_, _ = zw.Write(body)                              // to a bytes.Buffer: no error
		_ = zw.Close()
		e.gz = buf.Bytes()
	}
	return e
}

func (e *snapEntry) size() int64 { return int64(len(e.body) + len(e.gz)) }

// snapFlight is one encoding others wait for; body is nil when it failed
// or was too large to keep, and the waiters read for themselves.
type snapFlight struct {
	done  chan struct{}
	seq   int64 // of the snapshot read, which may be past the head the leader saw
	role  string
	entry *snapEntry
}

func newSnapshotCache(max int64) *snapshotCache {
	return &snapshotCache{max: max, entries: map[snapKey]*list.Element{}, inflight: map[snapKey]*snapFlight{}}
}

// lookup returns the encoded snapshot under k if it is kept; otherwise the
// flight encoding it, starting one (leader true) when there is none. One
// lock for both: a reader either finds the bytes, or waits for the one
// encoding them, or encodes them.
func (c *snapshotCache) lookup(k snapKey) (e *snapEntry, f *snapFlight, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*snapEntry), nil, false
	}
	if f, ok := c.inflight[k]; ok {
		return nil, f, false
	}
	f = &snapFlight{done: make(chan struct{})}
	c.inflight[k] = f
	return nil, f, true
}

// put keeps e, dropping the least recently used entries to stay within
// the budget. Whether a snapshot is kept depends on its plain encoding
// alone (at most a quarter of the budget, the spill limit), so that its
// gzipped copy never turns away one the cache kept before; both count
// against the budget.
func (c *snapshotCache) put(e *snapEntry) {
	n := e.size()
	if int64(len(e.body)) > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[e.key]; ok {
		return
	}
	c.entries[e.key] = c.lru.PushFront(e)
	c.size += n
	for c.size > c.max {
		old := c.lru.Back().Value.(*snapEntry)
		c.lru.Remove(c.lru.Back())
		delete(c.entries, old.key)
		c.size -= old.size()
	}
}

// land ends the flight for k with its result (e nil: none to share).
func (c *snapshotCache) land(k snapKey, f *snapFlight, e *snapEntry) {
	if e != nil {
		f.seq, f.role, f.entry = e.key.seq, e.key.role, e
	}
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
		w.Header().Add("Vary", "Accept-Encoding")
		w.WriteHeader(http.StatusNotModified)
		a.snapshots.notModified.Add(1)
		return
	}
	k := snapKey{board: id, seq: seq, role: role}
	e, f, leader := a.snapshots.lookup(k)
	if e != nil {
		a.snapshots.hits.Add(1)
		writeSnapshotEntry(w, r, e)
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
		if f.entry != nil && f.seq == seq && f.role == role {
			a.snapshots.hits.Add(1)
			writeSnapshotEntry(w, r, f.entry)
			return
		}
	}
	a.snapshots.misses.Add(1)
	e, err = a.encodeSnapshot(ctx, w, r, user, id)
	if leader {
		a.snapshots.land(k, f, e)
	}
	if err != nil {
		a.writeError(w, r, err)
	}
}

// encodeSnapshot reads the snapshot and answers it, keeping the encoding
// (returned) unless it is too large for the cache, in which case it streams
// past the first part and returns nil.
func (a *API) encodeSnapshot(ctx context.Context, w http.ResponseWriter, r *http.Request, user, id string) (*snapEntry, error) {
	snap, err := a.store.Snapshot(ctx, user, id)
	if err != nil {
		return nil, err
	}
	k := snapKey{board: id, seq: snap.Seq, role: snap.Board.Role}
	writeSnapshotHeaders(w, snap.Seq)
	sw := &spillWriter{w: w, limit: int(a.snapshots.max / 4)}
	sw.buf.Grow(64 << 10)
	if err := snap.WriteJSON(sw); err != nil {
		panic(http.ErrAbortHandler)
	}
	if sw.spilled {
		return nil, nil
	}
	e := newSnapEntry(k, sw.buf.Bytes())
	a.snapshots.put(e)
	writeSnapshotEntry(w, r, e)
	return e, nil
}

func writeSnapshotHeaders(w http.ResponseWriter, seq int64) {
	w.Header().Set("ETag", snapshotETag(seq))
	w.Header().Set("Board-Seq", strconv.FormatInt(seq, 10))
}

// writeSnapshotEntry answers a kept snapshot, gzipped when the entry has
// the compressed bytes and the client accepts them. The gzipped answer's
// ETag is the weak form of the plain one (the same snapshot, another
// encoding of it), so If-None-Match matches either.
func writeSnapshotEntry(w http.ResponseWriter, r *http.Request, e *snapEntry) {
	writeSnapshotHeaders(w, e.key.seq)
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Type", "application/json")
	body := e.body
	if e.gz != nil && acceptsGzip(r) {
		body = e.gz
		h.Set("Content-Encoding", "gzip")
		h.Set("ETag", "W/"+snapshotETag(e.key.seq))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip:
// named with a quality above zero, or not named and "*" is.
func acceptsGzip(r *http.Request) bool {
	gz, star := -1.0, -1.0
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip":
				gz = q
			case "*":
				star = q
			}
		}
	}
	return gz > 0 || (gz < 0 && star > 0)
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
