package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// titles lists the titles of the column's cards in snapshot order.
func titles(s board.Snapshot, colID string) []string {
	var out []string
	for _, c := range s.Cards {
		if c.ColumnID == colID {
			out = append(out, c.Title)
		}
	}
	return out
}

func columnNames(s board.Snapshot) []string {
	var out []string
	for _, c := range s.Columns {
		out = append(out, c.Name)
	}
	return out
}

// lastEvent reads the board's newest event.
func (e *env) lastEvent(boardID string) board.Event {
	e.t.Helper()
	page := apitest.Must[eventsPage](e.t, e.do("GET", fmt.Sprintf("/api/boards/%s/events?since=%d", boardID, e.seq(boardID)-1), alice, nil), http.StatusOK)
	if len(page.Events) != 1 {
		e.t.Fatalf("last event: %+v", page)
	}
	return page.Events[0]
}

type eventsPage struct {
	Events []board.Event `json:"events"`
	Seq    int64         `json:"seq"`
	Next   int64         `json:"next"`
	More   bool          `json:"more"`
}

func TestCreateAndGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/api/boards", alice, map[string]any{"name": "Plan", "description": "d"}, "X-Op-Id", "op-1")
	b := apitest.Must[board.Board](t, r, http.StatusCreated)
	if b.Name != "Plan" || b.OwnerID != alice || b.Role != board.RoleOwner || b.Version != 1 || b.Seq != 1 ||
		r.Header.Get("Location") != "/api/boards/"+b.ID || r.Header.Get("ETag") != `"1"` {
		t.Errorf("created board %+v, headers %v", b, r.Header)
	}
	col := e.mkColumn(alice, b.ID, "todo")
	if _, err := e.Store.Pool().Exec(t.Context(), `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, 'bob', 'viewer')`, b.ID); err != nil {
		t.Fatal(err)
	}
	x := apitest.Must[board.Label](t, e.do("POST", "/api/boards/"+b.ID+"/labels", alice, map[string]any{"name": "x"}), http.StatusCreated)
	r = e.do("POST", "/api/boards/"+b.ID+"/cards", alice, map[string]any{
		"column_id": col.ID, "title": "T", "description": "D", "labels": []string{x.ID}, "due": "2030-01-02",
		"assignees": []string{"bob"}, "done": true,
	}, "X-Op-Id", "op-2")
	c := apitest.Must[board.Card](t, r, http.StatusCreated)
	if r.Header.Get("Location") != "/api/boards/"+b.ID+"/cards/"+c.ID || r.Header.Get("Board-Seq") != "4" {
		t.Errorf("Location %q, Board-Seq %q (want 4)", r.Header.Get("Location"), r.Header.Get("Board-Seq"))
	}
	g := e.do("GET", "/api/boards/"+b.ID+"/cards/"+c.ID, alice, nil)
	got := apitest.Must[board.Card](t, g, http.StatusOK)
	if g.Header.Get("ETag") != `"1"` || got.Title != "T" || got.Description != "D" || *got.Due != "2030-01-02" ||
		!got.Done || got.CreatedBy != alice || !slices.Equal(got.Labels, []string{x.ID}) || !slices.Equal(got.Assignees, []string{"bob"}) {
		t.Errorf("got card %+v, ETag %s", got, g.Header.Get("ETag"))
	}
	ev := e.lastEvent(b.ID)
	if ev.Kind != board.KindCardCreated || ev.OpID != "op-2" || ev.Actor != alice || ev.Seq != 4 {
		t.Errorf("event %+v", ev)
	}
	s := e.do("GET", "/api/boards/"+b.ID+"?min_seq=4", alice, nil)
	if snap := apitest.Must[board.Snapshot](t, s, http.StatusOK); snap.Seq != 4 || len(snap.Cards) != 1 || s.Header.Get("ETag") != `"s4"` || s.Header.Get("Board-Seq") != "4" {
		t.Errorf("snapshot %+v", snap)
	}
	for _, q := range []string{"?min_seq=-1", "?min_seq=x", "/events?min_seq=1.5"} {
		if r := e.do("GET", "/api/boards/"+b.ID+q, alice, nil); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("GET %s: %v, want 422", q, r)
		}
	}
}

