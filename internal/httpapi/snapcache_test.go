package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/store"
)

// countingStore counts the snapshots read from the database and can hold
// them until released.
type countingStore struct {
	*store.Store
	reads   atomic.Int64
	hold    chan struct{} // nil: do not hold
	started chan struct{}
}

func (s *countingStore) Snapshot(ctx context.Context, user, boardID string) (board.Snapshot, error) {
	s.reads.Add(1)
	if s.hold != nil {
		s.started <- struct{}{}
		<-s.hold
	}
	return s.Store.Snapshot(ctx, user, boardID)
}

func newCountingEnv(t *testing.T, cacheBytes int64) (*env, *countingStore) {
	cs := &countingStore{}
	e := newEnv(t, func(o *httpapi.Options) {
		cs.Store = o.Store.(*store.Store)
		o.Store = cs
		o.SnapshotCacheBytes = cacheBytes
	})
	return e, cs
}

// TestSnapshotCache: a repeated snapshot of an unchanged board is the same
// bytes without a database read; If-None-Match with its ETag (the seq) is
// 304; a change moves the ETag and the bytes; each role gets its own
// encoding; a reader who lost access gets 404, not the kept bytes.
func TestSnapshotCache(t *testing.T) {
	t.Parallel()
	e, cs := newCountingEnv(t, 0)
	b := e.mkBoard(alice, "Cached")
	col := e.mkColumn(alice, b.ID, "Todo")
	e.mkCard(alice, b.ID, col.ID, "one")
	e.addMember(b.ID, bob, "viewer")
	path := "/api/boards/" + b.ID
	seq := e.seq(b.ID)
	tag := fmt.Sprintf(`"s%d"`, seq)

	first := e.do("GET", path, alice, nil)
	second := e.do("GET", path, alice, nil)
	if first.Status != http.StatusOK || !bytes.Equal(first.Body, second.Body) {
		t.Fatalf("two reads of an unchanged board differ:\n%s\n%s", first, second)
	}
	for _, r := range []apitest.Response{first, second} {
		if r.Header.Get("ETag") != tag || r.Header.Get("Board-Seq") != fmt.Sprint(seq) {
			t.Errorf("ETag %q Board-Seq %q, want %s and %d", r.Header.Get("ETag"), r.Header.Get("Board-Seq"), tag, seq)
		}
	}
	if n := cs.reads.Load(); n != 1 {
		t.Errorf("%d snapshot reads from the database for two requests, want 1", n)
	}

	for _, inm := range []string{tag, `W/` + tag, `"s1", ` + tag, "*"} {
		r := e.do("GET", path, alice, nil, "If-None-Match", inm)
		if r.Status != http.StatusNotModified || len(r.Body) != 0 || r.Header.Get("ETag") != tag {
			t.Errorf("If-None-Match %s: %d %q ETag %q, want 304 with no body", inm, r.Status, r.Body, r.Header.Get("ETag"))
		}
	}
	if r := e.do("GET", path, alice, nil, "If-None-Match", `"s1"`); r.Status != http.StatusOK || !bytes.Equal(r.Body, first.Body) {
		t.Errorf("If-None-Match of an older seq: %v, want the snapshot", r)
	}

	// The viewer's snapshot says viewer, at the same seq.
	v := apitest.Must[board.Snapshot](t, e.do("GET", path, bob, nil), http.StatusOK)
	if v.Board.Role != "viewer" || v.Seq != seq {
		t.Errorf("bob's snapshot: role %q seq %d, want viewer at %d", v.Board.Role, v.Seq, seq)
	}
	if a := apitest.Must[board.Snapshot](t, e.do("GET", path, alice, nil), http.StatusOK); a.Board.Role != "owner" {
		t.Errorf("alice's snapshot after bob's: role %q", a.Board.Role)
	}

	// A change: new seq, new bytes, and the old ETag no longer matches.
	e.mkCard(alice, b.ID, col.ID, "two")
	r := e.do("GET", path, alice, nil, "If-None-Match", tag)
	snap := apitest.Must[board.Snapshot](t, r, http.StatusOK)
	if snap.Seq != seq+1 || len(snap.Cards) != 2 || r.Header.Get("ETag") != fmt.Sprintf(`"s%d"`, seq+1) {
		t.Errorf("after a change: seq %d, %d cards, ETag %s", snap.Seq, len(snap.Cards), r.Header.Get("ETag"))
	}
	want, err := e.Store.Snapshot(context.Background(), alice, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := want.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if again := e.do("GET", path, alice, nil); !bytes.Equal(again.Body, buf.Bytes()) {
		t.Errorf("cached snapshot differs from a fresh read:\n%s\n%s", again.Body, buf.Bytes())
	}

	// Bob loses access: the kept bytes are not his any more. The removal
	// also moves the seq; with the seq forced back it would still be the
	// membership read that refuses him.
	apitest.Exec(t, e.Store.Pool(), `DELETE FROM board_members WHERE board_id = $1 AND user_id = $2`, b.ID, bob)
	apitest.CheckProblem(t, e.do("GET", path, bob, nil), http.StatusNotFound, board.ENotFound)
	apitest.CheckProblem(t, e.do("GET", path, bob, nil, "If-None-Match", "*"), http.StatusNotFound, board.ENotFound)
}

// TestSnapshotCacheOneReadForMany: 24 readers of a board nobody has read yet
// (a board's subscribers resyncing at once) cost one snapshot read; they
// all get the same bytes.
func TestSnapshotCacheOneReadForMany(t *testing.T) {
	t.Parallel()
	e, cs := newCountingEnv(t, 0)
	b := e.mkBoard(alice, "Herd")
	col := e.mkColumn(alice, b.ID, "Todo")
	for i := range 20 {
		e.mkCard(alice, b.ID, col.ID, fmt.Sprint("card ", i))
	}
	cs.hold, cs.started = make(chan struct{}), make(chan struct{}, 64)

	const n = 24
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := e.send("GET", "/api/boards/"+b.ID, alice, nil)
			if err != nil || r.Status != http.StatusOK {
				t.Errorf("reader %d: %v %v", i, r, err)
				return
			}
			bodies[i] = r.Body
		})
	}
	<-cs.started // the first reader is in the database; the others queue behind it
	close(cs.hold)
	wg.Wait()
	if got := cs.reads.Load(); got != 1 {
		t.Errorf("%d snapshot reads for %d readers of one unchanged board, want 1", got, n)
	}
	for i := 1; i < n; i++ {
		if !bytes.Equal(bodies[i], bodies[0]) {
			t.Fatalf("reader %d got other bytes", i)
		}
	}
}

