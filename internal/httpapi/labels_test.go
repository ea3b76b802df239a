package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

func TestLabelsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "labels")
	e.addMember(b.ID, bob, board.RoleEditor)
	e.addMember(b.ID, carol, board.RoleViewer)
	col := e.mkColumn(alice, b.ID, "todo")
	card := e.mkCard(alice, b.ID, col.ID, "card")
	other := e.mkBoard(alice, "other")
	L := "/api/boards/" + b.ID + "/labels"

	r := e.do("POST", L, bob, map[string]any{"name": "<b>Bug</b>", "color": "red"}, "X-Op-Id", "op-l1")
	bug := apitest.Must[board.Label](t, r, http.StatusCreated)
	if r.Header.Get("Location") != L+"/"+bug.ID || r.Header.Get("ETag") != `"1"` || bug.Name != "<b>Bug</b>" || bug.Color != "red" {
		t.Errorf("created %+v, headers %v", bug, r.Header)
	}
	if ev := e.lastEvent(b.ID); ev.Kind != board.KindLabelCreated || ev.OpID != "op-l1" || ev.Actor != bob {
		t.Errorf("event %+v", ev)
	}
	ux := apitest.Must[board.Label](t, e.do("POST", L, alice, map[string]any{"name": "UX"}), http.StatusCreated)
	if ux.Color != board.LabelColor("UX") {
		t.Errorf("UX got colour %s, want the derived %s", ux.Color, board.LabelColor("UX"))
	}
	theirs := apitest.Must[board.Label](t, e.do("POST", "/api/boards/"+other.ID+"/labels", alice, map[string]any{"name": "Bug"}), http.StatusCreated)

	// The snapshot and the list carry the labels, by name.
	if snap := e.snapshot(carol, b.ID); len(snap.Labels) != 2 || snap.Labels[0].ID != bug.ID || snap.Labels[1].ID != ux.ID {
		t.Errorf("snapshot labels %+v", snap.Labels)
	}
	list := apitest.Must[struct{ Labels []board.Label }](t, e.do("GET", L, carol, nil), http.StatusOK)
	if len(list.Labels) != 2 {
		t.Errorf("list %+v", list)
	}

	// A card takes labels of its board.
	r = e.do("PATCH", "/api/boards/"+b.ID+"/cards/"+card.ID, bob, map[string]any{"labels": []string{ux.ID, bug.ID}})
	if c := apitest.Must[board.Card](t, r, http.StatusOK); !slices.Equal(c.Labels, []string{ux.ID, bug.ID}) {
		t.Errorf("card labels %v", c.Labels)
	}

	// Refusals change nothing.
	f := e.freeze(b.ID, other.ID)
	C := "/api/boards/" + b.ID + "/cards/" + card.ID
	for _, tc := range []struct {
		method, path, user string
		body               any
		status             int
		code, field        string
	}{
		{"POST", L, carol, map[string]any{"name": "viewer's"}, http.StatusForbidden, board.EForbidden, ""},
		{"GET", L, "stranger", nil, http.StatusNotFound, board.ENotFound, ""},
		{"POST", L, bob, map[string]any{"name": "<B>bug</b>"}, http.StatusConflict, board.EConflict, "name"},
		{"POST", L, bob, map[string]any{"name": "x", "color": "mauve"}, http.StatusUnprocessableEntity, board.EInvalid, "color"},
		{"POST", L, bob, map[string]any{"name": strings.Repeat("é", board.MaxLabelLen+1)}, http.StatusUnprocessableEntity, board.EInvalid, "name"},
		{"POST", L, bob, map[string]any{"name": " "}, http.StatusUnprocessableEntity, board.EInvalid, "name"},
		{"POST", L, bob, map[string]any{"name": "x", "colour": "red"}, http.StatusUnprocessableEntity, board.EInvalid, ""},
		{"PATCH", L + "/" + bug.ID, bob, map[string]any{}, http.StatusUnprocessableEntity, board.EInvalid, ""},
		{"PATCH", L + "/" + bug.ID, bob, map[string]any{"name": "ux"}, http.StatusConflict, board.EConflict, "name"},
		{"PATCH", L + "/" + bug.ID, bob, map[string]any{"color": "Red"}, http.StatusUnprocessableEntity, board.EInvalid, "color"},
		// BOLA: another board's label under this board, and the reverse.
		{"PATCH", L + "/" + theirs.ID, bob, map[string]any{"name": "mine"}, http.StatusNotFound, board.ENotFound, ""},
		{"DELETE", L + "/" + theirs.ID, alice, nil, http.StatusNotFound, board.ENotFound, ""},
		{"PATCH", "/api/boards/" + other.ID + "/labels/" + bug.ID, alice, map[string]any{"name": "mine"}, http.StatusNotFound, board.ENotFound, ""},
		{"DELETE", L + "/not-an-id", alice, nil, http.StatusNotFound, board.ENotFound, ""},
		// A card names labels of its own board only: 422, naming labels.
		{"PATCH", C, bob, map[string]any{"labels": []string{theirs.ID}}, http.StatusUnprocessableEntity, board.EInvalid, "labels"},
		{"PATCH", C, bob, map[string]any{"labels": []string{bug.ID, theirs.ID}}, http.StatusUnprocessableEntity, board.EInvalid, "labels"},
		{"PATCH", C, bob, map[string]any{"labels": []string{"00000000-0000-4000-8000-000000000000"}}, http.StatusUnprocessableEntity, board.EInvalid, "labels"},
		{"PATCH", C, bob, map[string]any{"labels": []string{"Bug"}}, http.StatusUnprocessableEntity, board.EInvalid, "labels"},
		{"PATCH", C, bob, map[string]any{"labels": []string{bug.ID, bug.ID}}, http.StatusUnprocessableEntity, board.EInvalid, "labels"},
		{"POST", "/api/boards/" + b.ID + "/cards", bob, map[string]any{"column_id": col.ID, "title": "t", "labels": []string{theirs.ID}},
			http.StatusUnprocessableEntity, board.EInvalid, "labels"},
	} {
		p := apitest.CheckProblem(t, e.do(tc.method, tc.path, tc.user, tc.body), tc.status, tc.code)
		if tc.field != "" && p.Field != tc.field {
			t.Errorf("%s %s %v: field %q, want %q", tc.method, tc.path, tc.body, p.Field, tc.field)
		}
	}
	apitest.CheckProblem(t, e.do("PATCH", L+"/"+bug.ID, bob, map[string]any{"name": "stale"}, "If-Match", `"2"`),
		http.StatusPreconditionFailed, board.EVersionMismatch)
	f.Check(t, "refused label requests")

	// Rename and recolour with If-Match; an idempotent retry replays.
	r = e.do("PATCH", L+"/"+bug.ID, bob, map[string]any{"name": "Bug", "color": "orange"}, "If-Match", `"1"`, "Idempotency-Key", "k1")
	renamed := apitest.Must[board.Label](t, r, http.StatusOK)
	if renamed.Name != "Bug" || renamed.Color != "orange" || renamed.Version != 2 || r.Header.Get("ETag") != `"2"` {
		t.Errorf("renamed %+v", renamed)
	}
	r = e.do("PATCH", L+"/"+bug.ID, bob, map[string]any{"name": "Bug", "color": "orange"}, "If-Match", `"1"`, "Idempotency-Key", "k1")
	if again := apitest.Must[board.Label](t, r, http.StatusOK); again != renamed || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay %+v", again)
	}
	if ev := e.lastEvent(b.ID); ev.Kind != board.KindLabelUpdated {
		t.Errorf("event %+v", ev)
	}
	// The card still names the label, which the snapshot now shows renamed.
	if snap := e.snapshot(carol, b.ID); snap.Labels[0].Name != "Bug" || !slices.Contains(snap.Cards[0].Labels, bug.ID) {
		t.Errorf("snapshot %+v", snap)
	}

	// Delete: 204, one event, the card loses the label.
	seq := e.seq(b.ID)
	r = e.do("DELETE", L+"/"+bug.ID, alice, nil, "If-Match", `"2"`)
	if r.Status != http.StatusNoContent {
		t.Fatalf("delete: %v", r)
	}
	ev := e.lastEvent(b.ID)
	var d board.LabelDeleted
	if err := json.Unmarshal(ev.Data, &d); err != nil || ev.Seq != seq+1 || ev.Kind != board.KindLabelDeleted ||
		d.ID != bug.ID || !slices.Equal(d.Cards, []string{card.ID}) {
		t.Errorf("delete event %+v", ev)
	}
	if c := e.card(b.ID, card.ID); !slices.Equal(c.Labels, []string{ux.ID}) {
		t.Errorf("card labels after the delete: %v", c.Labels)
	}
	apitest.CheckProblem(t, e.do("DELETE", L+"/"+bug.ID, alice, nil), http.StatusNotFound, board.ENotFound)
}