// If-Match on every kind of write: the current version passes (as sent in
// ETag, weak or strong), a stale one is 412 with the current entity.
func TestIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "cas")
	col := e.mkColumn(alice, b.ID, "todo")
	c := e.mkCard(alice, b.ID, col.ID, "card")
	B := "/api/boards/" + b.ID
	card := B + "/cards/" + c.ID

	f := e.freeze(b.ID)
	for _, rt := range []route{
		{"PATCH", B, map[string]any{"name": "x"}},
		{"DELETE", B, nil},
		{"PATCH", B + "/columns/" + col.ID, map[string]any{"name": "x"}},
		{"POST", B + "/columns/" + col.ID + "/move", map[string]any{"position": map[string]any{"to": "top"}}},
		{"DELETE", B + "/columns/" + col.ID + "?cards=delete", nil},
		{"PATCH", card, map[string]any{"title": "x"}},
		{"POST", card + "/move", map[string]any{"position": map[string]string{"to": "top"}}},
		{"POST", card + "/archive", nil},
		{"DELETE", card, nil},
	} {
		p := apitest.CheckProblem(t, e.do(rt.method, rt.path, alice, rt.body, "If-Match", `"2"`), http.StatusPreconditionFailed, board.EVersionMismatch)
		var cur struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
		}
		if err := json.Unmarshal(p.Current, &cur); err != nil || cur.Version != 1 || cur.ID == "" {
			t.Errorf("%v: current %s", rt, p.Current)
		}
	}
	f.Check(t, "stale If-Match")

	r := e.do("PATCH", card, alice, map[string]any{"title": "v2"}, "If-Match", `"1"`)
	if apitest.Must[board.Card](t, r, http.StatusOK).Version != 2 || r.Header.Get("ETag") != `"2"` {
		t.Errorf("PATCH with the current version: %v", r)
	}
	r = e.do("PATCH", card, alice, map[string]any{"title": "v3"}, "If-Match", `W/"2"`)
	apitest.Must[board.Card](t, r, http.StatusOK)
	r = e.do("PATCH", card, alice, map[string]any{"title": "v4"}, "If-Match", `*`)
	apitest.Must[board.Card](t, r, http.StatusOK)
	r = e.do("PATCH", B, alice, map[string]any{"description": "new"}, "If-Match", `"1"`)
	if nb := apitest.Must[board.Board](t, r, http.StatusOK); nb.Version != 2 || nb.Name != "cas" || nb.Description != "new" {
		t.Errorf("board patch: %+v", nb)
	}
	apitest.CheckProblem(t, e.do("DELETE", card, alice, nil, "If-Match", `"3"`), http.StatusPreconditionFailed, board.EVersionMismatch)
	if r := e.do("DELETE", card, alice, nil, "If-Match", `"4"`); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Errorf("DELETE with the current version: %v", r)
	}
	apitest.CheckProblem(t, e.do("GET", card, alice, nil), http.StatusNotFound, board.ENotFound)
}

