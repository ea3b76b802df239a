package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// Twenty clients PATCH one card at once, each with If-Match naming the same
// version: exactly one wins, every other gets 412 with the winner's card, and
// the card moves on by exactly one version.
func TestIfMatchConcurrentPatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "cas")
	col := e.mkColumn(alice, b.ID, "todo")
	c := e.mkCard(alice, b.ID, col.ID, "start")
	// Move it past version 1, so that the version in play is not a default.
	c = apitest.Must[board.Card](t, e.do("PATCH", "/api/boards/"+b.ID+"/cards/"+c.ID, alice, map[string]any{"done": true}), http.StatusOK)
	old, seq := c.Version, e.seq(b.ID)

	const n = 20
	results := make([]apitest.Response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r, err := e.send("PATCH", "/api/boards/"+b.ID+"/cards/"+c.ID, alice,
				map[string]any{"title": fmt.Sprintf("writer %d", i)}, "If-Match", fmt.Sprintf("%q", fmt.Sprint(old)))
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	var winner board.Card
	wins, stale := 0, 0
	for i, r := range results {
		switch r.Status {
		case http.StatusOK:
			wins++
			winner = apitest.Must[board.Card](t, r, http.StatusOK)
			if winner.Title != fmt.Sprintf("writer %d", i) || winner.Version != old+1 {
				t.Errorf("winner %d got card %+v", i, winner)
			}
			if got := r.Header.Get("ETag"); got != fmt.Sprintf("%q", fmt.Sprint(old+1)) {
				t.Errorf("winner's ETag %s, want version %d", got, old+1)
			}
		case http.StatusPreconditionFailed:
			stale++
		default:
			t.Errorf("writer %d: %v", i, r)
		}
	}
	if wins != 1 || stale != n-1 {
		t.Fatalf("%d wins and %d × 412, want 1 and %d", wins, stale, n-1)
	}
	for i, r := range results {
		if r.Status != http.StatusPreconditionFailed {
			continue
		}
		p := apitest.CheckProblem(t, r, http.StatusPreconditionFailed, board.EVersionMismatch)
		var cur board.Card
		if err := json.Unmarshal(p.Current, &cur); err != nil {
			t.Errorf("writer %d: current: %v (%s)", i, err, r.Body)
			continue
		}
		if cur.ID != c.ID || cur.Version != old+1 || cur.Title != winner.Title {
			t.Errorf("writer %d: current is %+v, want the winner's card at version %d", i, cur, old+1)
		}
		if got := r.Header.Get("ETag"); got != fmt.Sprintf("%q", fmt.Sprint(old+1)) {
			t.Errorf("writer %d: 412 ETag %s, want version %d", i, got, old+1)
		}
	}
	final := e.card(b.ID, c.ID)
	if final.Version != old+1 || final.Title != winner.Title || !final.Done {
		t.Errorf("final card %+v, want version %d titled %q", final, old+1, winner.Title)
	}
	if got := e.seq(b.ID); got != seq+1 {
		t.Errorf("board seq %d, want %d: one event for the one winner", got, seq+1)
	}
}

// Two people edit different fields of one card at the same moment, without
// If-Match: both edits survive.
func TestConcurrentFieldPatchesMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "merge")
	col := e.mkColumn(alice, b.ID, "todo")
	e.addMember(b.ID, bob, board.RoleEditor)
	label := func(name string) string {
		return apitest.Must[board.Label](t, e.do("POST", "/api/boards/"+b.ID+"/labels", alice, map[string]any{"name": name}), http.StatusCreated).ID
	}
	red, blue := label("red"), label("blue")

	pairs := []struct {
		a, b  map[string]any
		check func(board.Card, int) bool
	}{
		{
			a: map[string]any{"title": "T"}, b: map[string]any{"description": "D"},
			check: func(c board.Card, i int) bool { return c.Title == "T" && c.Description == "D" },
		},
		{
			a: map[string]any{"labels": []string{red, blue}}, b: map[string]any{"done": true},
			check: func(c board.Card, i int) bool { return slices.Equal(c.Labels, []string{red, blue}) && c.Done },
		},
		{
			a: map[string]any{"due": "2031-02-03"}, b: map[string]any{"assignees": []string{"bob", "alice"}},
			check: func(c board.Card, i int) bool {
				return c.Due != nil && *c.Due == "2031-02-03" && slices.Equal(c.Assignees, []string{"bob", "alice"})
			},
		},
	}
	for i := range 21 {
		pair := pairs[i%len(pairs)]
		c := e.mkCard(alice, b.ID, col.ID, "card")
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, w := range []struct {
			user  string
			patch map[string]any
		}{{alice, pair.a}, {bob, pair.b}} {
			wg.Go(func() {
				<-start
				r, err := e.send("PATCH", "/api/boards/"+b.ID+"/cards/"+c.ID, w.user, w.patch)
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("%s PATCH %v: %v %v", w.user, w.patch, r, err)
				}
			})
		}
		close(start)
		wg.Wait()
		got := e.card(b.ID, c.ID)
		if !pair.check(got, i) || got.Version != 3 {
			t.Errorf("round %d: after %v and %v the card is %+v", i, pair.a, pair.b, got)
		}
	}
}
