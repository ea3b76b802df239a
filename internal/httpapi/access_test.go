package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// route is one request of a table of requests.
type route struct {
	method, path string
	body         any
}

func (r route) String() string { return r.method + " " + r.path }

// twoBoards makes boards A and B of alice, each with two columns and a card
// in each column.
type twoBoards struct {
	A, B           board.Board
	a1, a2, b1, b2 board.Column
	ac1, ac2, bc1  board.Card
	bc2            board.Card
}

func makeTwoBoards(e *env) twoBoards {
	var w twoBoards
	w.A, w.B = e.mkBoard(alice, "A"), e.mkBoard(alice, "B")
	w.a1, w.a2 = e.mkColumn(alice, w.A.ID, "a1"), e.mkColumn(alice, w.A.ID, "a2")
	w.b1, w.b2 = e.mkColumn(alice, w.B.ID, "b1"), e.mkColumn(alice, w.B.ID, "b2")
	w.ac1, w.ac2 = e.mkCard(alice, w.A.ID, w.a1.ID, "ac1"), e.mkCard(alice, w.A.ID, w.a2.ID, "ac2")
	w.bc1, w.bc2 = e.mkCard(alice, w.B.ID, w.b1.ID, "bc1"), e.mkCard(alice, w.B.ID, w.b2.ID, "bc2")
	return w
}

// Every route that takes a card or column id, given board B's ids under board
// A's path, answers 404 and changes neither board.
func TestForeignIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeTwoBoards(e)
	A := "/api/boards/" + w.A.ID
	pos := func(k, id string) map[string]any { return map[string]any{k: id} }
	routes := []route{
		{"GET", A + "/cards/" + w.bc1.ID, nil},
		{"PATCH", A + "/cards/" + w.bc1.ID, map[string]any{"title": "x"}},
		{"DELETE", A + "/cards/" + w.bc1.ID, nil},
		{"POST", A + "/cards/" + w.bc1.ID + "/move", map[string]any{"position": pos("to", "top")}},
		{"POST", A + "/cards/" + w.bc1.ID + "/move", map[string]any{"column_id": w.a1.ID}},
		{"POST", A + "/cards/" + w.bc1.ID + "/archive", nil},
		{"POST", A + "/cards/" + w.bc1.ID + "/unarchive", nil},
		{"PATCH", A + "/columns/" + w.b1.ID, map[string]any{"name": "x"}},
		{"DELETE", A + "/columns/" + w.b1.ID, nil},
		{"DELETE", A + "/columns/" + w.b1.ID + "?cards=delete", nil},
		{"DELETE", A + "/columns/" + w.b1.ID + "?cards=move&to=" + w.a2.ID, nil},
		{"POST", A + "/columns/" + w.b1.ID + "/move", map[string]any{"position": pos("to", "top")}},
		// B's ids in the body or query of a request on A's own things.
		{"POST", A + "/cards", map[string]any{"column_id": w.b1.ID, "title": "x"}},
		{"POST", A + "/cards", map[string]any{"column_id": w.a1.ID, "title": "x", "position": pos("after", w.bc1.ID)}},
		{"POST", A + "/cards", map[string]any{"column_id": w.a1.ID, "title": "x", "position": pos("before", w.bc1.ID)}},
		{"POST", A + "/cards/" + w.ac1.ID + "/move", map[string]any{"column_id": w.b1.ID}},
		{"POST", A + "/cards/" + w.ac1.ID + "/move", map[string]any{"column_id": w.b1.ID, "position": pos("to", "top")}},
		{"POST", A + "/cards/" + w.ac1.ID + "/move", map[string]any{"position": pos("after", w.bc1.ID)}},
		{"POST", A + "/cards/" + w.ac1.ID + "/move", map[string]any{"position": pos("before", w.bc1.ID)}},
		{"POST", A + "/cards/" + w.ac1.ID + "/move", map[string]any{"column_id": w.a2.ID, "position": pos("after", w.bc2.ID)}},
		{"POST", A + "/columns", map[string]any{"name": "x", "position": pos("after", w.b1.ID)}},
		{"POST", A + "/columns", map[string]any{"name": "x", "position": pos("before", w.b1.ID)}},
		{"POST", A + "/columns/" + w.a1.ID + "/move", map[string]any{"position": pos("after", w.b1.ID)}},
		{"POST", A + "/columns/" + w.a1.ID + "/move", map[string]any{"position": pos("before", w.b2.ID)}},
		{"DELETE", A + "/columns/" + w.a1.ID + "?cards=move&to=" + w.b1.ID, nil},
		// A card id where a column id belongs, and the reverse, on one board.
		{"PATCH", A + "/columns/" + w.ac1.ID, map[string]any{"name": "x"}},
		{"GET", A + "/cards/" + w.a1.ID, nil},
		{"POST", A + "/cards", map[string]any{"column_id": w.ac1.ID, "title": "x"}},
		{"POST", A + "/cards/" + w.ac1.ID + "/move", map[string]any{"position": pos("after", w.a1.ID)}},
		{"POST", A + "/columns/" + w.a1.ID + "/move", map[string]any{"position": pos("after", w.ac1.ID)}},
	}
	f := e.freeze(w.A.ID, w.B.ID)
	for _, rt := range routes {
		for _, ifMatch := range []string{"", `"1"`} {
			hdr := []string{}
			if ifMatch != "" {
				if rt.method == "GET" {
					continue
				}
				hdr = []string{"If-Match", ifMatch}
			}
			r := e.do(rt.method, rt.path, alice, rt.body, hdr...)
			if p := apitest.CheckProblem(t, r, http.StatusNotFound, board.ENotFound); t.Failed() {
				t.Fatalf("%v (If-Match %s): %+v", rt, ifMatch, p)
			}
		}
	}
	f.Check(t, "requests with foreign ids")
	// B's things are where they were: A's requests did not reach them.
	if got := e.card(w.B.ID, w.bc1.ID); got.Version != 1 || got.ColumnID != w.b1.ID || got.Archived {
		t.Errorf("B's card changed: %+v", got)
	}
}