func TestDeleteColumn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "columns")
	B := "/api/boards/" + b.ID
	src, dst, empty := e.mkColumn(alice, b.ID, "src"), e.mkColumn(alice, b.ID, "dst"), e.mkColumn(alice, b.ID, "empty")
	for _, title := range []string{"s1", "s2", "s3"} {
		e.mkCard(alice, b.ID, src.ID, title)
	}
	// Put s3 first, so the order moved is not creation order.
	s3 := e.snapshot(alice, b.ID).Cards[2]
	apitest.Must[board.Card](t, e.do("POST", B+"/cards/"+s3.ID+"/move", alice, map[string]any{"position": map[string]string{"to": "top"}}), http.StatusOK)
	e.mkCard(alice, b.ID, dst.ID, "d1")
	e.mkCard(alice, b.ID, dst.ID, "d2")
	archived := e.mkCard(alice, b.ID, src.ID, "s4")
	apitest.Must[board.Card](t, e.do("POST", B+"/cards/"+archived.ID+"/archive", alice, nil), http.StatusOK)

	// A non-empty column needs a choice.
	f := e.freeze(b.ID)
	p := apitest.CheckProblem(t, e.do("DELETE", B+"/columns/"+src.ID, alice, nil), http.StatusConflict, board.EConflict)
	t.Logf("conflict: %s", p.Detail)
	f.Check(t, "a refused column delete")

	// An empty one does not.
	if r := e.do("DELETE", B+"/columns/"+empty.ID, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete empty column: %v", r)
	}

	// cards=move appends them in order at the bottom of the target.
	if r := e.do("DELETE", B+"/columns/"+src.ID+"?cards=move&to="+dst.ID, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete with cards=move: %v", r)
	}
	snap := e.snapshot(alice, b.ID)
	if got, want := titles(snap, dst.ID), []string{"d1", "d2", "s3", "s1", "s2", "s4"}; !slices.Equal(got, want) {
		t.Errorf("target column holds %v, want %v", got, want)
	}
	if got := columnNames(snap); !slices.Equal(got, []string{"dst"}) {
		t.Errorf("columns %v", got)
	}
	if got := e.card(b.ID, archived.ID); !got.Archived || got.ColumnID != dst.ID {
		t.Errorf("archived card after the move: %+v", got)
	}
	ev := e.lastEvent(b.ID)
	var d board.ColumnDeleted
	if err := json.Unmarshal(ev.Data, &d); err != nil || ev.Kind != board.KindColumnDeleted || d.ID != src.ID ||
		d.Cards != board.CardsMove || d.To != dst.ID || len(d.Moved) != 4 {
		t.Errorf("event %s %s", ev.Kind, ev.Data)
	}

	// cards=delete deletes them with the column.
	gone := e.mkColumn(alice, b.ID, "gone")
	c1, c2 := e.mkCard(alice, b.ID, gone.ID, "g1"), e.mkCard(alice, b.ID, gone.ID, "g2")
	if r := e.do("DELETE", B+"/columns/"+gone.ID+"?cards=delete", alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete with cards=delete: %v", r)
	}
	for _, c := range []board.Card{c1, c2} {
		apitest.CheckProblem(t, e.do("GET", B+"/cards/"+c.ID, alice, nil), http.StatusNotFound, board.ENotFound)
	}
	apitest.CheckProblem(t, e.do("PATCH", B+"/columns/"+gone.ID, alice, map[string]any{"name": "x"}), http.StatusNotFound, board.ENotFound)
	ev = e.lastEvent(b.ID)
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.Cards != board.CardsDelete || len(d.Deleted) != 2 {
		t.Errorf("event %s %s", ev.Kind, ev.Data)
	}
	if n := e.count(`SELECT count(*) FROM cards WHERE board_id = $1`, b.ID); n != 6 {
		t.Errorf("%d cards left, want 6", n)
	}
}

func TestColumnOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "order")
	B := "/api/boards/" + b.ID
	c1, c2, c3 := e.mkColumn(alice, b.ID, "c1"), e.mkColumn(alice, b.ID, "c2"), e.mkColumn(alice, b.ID, "c3")
	move := func(col board.Column, pos map[string]string, want ...string) {
		t.Helper()
		apitest.Must[board.Column](t, e.do("POST", B+"/columns/"+col.ID+"/move", alice, map[string]any{"position": pos}), http.StatusOK)
		if got := columnNames(e.snapshot(alice, b.ID)); !slices.Equal(got, want) {
			t.Errorf("after moving %s to %v: %v, want %v", col.Name, pos, got, want)
		}
	}
	move(c3, map[string]string{"to": "top"}, "c3", "c1", "c2")
	move(c1, map[string]string{"after": c2.ID}, "c3", "c2", "c1")
	move(c3, map[string]string{"before": c1.ID}, "c2", "c3", "c1")
	move(c2, map[string]string{"to": "bottom"}, "c3", "c1", "c2")
	move(c2, map[string]string{}, "c3", "c1", "c2")
	move(c2, map[string]string{"after": c3.ID}, "c3", "c2", "c1")
	move(c1, map[string]string{"before": c3.ID}, "c1", "c3", "c2")
	// A new column can go anywhere too.
	apitest.Must[board.Column](t, e.do("POST", B+"/columns", alice, map[string]any{"name": "c0", "position": map[string]string{"to": "top"}}), http.StatusCreated)
	apitest.Must[board.Column](t, e.do("POST", B+"/columns", alice, map[string]any{"name": "c4", "position": map[string]string{"after": c1.ID}}), http.StatusCreated)
	if got, want := columnNames(e.snapshot(alice, b.ID)), []string{"c0", "c1", "c4", "c3", "c2"}; !slices.Equal(got, want) {
		t.Errorf("columns %v, want %v", got, want)
	}
	// A rename keeps the place.
	r := apitest.Must[board.Column](t, e.do("PATCH", B+"/columns/"+c3.ID, alice, map[string]any{"name": "three"}), http.StatusOK)
	if r.Name != "three" || r.Rank != e.snapshot(alice, b.ID).Columns[3].Rank {
		t.Errorf("renamed column %+v", r)
	}
}

