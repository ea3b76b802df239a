package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/store"
)

// bigDesc is the description of the amplification attack: 10,000 '<',
// which encoding/json's HTML escaping made 60,000 bytes (\u003c each).
var bigDesc = strings.Repeat("<", board.MaxDescriptionLen)

// describe sets the card's description to n '<' (a raw body: a client's
// json.Marshal would send 60 KB).
func (e *env) describe(user, boardID, cardID string, n int) apitest.Response {
	e.t.Helper()
	r := e.do("PATCH", "/api/boards/"+boardID+"/cards/"+cardID, user,
		`{"description":"`+bigDesc[:n]+`"}`)
	if r.Status != http.StatusOK {
		e.t.Fatalf("PATCH description: %v", r)
	}
	return r
}

// bigBoard makes a board of alice's with a card edited edits times, each
// edit's description 10,000 (or 9,999) '<'.
func (e *env) bigBoard(edits int) (boardID, cardID string) {
	e.t.Helper()
	b := e.mkBoard(alice, "big")
	col := e.mkColumn(alice, b.ID, "c")
	card := e.mkCard(alice, b.ID, col.ID, "t")
	for i := range edits {
		e.describe(alice, b.ID, card.ID, board.MaxDescriptionLen-i%2)
	}
	return b.ID, card.ID
}

// TestBigDescriptionNotAmplified: a description of 10,000 '<' takes about
// 10 KB, not 60 KB, in the card's REST answers, the snapshot and a page of
// the events holding its card.updated.
func TestBigDescriptionNotAmplified(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "b")
	col := e.mkColumn(alice, b.ID, "c")
	card := e.mkCard(alice, b.ID, col.ID, "t")
	const most = board.MaxDescriptionLen + 2_000 // the description and everything else
	patched := e.describe(alice, b.ID, card.ID, board.MaxDescriptionLen)
	got := e.do("GET", "/api/boards/"+b.ID+"/cards/"+card.ID, alice, nil)
	snap := e.do("GET", "/api/boards/"+b.ID, alice, nil)
	events := e.do("GET", fmt.Sprintf("/api/boards/%s/events?since=%d", b.ID, e.seq(b.ID)-1), alice, nil)
	for name, r := range map[string]apitest.Response{"PATCH card": patched, "GET card": got, "snapshot": snap, "events page": events} {
		if r.Status != http.StatusOK || len(r.Body) > most {
			t.Errorf("%s: %d, %d bytes; want 200 and at most %d", name, r.Status, len(r.Body), most)
		}
		if !strings.Contains(string(r.Body), bigDesc) {
			t.Errorf("%s: the description is not in the body unescaped", name)
		}
	}
	if c := apitest.Must[board.Card](t, got, http.StatusOK); c.Description != bigDesc {
		t.Errorf("the card's description decodes to %d bytes", len(c.Description))
	}
}

// TestEventsPageBoundedInBytes: 300 edits of a description of 10,000 '<'
// (3 MB of log) make pages of GET /events?limit=1000 of at most
// board.MaxEventsPageBytes and a little, each answering more with next
// where the following page starts; reading every page gets every event
// once, in order.
func TestEventsPageBoundedInBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	boardID, _ := e.bigBoard(300)
	head := e.seq(boardID)
	var seqs []int64
	pages := 0
	for since := int64(0); ; pages++ {
		r := e.do("GET", fmt.Sprintf("/api/boards/%s/events?since=%d&limit=1000", boardID, since), alice, nil)
		if len(r.Body) > board.MaxEventsPageBytes+4_096 {
			t.Fatalf("page from %d: %d bytes", since, len(r.Body))
		}
		p := apitest.Must[eventsPage](t, r, http.StatusOK)
		if len(p.Events) == 0 || p.Next != p.Events[len(p.Events)-1].Seq || p.More != (p.Next < head) || p.Seq != head {
			t.Fatalf("page from %d: %d events, next %d, more %v, seq %d (head %d)", since, len(p.Events), p.Next, p.More, p.Seq, head)
		}
		for _, ev := range p.Events {
			seqs = append(seqs, ev.Seq)
		}
		if !p.More {
			break
		}
		since = p.Next
	}
	if pages < 2 {
		t.Errorf("the log of %d events was read in %d pages", head, pages+1)
	}
	for i, s := range seqs {
		if s != int64(i)+1 {
			t.Fatalf("event %d of the pages has seq %d (%d events in all, head %d)", i, s, len(seqs), head)
		}
	}
	if int64(len(seqs)) != head {
		t.Fatalf("read %d events, head %d", len(seqs), head)
	}
}

