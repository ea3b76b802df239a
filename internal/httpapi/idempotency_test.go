package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
)

func sameResponse(t *testing.T, first, replay apitest.Response) {
	t.Helper()
	if replay.Status != first.Status || !bytes.Equal(replay.Body, first.Body) {
		t.Errorf("replay is %v, want the first response %v", replay, first)
	}
	if got := replay.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("replay has Idempotent-Replayed %q, want true", got)
	}
	for _, h := range []string{"Content-Type", "ETag", "Location"} {
		if replay.Header.Get(h) != first.Header.Get(h) {
			t.Errorf("replay's %s is %q, first was %q", h, replay.Header.Get(h), first.Header.Get(h))
		}
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "idem")
	col := e.mkColumn(alice, b.ID, "todo")
	cards := "/api/boards/" + b.ID + "/cards"
	newCard := func(title string) map[string]any { return map[string]any{"column_id": col.ID, "title": title} }

	t.Run("replay", func(t *testing.T) {
		e := e.with(t)
		seq := e.seq(b.ID)
		first := e.do("POST", cards, alice, newCard("once"), "Idempotency-Key", "replay-1")
		c := apitest.Must[board.Card](t, first, http.StatusCreated)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("the first response says it is a replay")
		}
		for range 3 {
			sameResponse(t, first, e.do("POST", cards, alice, newCard("once"), "Idempotency-Key", "replay-1"))
		}
		if got := e.seq(b.ID); got != seq+1 {
			t.Errorf("seq %d after one request and its replays, want %d", got, seq+1)
		}
		if n := e.count(`SELECT count(*) FROM cards WHERE title = 'once'`); n != 1 {
			t.Errorf("%d cards made, want 1", n)
		}

		// A PATCH replays its first answer even after the card changed.
		path := cards + "/" + c.ID
		first = e.do("PATCH", path, alice, map[string]any{"done": true}, "Idempotency-Key", "replay-2")
		apitest.Must[board.Card](t, first, http.StatusOK)
		e.do("PATCH", path, alice, map[string]any{"title": "later"})
		seq = e.seq(b.ID)
		sameResponse(t, first, e.do("PATCH", path, alice, map[string]any{"done": true}, "Idempotency-Key", "replay-2"))

		// So does a 204.
		first = e.do("DELETE", path, alice, nil, "Idempotency-Key", "replay-3")
		if first.Status != http.StatusNoContent {
			t.Fatalf("delete: %v", first)
		}
		sameResponse(t, first, e.do("DELETE", path, alice, nil, "Idempotency-Key", "replay-3"))
		if got := e.seq(b.ID); got != seq+1 {
			t.Errorf("seq %d, want %d", got, seq+1)
		}
	})

	t.Run("different body", func(t *testing.T) {
		e := e.with(t)
		apitest.Must[board.Card](t, e.do("POST", cards, alice, newCard("first"), "Idempotency-Key", "reuse"), http.StatusCreated)
		f := e.freeze(b.ID)
		apitest.CheckProblem(t, e.do("POST", cards, alice, newCard("second"), "Idempotency-Key", "reuse"),
			http.StatusUnprocessableEntity, board.EIdempotencyReused)
		// Another route with the same key is another request too.
		apitest.CheckProblem(t, e.do("POST", "/api/boards/"+b.ID+"/columns", alice, map[string]any{"name": "x"}, "Idempotency-Key", "reuse"),
			http.StatusUnprocessableEntity, board.EIdempotencyReused)
		f.Check(t, "reused key")
	})

	t.Run("in flight", func(t *testing.T) {
		e := e.with(t)
		// Hold the key as a first request still running would.
		body, _ := json.Marshal(newCard("in flight"))
		held := &board.IdempotentCall{Caller: alice, Key: "flight"}
		stored, err := e.Store.ClaimIdempotencyKey(context.Background(), held, requestHash("POST", cards, body), time.Hour)
		if err != nil || stored != nil {
			t.Fatalf("claim: %v, %v", stored, err)
		}
		f := e.freeze(b.ID)
		apitest.CheckProblem(t, e.do("POST", cards, alice, body, "Idempotency-Key", "flight"), http.StatusConflict, board.EIdempotencyPending)
		apitest.CheckProblem(t, e.do("POST", cards, alice, newCard("other"), "Idempotency-Key", "flight"),
			http.StatusUnprocessableEntity, board.EIdempotencyReused)
		f.Check(t, "in flight")
		// Once the first gives the key up, the retry runs.
		if err := e.Store.ReleaseIdempotencyKey(context.Background(), held); err != nil {
			t.Fatal(err)
		}
		first := e.do("POST", cards, alice, body, "Idempotency-Key", "flight")
		apitest.Must[board.Card](t, first, http.StatusCreated)
		sameResponse(t, first, e.do("POST", cards, alice, body, "Idempotency-Key", "flight"))
	})

	t.Run("concurrent duplicates", func(t *testing.T) {
		e := e.with(t)
		for round := range 5 {
			key := fmt.Sprintf("dup-%d", round)
			title := "dup " + key
			seq := e.seq(b.ID)
			const n = 6
			results := make([]apitest.Response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					r, err := e.send("POST", cards, alice, newCard(title), "Idempotency-Key", key)
					if err != nil {
						t.Error(err)
					}
					results[i] = r
				})
			}
			close(start)
			wg.Wait()
			var fresh []apitest.Response
			for _, r := range results {
				switch {
				case r.Status == http.StatusCreated && r.Header.Get("Idempotent-Replayed") == "":
					fresh = append(fresh, r)
				case r.Status == http.StatusCreated:
				case r.Status == http.StatusConflict:
					apitest.CheckProblem(t, r, http.StatusConflict, board.EIdempotencyPending)
				default:
					t.Errorf("round %d: %v", round, r)
				}
			}
			if len(fresh) != 1 {
				t.Fatalf("round %d: %d requests ran, want 1", round, len(fresh))
			}
			for _, r := range results {
				if r.Status == http.StatusCreated && r.Header.Get("Idempotent-Replayed") != "" {
					sameResponse(t, fresh[0], r)
				}
			}
			if got := e.seq(b.ID); got != seq+1 {
				t.Errorf("round %d: seq %d, want %d", round, got, seq+1)
			}
			if n := e.count(`SELECT count(*) FROM cards WHERE title = $1`, title); n != 1 {
				t.Errorf("round %d: %d cards, want 1", round, n)
			}
		}
	})

	t.Run("callers are independent", func(t *testing.T) {
		e := e.with(t)
		e.addMember(b.ID, bob, board.RoleEditor)
		seq := e.seq(b.ID)
		ra := e.do("POST", cards, alice, newCard("shared key"), "Idempotency-Key", "same")
		rb := e.do("POST", cards, bob, newCard("shared key"), "Idempotency-Key", "same")
		ca, cb := apitest.Must[board.Card](t, ra, http.StatusCreated), apitest.Must[board.Card](t, rb, http.StatusCreated)
		if rb.Header.Get("Idempotent-Replayed") != "" || ca.ID == cb.ID || cb.CreatedBy != bob {
			t.Errorf("bob's request was answered with alice's: %v", rb)
		}
		if got := e.seq(b.ID); got != seq+2 {
			t.Errorf("seq %d, want %d", got, seq+2)
		}
		sameResponse(t, ra, e.do("POST", cards, alice, newCard("shared key"), "Idempotency-Key", "same"))
		sameResponse(t, rb, e.do("POST", cards, bob, newCard("shared key"), "Idempotency-Key", "same"))
		// Boards made by two users with one key are two boards.
		b1 := apitest.Must[board.Board](t, e.do("POST", "/api/boards", alice, map[string]any{"name": "k"}, "Idempotency-Key", "board"), http.StatusCreated)
		b2 := apitest.Must[board.Board](t, e.do("POST", "/api/boards", carol, map[string]any{"name": "k"}, "Idempotency-Key", "board"), http.StatusCreated)
		if b1.ID == b2.ID || b2.OwnerID != carol {
			t.Errorf("alice's board %+v, carol's %+v", b1, b2)
		}
	})

	t.Run("failures replay", func(t *testing.T) {
		e := e.with(t)
		f := e.freeze(b.ID)
		long := newCard(strings.Repeat("x", board.MaxNameLen+1))
		first := e.do("POST", cards, alice, long, "Idempotency-Key", "fail-422")
		apitest.CheckProblem(t, first, http.StatusUnprocessableEntity, board.EInvalid)
		sameResponse(t, first, e.do("POST", cards, alice, long, "Idempotency-Key", "fail-422"))

		missing := cards + "/00000000-0000-4000-8000-000000000000"
		first = e.do("PATCH", missing, alice, map[string]any{"done": true}, "Idempotency-Key", "fail-404")
		apitest.CheckProblem(t, first, http.StatusNotFound, board.ENotFound)
		sameResponse(t, first, e.do("PATCH", missing, alice, map[string]any{"done": true}, "Idempotency-Key", "fail-404"))

		f.Check(t, "failed requests and their replays")

		c := e.mkCard(alice, b.ID, col.ID, "cas")
		f = e.freeze(b.ID)
		first = e.do("PATCH", cards+"/"+c.ID, alice, map[string]any{"done": true}, "Idempotency-Key", "fail-412", "If-Match", `"7"`)
		apitest.CheckProblem(t, first, http.StatusPreconditionFailed, board.EVersionMismatch)
		sameResponse(t, first, e.do("PATCH", cards+"/"+c.ID, alice, map[string]any{"done": true}, "Idempotency-Key", "fail-412", "If-Match", `"7"`))
		f.Check(t, "a stale If-Match and its replay")
	})
}