func TestCardMoves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "moves")
	B := "/api/boards/" + b.ID
	left, right := e.mkColumn(alice, b.ID, "left"), e.mkColumn(alice, b.ID, "right")
	cards := map[string]board.Card{}
	for _, title := range []string{"a", "b", "c", "d"} {
		cards[title] = e.mkCard(alice, b.ID, left.ID, title)
	}
	cards["x"] = e.mkCard(alice, b.ID, right.ID, "x")
	move := func(title string, body map[string]any, wantLeft, wantRight []string) {
		t.Helper()
		c := apitest.Must[board.Card](t, e.do("POST", B+"/cards/"+cards[title].ID+"/move", alice, body), http.StatusOK)
		snap := e.snapshot(alice, b.ID)
		if l, r := titles(snap, left.ID), titles(snap, right.ID); !slices.Equal(l, wantLeft) || !slices.Equal(r, wantRight) {
			t.Errorf("after moving %s with %v: %v | %v, want %v | %v", title, body, l, r, wantLeft, wantRight)
		}
		if ev := e.lastEvent(b.ID); ev.Kind != board.KindCardMoved {
			t.Errorf("event %s", ev.Kind)
		}
		if c.Version < 2 {
			t.Errorf("moved card's version %d", c.Version)
		}
	}
	pos := func(k, v string) map[string]any { return map[string]any{"position": map[string]string{k: v}} }
	move("d", pos("to", "top"), []string{"d", "a", "b", "c"}, []string{"x"})
	move("d", pos("to", "bottom"), []string{"a", "b", "c", "d"}, []string{"x"})
	move("a", pos("after", cards["c"].ID), []string{"b", "c", "a", "d"}, []string{"x"})
	move("d", pos("before", cards["b"].ID), []string{"d", "b", "c", "a"}, []string{"x"})
	move("b", map[string]any{"column_id": right.ID}, []string{"d", "c", "a"}, []string{"x", "b"})
	move("c", map[string]any{"column_id": right.ID, "position": map[string]string{"to": "top"}}, []string{"d", "a"}, []string{"c", "x", "b"})
	move("a", map[string]any{"column_id": right.ID, "position": map[string]string{"after": cards["x"].ID}}, []string{"d"}, []string{"c", "x", "a", "b"})
	move("d", map[string]any{"column_id": right.ID, "position": map[string]string{"before": cards["c"].ID}}, nil, []string{"d", "c", "x", "a", "b"})
	move("x", map[string]any{"column_id": left.ID}, []string{"x"}, []string{"d", "c", "a", "b"})
	// Both neighbours named: after wins.
	move("b", map[string]any{"position": map[string]string{"after": cards["d"].ID, "before": cards["a"].ID}}, []string{"x"}, []string{"d", "b", "c", "a"})
	// Moving within its column with column_id given is the same as without.
	move("a", map[string]any{"column_id": right.ID, "position": map[string]string{"to": "top"}}, []string{"x"}, []string{"a", "d", "b", "c"})
	// An empty move body puts it at the bottom of its column.
	move("a", map[string]any{}, []string{"x"}, []string{"d", "b", "c", "a"})

	// A neighbour in another column than the target is not there: 404.
	f := e.freeze(b.ID)
	p := apitest.CheckProblem(t, e.do("POST", B+"/cards/"+cards["a"].ID+"/move", alice, pos("after", cards["x"].ID)), http.StatusNotFound, board.ENotFound)
	if p.Field != "position.after" {
		t.Errorf("field %q", p.Field)
	}
	f.Check(t, "a move after a card of another column")
}