// TestSnapshotCacheUnderWriters: while 4 writers change a board, 8 readers
// read it over and over; every answer is a snapshot exactly at its ETag's
// seq, equal byte for byte to every other answer with that ETag, and a
// fresh read at the end equals the cached one. A small cache evicts all
// the time.
func TestSnapshotCacheUnderWriters(t *testing.T) {
	t.Parallel()
	e, _ := newCountingEnv(t, 64<<10)
	b := e.mkBoard(alice, "Busy")
	col := e.mkColumn(alice, b.ID, "Todo")
	path := "/api/boards/" + b.ID

	var mu sync.Mutex
	seen := map[string][]byte{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := range 15 {
				r, err := e.send("POST", "/api/boards/"+b.ID+"/cards", alice, map[string]any{"column_id": col.ID, "title": fmt.Sprintf("w%d-%d", w, i)})
				if err != nil || r.Status != http.StatusCreated {
					t.Errorf("writer %d: %v %v", w, r, err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 8 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := e.send("GET", path, alice, nil)
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("reader: %v %v", r, err)
					return
				}
				var snap board.Snapshot
				if err := json.Unmarshal(r.Body, &snap); err != nil {
					t.Error(err)
					return
				}
				tag := r.Header.Get("ETag")
				if tag != fmt.Sprintf(`"s%d"`, snap.Seq) || len(snap.Cards) != int(snap.Seq)-2 {
					t.Errorf("ETag %s for a snapshot at seq %d with %d cards", tag, snap.Seq, len(snap.Cards))
				}
				mu.Lock()
				if prev, ok := seen[tag]; ok && !bytes.Equal(prev, r.Body) {
					t.Errorf("two answers with ETag %s differ", tag)
				}
				seen[tag] = r.Body
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	final := e.do("GET", path, alice, nil)
	want, err := e.Store.Snapshot(context.Background(), alice, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := want.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(final.Body, buf.Bytes()) || want.Seq != 62 {
		t.Errorf("final snapshot (seq %d) differs from a fresh read", want.Seq)
	}
	t.Logf("%d distinct snapshots seen", len(seen))
}

// TestSnapshotGzip: a large snapshot is also kept gzipped, once, and
// served so to clients that accept gzip (weak ETag, Vary), plain to the
// others; If-None-Match matches either ETag; a small snapshot is always
// plain.
func TestSnapshotGzip(t *testing.T) {
	t.Parallel()
	e, cs := newCountingEnv(t, 0)
	small := e.mkBoard(alice, "Small")
	e.mkCard(alice, small.ID, e.mkColumn(alice, small.ID, "Todo").ID, "one")
	b := e.mkBoard(alice, "Large")
	col := e.mkColumn(alice, b.ID, "Todo")
	for i := range 120 {
		e.mkCard(alice, b.ID, col.ID, fmt.Sprintf("card %03d %s", i, strings.Repeat("large board ", 15)))
	}
	path := "/api/boards/" + b.ID
	seq := e.seq(b.ID)
	tag := fmt.Sprintf(`"s%d"`, seq)

	plain := e.do("GET", path, alice, nil, "Accept-Encoding", "identity")
	if plain.Status != http.StatusOK || plain.Header.Get("Content-Encoding") != "" || plain.Header.Get("ETag") != tag {
		t.Fatalf("plain: %d Content-Encoding %q ETag %q", plain.Status, plain.Header.Get("Content-Encoding"), plain.Header.Get("ETag"))
	}
	if len(plain.Body) < 32<<10 {
		t.Fatalf("the large board's snapshot is only %d bytes: make it larger", len(plain.Body))
	}
	for _, ae := range []string{"gzip", "gzip, deflate, br", "br;q=1.0, GZIP;q=0.5", "*", "identity;q=0.5, *;q=0.1"} {
		r := e.do("GET", path, alice, nil, "Accept-Encoding", ae)
		if r.Status != http.StatusOK || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("ETag") != "W/"+tag ||
			!strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: %d Content-Encoding %q ETag %q Vary %q, want gzip with W/%s", ae, r.Status,
				r.Header.Get("Content-Encoding"), r.Header.Get("ETag"), r.Header.Get("Vary"), tag)
			continue
		}
		if n, _ := strconv.Atoi(r.Header.Get("Content-Length")); n != len(r.Body) || n > len(plain.Body)/4 {
			t.Errorf("Accept-Encoding %q: Content-Length %q for %d bytes (plain %d)", ae, r.Header.Get("Content-Length"), len(r.Body), len(plain.Body))
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain.Body) {
			t.Errorf("Accept-Encoding %q: the gzipped body is not the plain one (%v)", ae, err)
		}
	}
	for _, ae := range []string{"identity", "gzip;q=0", "*;q=0", "gzip;q=0, *", "deflate, br"} {
		r := e.do("GET", path, alice, nil, "Accept-Encoding", ae)
		if r.Header.Get("Content-Encoding") != "" || !bytes.Equal(r.Body, plain.Body) || r.Header.Get("ETag") != tag {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q ETag %q, want the plain snapshot", ae, r.Header.Get("Content-Encoding"), r.Header.Get("ETag"))
		}
	}
	for _, inm := range []string{tag, "W/" + tag} {
		for _, ae := range []string{"gzip", "identity"} {
			r := e.do("GET", path, alice, nil, "If-None-Match", inm, "Accept-Encoding", ae)
			if r.Status != http.StatusNotModified || len(r.Body) != 0 || !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("If-None-Match %s, Accept-Encoding %s: %d %q Vary %q, want 304", inm, ae, r.Status, r.Body, r.Header.Get("Vary"))
			}
		}
	}
	// Go's client asks for gzip by itself and unpacks it.
	auto := e.do("GET", path, alice, nil)
	if !bytes.Equal(auto.Body, plain.Body) {
		t.Error("a default client's snapshot differs from the plain one")
	}
	if n := cs.reads.Load(); n != 1 {
		t.Errorf("%d snapshot reads of the large board, want 1 (both encodings from one read)", n)
	}

	r := e.do("GET", "/api/boards/"+small.ID, alice, nil, "Accept-Encoding", "gzip")
	if r.Status != http.StatusOK || r.Header.Get("Content-Encoding") != "" || r.Header.Get("ETag") != fmt.Sprintf(`"s%d"`, e.seq(small.ID)) {
		t.Errorf("small board: %d Content-Encoding %q ETag %q, want it plain", r.Status, r.Header.Get("Content-Encoding"), r.Header.Get("ETag"))
	}
}