// boardRoutes lists a request for every route under /api/boards/{board},
// with column and card ids of that board.
func boardRoutes(boardID, colID, otherColID, cardID string) []route {
	B := "/api/boards/" + boardID
	return []route{
		{"GET", B, nil},
		{"PATCH", B, map[string]any{"name": "x"}},
		{"DELETE", B, nil},
		{"GET", B + "/events", nil},
		{"GET", B + "/events?since=1&limit=5", nil},
		{"POST", B + "/columns", map[string]any{"name": "x"}},
		{"PATCH", B + "/columns/" + colID, map[string]any{"name": "x"}},
		{"POST", B + "/columns/" + colID + "/move", map[string]any{"position": map[string]any{"to": "top"}}},
		{"DELETE", B + "/columns/" + colID, nil},
		{"DELETE", B + "/columns/" + colID + "?cards=delete", nil},
		{"DELETE", B + "/columns/" + colID + "?cards=move&to=" + otherColID, nil},
		{"POST", B + "/cards", map[string]any{"column_id": colID, "title": "x"}},
		{"GET", B + "/cards/" + cardID, nil},
		{"PATCH", B + "/cards/" + cardID, map[string]any{"title": "x"}},
		{"POST", B + "/cards/" + cardID + "/move", map[string]any{"column_id": otherColID}},
		{"POST", B + "/cards/" + cardID + "/archive", nil},
		{"POST", B + "/cards/" + cardID + "/unarchive", nil},
		{"DELETE", B + "/cards/" + cardID, nil},
	}
}