func TestArchive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "archive")
	col := e.mkColumn(alice, b.ID, "todo")
	c := e.mkCard(alice, b.ID, col.ID, "card")
	card := "/api/boards/" + b.ID + "/cards/" + c.ID

	a := apitest.Must[board.Card](t, e.do("POST", card+"/archive", alice, nil), http.StatusOK)
	if !a.Archived || a.ArchivedAt == nil || a.Version != 2 {
		t.Errorf("archived card %+v", a)
	}
	f := e.freeze(b.ID)
	apitest.CheckProblem(t, e.do("POST", card+"/archive", alice, nil), http.StatusConflict, board.EConflict)
	f.Check(t, "archiving twice")
	// An archived card keeps its place in the snapshot.
	if snap := e.snapshot(alice, b.ID); len(snap.Cards) != 1 || !snap.Cards[0].Archived {
		t.Errorf("snapshot %+v", snap.Cards)
	}
	u := apitest.Must[board.Card](t, e.do("POST", card+"/unarchive", alice, nil), http.StatusOK)
	if u.Archived || u.ArchivedAt != nil || u.Rank != c.Rank {
		t.Errorf("unarchived card %+v", u)
	}
	if ev := e.lastEvent(b.ID); ev.Kind != board.KindCardUnarchived {
		t.Errorf("event %s", ev.Kind)
	}
	f = e.freeze(b.ID)
	apitest.CheckProblem(t, e.do("POST", card+"/unarchive", alice, nil), http.StatusConflict, board.EConflict)
	f.Check(t, "unarchiving twice")
}

func TestEventsPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "events")
	col := e.mkColumn(alice, b.ID, "todo")
	for i := range 8 {
		e.mkCard(alice, b.ID, col.ID, fmt.Sprint("c", i))
	}
	const head = 10
	B := "/api/boards/" + b.ID

	all := apitest.Must[eventsPage](t, e.do("GET", B+"/events", alice, nil), http.StatusOK)
	if len(all.Events) != head || all.Seq != head || all.Next != head || all.More {
		t.Errorf("default page: %d events, seq %d, next %d, more %v", len(all.Events), all.Seq, all.Next, all.More)
	}
	var seqs []int64
	since := int64(0)
	for pages := 0; ; pages++ {
		if pages > head {
			t.Fatal("paging does not end")
		}
		page := apitest.Must[eventsPage](t, e.do("GET", fmt.Sprintf("%s/events?since=%d&limit=3", B, since), alice, nil), http.StatusOK)
		if page.Seq != head || len(page.Events) > 3 {
			t.Fatalf("page after %d: %+v", since, page)
		}
		for _, ev := range page.Events {
			seqs = append(seqs, ev.Seq)
			if ev.BoardID != b.ID || ev.Actor != alice || ev.At.IsZero() || len(ev.Data) == 0 {
				t.Errorf("event %+v", ev)
			}
		}
		if want := since + int64(len(page.Events)); page.Next != want {
			t.Errorf("next %d, want %d", page.Next, want)
		}
		since = page.Next
		if !page.More {
			break
		}
	}
	want := make([]int64, head)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(seqs, want) {
		t.Errorf("paged seqs %v, want %v", seqs, want)
	}
	if all.Events[0].Kind != board.KindBoardCreated || all.Events[1].Kind != board.KindColumnCreated || all.Events[2].Kind != board.KindCardCreated {
		t.Errorf("kinds %s %s %s", all.Events[0].Kind, all.Events[1].Kind, all.Events[2].Kind)
	}
	// At the head: nothing, and no more. Past it: the client is ahead of
	// the board (a database restored from a backup taken before since):
	// it must reload, like a client whose since is older than the log.
	page := apitest.Must[eventsPage](t, e.do("GET", fmt.Sprintf("%s/events?since=%d", B, head), alice, nil), http.StatusOK)
	if len(page.Events) != 0 || page.More || page.Events == nil {
		t.Errorf("since %d: %+v", head, page)
	}
	if r := e.do("GET", fmt.Sprintf("%s/events?since=%d", B, head+5), alice, nil); r.Status != http.StatusGone {
		t.Errorf("since past the head: %v, want 410", r)
	}
	// Replaying the log reproduces the snapshot.
	var s board.Snapshot
	for _, ev := range all.Events {
		if err := s.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	snap := e.snapshot(alice, b.ID)
	s.Board.Role = snap.Board.Role
	got, _ := json.Marshal(s)
	wantSnap, _ := json.Marshal(snap)
	if string(got) != string(wantSnap) {
		t.Errorf("replayed:\n%s\nsnapshot:\n%s", got, wantSnap)
	}
}