// An Idempotency-Key is remembered for the TTL and may be used afresh after.
func TestIdempotencyKeyExpires(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	e := newEnv(t, func(o *httpapi.Options) { o.IdempotencyTTL = ttl })
	first := e.do("POST", "/api/boards", alice, map[string]any{"name": "one"}, "Idempotency-Key", "k")
	b1 := apitest.Must[board.Board](t, first, http.StatusCreated)
	sameResponse(t, first, e.do("POST", "/api/boards", alice, map[string]any{"name": "one"}, "Idempotency-Key", "k"))
	apitest.CheckProblem(t, e.do("POST", "/api/boards", alice, map[string]any{"name": "two"}, "Idempotency-Key", "k"),
		http.StatusUnprocessableEntity, board.EIdempotencyReused)

	time.Sleep(ttl + 200*time.Millisecond)
	again := e.do("POST", "/api/boards", alice, map[string]any{"name": "one"}, "Idempotency-Key", "k")
	b2 := apitest.Must[board.Board](t, again, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "" || b2.ID == b1.ID {
		t.Errorf("after expiry the key replayed: %v", again)
	}

	time.Sleep(ttl + 200*time.Millisecond)
	other := e.do("POST", "/api/boards", alice, map[string]any{"name": "two"}, "Idempotency-Key", "k")
	if b3 := apitest.Must[board.Board](t, other, http.StatusCreated); b3.Name != "two" {
		t.Errorf("after expiry a new request with the key made %+v", b3)
	}
	boards := apitest.Must[struct{ Boards []board.Board }](t, e.do("GET", "/api/boards", alice, nil), http.StatusOK)
	if len(boards.Boards) != 3 {
		t.Errorf("%d boards, want 3", len(boards.Boards))
	}
}