// A user who is not a member of a board gets 404 from every route of it, as
// if it did not exist; so does everyone for a board that does not exist.
func TestNonMemberSeesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeTwoBoards(e)
	e.mkBoard(carol, "carol's own")
	f := e.freeze(w.A.ID, w.B.ID)
	for _, rt := range boardRoutes(w.A.ID, w.a1.ID, w.a2.ID, w.ac1.ID) {
		apitest.CheckProblem(t, e.do(rt.method, rt.path, carol, rt.body), http.StatusNotFound, board.ENotFound)
	}
	const nowhere = "00000000-0000-4000-8000-000000000000"
	for _, rt := range boardRoutes(nowhere, w.a1.ID, w.a2.ID, w.ac1.ID) {
		apitest.CheckProblem(t, e.do(rt.method, rt.path, alice, rt.body), http.StatusNotFound, board.ENotFound)
	}
	f.Check(t, "a stranger's requests")
	if t.Failed() {
		return
	}
	// Nor does the stranger see the board in a list.
	list := apitest.Must[struct{ Boards []board.Board }](t, e.do("GET", "/api/boards", carol, nil), http.StatusOK)
	if len(list.Boards) != 1 || list.Boards[0].Name != "carol's own" {
		t.Errorf("carol lists %+v", list.Boards)
	}
}

// A malformed id in a path names nothing: 404.
func TestMalformedPathIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeTwoBoards(e)
	f := e.freeze(w.A.ID, w.B.ID)
	bad := []string{"nope", "1", strings.ToUpper(w.A.ID), w.A.ID + "0", strings.ReplaceAll(w.A.ID, "-", ""),
		"%00", "..", "%E2%80%8B" + w.A.ID}
	good := boardRoutes(w.A.ID, w.a1.ID, w.a2.ID, w.ac1.ID)
	for _, id := range bad {
		// A bad board id, with good child ids.
		for _, rt := range boardRoutes(id, w.a1.ID, w.a2.ID, w.ac1.ID) {
			apitest.CheckProblem(t, e.do(rt.method, rt.path, alice, rt.body), http.StatusNotFound, board.ENotFound)
		}
		// A good board id with bad column and card ids in the path.
		for i, rt := range boardRoutes(w.A.ID, id, w.a2.ID, id) {
			if rt.path != good[i].path {
				apitest.CheckProblem(t, e.do(rt.method, rt.path, alice, rt.body), http.StatusNotFound, board.ENotFound)
			}
		}
	}
	f.Check(t, "requests with malformed ids")
}

// A viewer reads a board but changes nothing; an editor changes cards and
// columns but not the board itself.
func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeTwoBoards(e)
	e.addMember(w.A.ID, bob, board.RoleViewer)
	e.addMember(w.A.ID, carol, board.RoleEditor)
	f := e.freeze(w.A.ID, w.B.ID)
	for _, rt := range boardRoutes(w.A.ID, w.a1.ID, w.a2.ID, w.ac1.ID) {
		r := e.do(rt.method, rt.path, bob, rt.body)
		if rt.method == "GET" {
			if r.Status != http.StatusOK {
				t.Errorf("viewer %v: %v", rt, r)
			}
			continue
		}
		apitest.CheckProblem(t, r, http.StatusForbidden, board.EForbidden)
	}
	// The editor may not rename or delete the board.
	apitest.CheckProblem(t, e.do("PATCH", "/api/boards/"+w.A.ID, carol, map[string]any{"name": "mine"}), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, e.do("DELETE", "/api/boards/"+w.A.ID, carol, nil), http.StatusForbidden, board.EForbidden)
	f.Check(t, "a viewer's and an editor's forbidden requests")

	snap := e.snapshot(bob, w.A.ID)
	if snap.Board.Role != board.RoleViewer || len(snap.Cards) != 2 {
		t.Errorf("viewer's snapshot: %+v", snap)
	}
	c := apitest.Must[board.Card](t, e.do("PATCH", "/api/boards/"+w.A.ID+"/cards/"+w.ac1.ID, carol, map[string]any{"done": true}), http.StatusOK)
	if !c.Done {
		t.Errorf("editor's patch: %+v", c)
	}
}