func TestListBoards(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	list := func(user string) []board.Board {
		t.Helper()
		return apitest.Must[struct{ Boards []board.Board }](t, e.do("GET", "/api/boards", user, nil), http.StatusOK).Boards
	}
	if l := list(alice); l == nil || len(l) != 0 {
		t.Errorf("alice's boards before any: %#v", l)
	}
	a1, a2 := e.mkBoard(alice, "a1"), e.mkBoard(alice, "a2")
	b1 := e.mkBoard(bob, "b1")
	ids := func(bs []board.Board) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.ID+":"+b.Role)
		}
		return out
	}
	if got, want := ids(list(alice)), []string{a1.ID + ":owner", a2.ID + ":owner"}; !slices.Equal(got, want) {
		t.Errorf("alice lists %v, want %v", got, want)
	}
	if got, want := ids(list(bob)), []string{b1.ID + ":owner"}; !slices.Equal(got, want) {
		t.Errorf("bob lists %v, want %v", got, want)
	}
	if got := list(carol); len(got) != 0 {
		t.Errorf("carol lists %v", ids(got))
	}
	e.addMember(a2.ID, bob, board.RoleEditor)
	// Oldest first, whatever the caller's role.
	if got, want := ids(list(bob)), []string{a2.ID + ":editor", b1.ID + ":owner"}; !slices.Equal(got, want) {
		t.Errorf("bob lists %v, want %v", got, want)
	}
}

func TestDeleteBoard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeTwoBoards(e)
	e.addMember(w.A.ID, bob, board.RoleEditor)
	e.addMember(w.A.ID, carol, board.RoleViewer)
	A := "/api/boards/" + w.A.ID
	f := e.freeze(w.A.ID, w.B.ID)
	apitest.CheckProblem(t, e.do("DELETE", A, bob, nil), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, e.do("DELETE", A, carol, nil), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, e.do("DELETE", A, "mallory", nil), http.StatusNotFound, board.ENotFound)
	f.Check(t, "refused board deletes")

	if r := e.do("DELETE", A, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %v", r)
	}
	for _, user := range []string{alice, bob} {
		apitest.CheckProblem(t, e.do("GET", A, user, nil), http.StatusNotFound, board.ENotFound)
		apitest.CheckProblem(t, e.do("GET", A+"/events", user, nil), http.StatusNotFound, board.ENotFound)
		apitest.CheckProblem(t, e.do("GET", A+"/cards/"+w.ac1.ID, user, nil), http.StatusNotFound, board.ENotFound)
	}
	apitest.CheckProblem(t, e.do("DELETE", A, alice, nil), http.StatusNotFound, board.ENotFound)
	for _, table := range []string{"boards WHERE id", "board_members WHERE board_id", "columns WHERE board_id",
		"cards WHERE board_id"} {
		if n := e.count(`SELECT count(*) FROM `+table+` = $1`, w.A.ID); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
	// The log stays, whole, ending with board.deleted (until retention).
	if n, last := e.count(`SELECT count(*) FROM events WHERE board_id = $1`, w.A.ID),
		e.count(`SELECT seq FROM events WHERE board_id = $1 AND kind = 'board.deleted'`, w.A.ID); last == 0 || n != last {
		t.Errorf("the deleted board's log has %d events, board.deleted at seq %d", n, last)
	}
	// B is untouched.
	f.Forget(w.A.ID)
	f.Check(t, "deleting another board")
}

// A store error that is not the client's is a bare 500 problem, and a retry
// with the same Idempotency-Key runs again.
func TestInternalErrorReleasesKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "internal")
	col := e.mkColumn(alice, b.ID, "todo")
	// Break card inserts for a moment.
	ctx := context.Background()
	if _, err := e.Store.Pool().Exec(ctx, `ALTER TABLE cards ADD CONSTRAINT no_cards CHECK (title <> 'boom')`); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"column_id": col.ID, "title": "boom"}
	r, err := e.send("POST", "/api/boards/"+b.ID+"/cards", alice, body, "Idempotency-Key", "retry")
	if err != nil {
		t.Fatal(err)
	}
	p := apitest.CheckProblem(t, r, http.StatusInternalServerError, board.EInternal)
	if p.Detail != "internal error" {
		t.Errorf("the 500 says %q", p.Detail)
	}
	if _, err := e.Store.Pool().Exec(ctx, `ALTER TABLE cards DROP CONSTRAINT no_cards`); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/api/boards/"+b.ID+"/cards", alice, body, "Idempotency-Key", "retry")
	if c := apitest.Must[board.Card](t, r, http.StatusCreated); c.Title != "boom" || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("retry: %v", r)
	}
	if got := e.seq(b.ID); got != 3 {
		t.Errorf("seq %d, want 3", got)
	}
}