// maxHeapGrowth is the bound on the heap growth (the test's clients
// included, which read each page whole) while 40 pages of 300 big events
// are read at once: a page is at most board.MaxEventsPageBytes, about
// 1 MiB, and its encoding about as much again. Before pages were bounded in
// bytes and escaped HTML, each page was 18 MB encoded and this took more
// than a gigabyte.
const maxHeapGrowth = 256 << 20

// TestEventsPagesMemory: 40 concurrent pages of GET /events?limit=1000 over
// 300 edits of a description of 10,000 '<' grow the heap (sampled with
// runtime/metrics) by less than maxHeapGrowth, and another user's small
// request during them is answered.
func TestEventsPagesMemory(t *testing.T) {
	e := newEnv(t, func(o *httpapi.Options) { o.HeavyReads = 64 })
	boardID, _ := e.bigBoard(300)
	other := e.mkBoard(bob, "small")

	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-stop:
				return
			default:
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			runtime.Gosched()
		}
	}()
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			r, err := e.send("GET", "/api/boards/"+boardID+"/events?limit=1000", alice, nil)
			if err != nil || r.Status != http.StatusOK {
				t.Errorf("events page: %v %v", r, err)
			}
		})
	}
	small, err := e.send("GET", "/api/boards/"+other.ID, bob, nil)
	wg.Wait()
	close(stop)
	<-sampled
	if err != nil || small.Status != http.StatusOK {
		t.Errorf("bob's snapshot during the pages: %v %v", small, err)
	}
	growth := int64(peak.Load()) - int64(base)
	t.Logf("heap %d MiB before, peak %d MiB (+%d MiB)", base>>20, peak.Load()>>20, growth>>20)
	if growth > maxHeapGrowth {
		t.Errorf("40 pages at once grew the heap by %d MiB, more than %d MiB", growth>>20, maxHeapGrowth>>20)
	}
}

// blockingStore holds the snapshots of alice until released, telling when
// each has started.
type blockingStore struct {
	*store.Store
	started chan struct{}
	release chan struct{}
}

func (s *blockingStore) Snapshot(ctx context.Context, user, boardID string) (board.Snapshot, error) {
	if user == alice {
		s.started <- struct{}{}
		<-s.release
	}
	return s.Store.Snapshot(ctx, user, boardID)
}

// TestHeavyReadsPerUser: with 4 of alice's snapshots running (held in the
// store), a 5th waits for a turn and is answered 429 rate_limited with
// Retry-After, and so are her event pages and exports, while bob's
// snapshot and events are answered; once hers end, she may read again.
func TestHeavyReadsPerUser(t *testing.T) {
	t.Parallel()
	bs := &blockingStore{started: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(o *httpapi.Options) {
		bs.Store = o.Store.(*store.Store)
		o.Store = bs
		o.SnapshotCacheBytes = -1 // each snapshot reaches the store (the cache would share one read)
	})
	b := e.mkBoard(alice, "b")
	e.addMember(b.ID, bob, "viewer")

	results := make(chan apitest.Response, 5)
	for range 5 {
		go func() {
			r, err := e.send("GET", "/api/boards/"+b.ID, alice, nil)
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	// Four reach the store and wait there; the fifth finds no turn.
	started, refused := 0, 0
	for started+refused < 5 {
		select {
		case <-bs.started:
			started++
		case r := <-results:
			apitest.CheckProblem(t, r, http.StatusTooManyRequests, board.ERateLimited)
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After: %v", r.Header)
			}
			refused++
		}
	}
	if started != 4 || refused != 1 {
		close(bs.release)
		for range started {
			<-results
		}
		t.Fatalf("%d of 5 snapshots at once started, %d refused; want 4 and 1", started, refused)
	}
	for _, path := range []string{"/events", "/export"} {
		apitest.CheckProblem(t, e.do("GET", "/api/boards/"+b.ID+path, alice, nil), http.StatusTooManyRequests, board.ERateLimited)
	}
	apitest.Must[json.RawMessage](t, e.do("GET", "/api/boards/"+b.ID, bob, nil), http.StatusOK)
	apitest.Must[json.RawMessage](t, e.do("GET", "/api/boards/"+b.ID+"/events", bob, nil), http.StatusOK)
	close(bs.release)
	for range 4 {
		apitest.Must[json.RawMessage](t, <-results, http.StatusOK)
	}
	apitest.Must[json.RawMessage](t, e.do("GET", "/api/boards/"+b.ID+"/events", alice, nil), http.StatusOK)
}
