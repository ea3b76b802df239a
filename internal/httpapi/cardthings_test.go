package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

func TestCommentsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "talk")
	e.addMember(b.ID, bob, board.RoleEditor)
	e.addMember(b.ID, carol, board.RoleViewer)
	col := e.mkColumn(alice, b.ID, "todo")
	card := e.mkCard(alice, b.ID, col.ID, "card")
	card2 := e.mkCard(alice, b.ID, col.ID, "card 2")
	other := e.mkBoard(alice, "other")
	otherCard := e.mkCard(alice, other.ID, e.mkColumn(alice, other.ID, "c").ID, "other")
	C := "/api/boards/" + b.ID + "/cards/" + card.ID + "/comments"

	r := e.do("POST", C, bob, map[string]any{"text": "hello <b>there</b>\nsee https://example.com"}, "X-Op-Id", "op-c1")
	c := apitest.Must[board.Comment](t, r, http.StatusCreated)
	if r.Header.Get("Location") != C+"/"+c.ID || r.Header.Get("ETag") != `"1"` || c.AuthorID != bob || c.EditedAt != nil {
		t.Errorf("created %+v, headers %v", c, r.Header)
	}
	ev := e.lastEvent(b.ID)
	var change board.CardChange
	if err := json.Unmarshal(ev.Data, &change); err != nil || ev.Kind != board.KindCommentCreated || ev.OpID != "op-c1" ||
		ev.Actor != bob || change.Comment == nil || change.Comment.Text != c.Text || change.Card.CommentCount != 1 {
		t.Errorf("event %+v (%v)", ev, err)
	}
	if got := e.card(b.ID, card.ID); got.CommentCount != 1 {
		t.Errorf("card comment_count %d", got.CommentCount)
	}
	if snap := e.snapshot(carol, b.ID); snap.Cards[0].CommentCount != 1 {
		t.Errorf("snapshot comment_count %d", snap.Cards[0].CommentCount)
	}
	list := apitest.Must[struct{ Comments []board.Comment }](t, e.do("GET", C, carol, nil), http.StatusOK)
	if len(list.Comments) != 1 || list.Comments[0].ID != c.ID {
		t.Errorf("list %+v", list)
	}

	// Refusals change nothing.
	f := e.freeze(b.ID, other.ID)
	apitest.CheckProblem(t, e.do("POST", C, carol, map[string]any{"text": "viewer"}), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, e.do("GET", C, "stranger", nil), http.StatusNotFound, board.ENotFound)
	p := apitest.CheckProblem(t, e.do("POST", C, bob, map[string]any{"text": strings.Repeat("é", board.MaxCommentLen+1)}),
		http.StatusUnprocessableEntity, board.EInvalid)
	if p.Field != "text" || !strings.Contains(p.Detail, "the limit is 10000") {
		t.Errorf("oversized comment: %+v", p)
	}
	apitest.CheckProblem(t, e.do("POST", C, bob, map[string]any{"text": strings.Repeat("x", board.MaxBodyBytes)}),
		http.StatusRequestEntityTooLarge, board.ETooLarge)
	apitest.CheckProblem(t, e.do("POST", C, bob, map[string]any{"text": " \n\t "}), http.StatusUnprocessableEntity, board.EInvalid)
	apitest.CheckProblem(t, e.do("POST", C, bob, "{\"text\": \"\xff\"}"), http.StatusBadRequest, board.EMalformed)
	apitest.CheckProblem(t, e.do("POST", C, bob, map[string]any{"text": "x", "html": true}), http.StatusUnprocessableEntity, board.EInvalid)
	apitest.CheckProblem(t, e.do("PATCH", C+"/"+c.ID, alice, map[string]any{"text": "not mine"}), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, e.do("PATCH", C+"/"+c.ID, bob, map[string]any{"text": "stale"}, "If-Match", `"2"`),
		http.StatusPreconditionFailed, board.EVersionMismatch)
	// BOLA: the comment under another card, another board, or a card of
	// another board.
	for _, path := range []string{
		"/api/boards/" + b.ID + "/cards/" + card2.ID + "/comments/" + c.ID,
		"/api/boards/" + other.ID + "/cards/" + otherCard.ID + "/comments/" + c.ID,
		"/api/boards/" + b.ID + "/cards/" + otherCard.ID + "/comments/" + c.ID,
		C + "/not-an-id",
	} {
		apitest.CheckProblem(t, e.do("PATCH", path, bob, map[string]any{"text": "x"}), http.StatusNotFound, board.ENotFound)
		apitest.CheckProblem(t, e.do("DELETE", path, alice, nil), http.StatusNotFound, board.ENotFound)
	}
	apitest.CheckProblem(t, e.do("POST", "/api/boards/"+b.ID+"/cards/"+otherCard.ID+"/comments", bob, map[string]any{"text": "x"}),
		http.StatusNotFound, board.ENotFound)
	f.Check(t, "refused comment requests")

	// Edit (with If-Match), idempotent retry, delete by the owner.
	r = e.do("PATCH", C+"/"+c.ID, bob, map[string]any{"text": "edited"}, "If-Match", `"1"`)
	if ed := apitest.Must[board.Comment](t, r, http.StatusOK); ed.Version != 2 || ed.EditedAt == nil || r.Header.Get("ETag") != `"2"` {
		t.Errorf("edited %+v", ed)
	}
	first := apitest.Must[board.Comment](t, e.do("POST", C, bob, map[string]any{"text": "once"}, "Idempotency-Key", "k1"), http.StatusCreated)
	r = e.do("POST", C, bob, map[string]any{"text": "once"}, "Idempotency-Key", "k1")
	if again := apitest.Must[board.Comment](t, r, http.StatusCreated); again.ID != first.ID || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %+v", again)
	}
	if n := e.count(`SELECT count(*) FROM comments WHERE card_id = $1`, card.ID); n != 2 {
		t.Errorf("%d comments after a replayed create, want 2", n)
	}
	if r := e.do("DELETE", C+"/"+c.ID, alice, nil); r.Status != http.StatusNoContent {
		t.Errorf("owner deletes: %v", r)
	}
	apitest.CheckProblem(t, e.do("DELETE", C+"/"+first.ID, carol, nil), http.StatusForbidden, board.EForbidden)
	if r := e.do("DELETE", C+"/"+first.ID, bob, nil); r.Status != http.StatusNoContent {
		t.Errorf("author deletes: %v", r)
	}
	if ev := e.lastEvent(b.ID); ev.Kind != board.KindCommentDeleted || !strings.Contains(string(ev.Data), first.ID) {
		t.Errorf("last event %s %s", ev.Kind, ev.Data)
	}
	if got := e.card(b.ID, card.ID); got.CommentCount != 0 || got.Version != 1 {
		t.Errorf("card comment_count %d version %d", got.CommentCount, got.Version)
	}
}

func TestChecklistsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "lists")
	e.addMember(b.ID, carol, board.RoleViewer)
	col := e.mkColumn(alice, b.ID, "todo")
	card := e.mkCard(alice, b.ID, col.ID, "card")
	card2 := e.mkCard(alice, b.ID, col.ID, "card 2")
	L := "/api/boards/" + b.ID + "/cards/" + card.ID + "/checklists"

	r := e.do("POST", L, alice, map[string]any{"name": "Ship"})
	list := apitest.Must[board.Checklist](t, r, http.StatusCreated)
	if r.Header.Get("Location") != L+"/"+list.ID || list.Items == nil {
		t.Errorf("created %+v, %v", list, r.Header)
	}
	I := L + "/" + list.ID + "/items"
	r = e.do("POST", I, alice, map[string]any{"text": "write"})
	a := apitest.Must[board.ChecklistItem](t, r, http.StatusCreated)
	if r.Header.Get("Location") != I+"/"+a.ID {
		t.Errorf("Location %s", r.Header.Get("Location"))
	}
	bItem := apitest.Must[board.ChecklistItem](t, e.do("POST", I, alice, map[string]any{"text": "test", "position": map[string]any{"to": "top"}}), http.StatusCreated)
	ticked := apitest.Must[board.ChecklistItem](t, e.do("PATCH", I+"/"+a.ID, alice, map[string]any{"done": true}, "If-Match", `"1"`), http.StatusOK)
	if !ticked.Done || ticked.Text != "write" || ticked.Version != 2 {
		t.Errorf("ticked %+v", ticked)
	}
	apitest.Must[board.ChecklistItem](t, e.do("POST", I+"/"+a.ID+"/move", alice, map[string]any{"position": map[string]any{"before": bItem.ID}}), http.StatusOK)
	got := apitest.Must[struct{ Checklists []board.Checklist }](t, e.do("GET", L, carol, nil), http.StatusOK)
	if len(got.Checklists) != 1 || len(got.Checklists[0].Items) != 2 || got.Checklists[0].Items[0].ID != a.ID {
		t.Errorf("checklists %+v", got)
	}
	if c := e.card(b.ID, card.ID); c.ChecklistDone != 1 || c.ChecklistTotal != 2 {
		t.Errorf("card progress %d/%d", c.ChecklistDone, c.ChecklistTotal)
	}

	otherList := apitest.Must[board.Checklist](t, e.do("POST", "/api/boards/"+b.ID+"/cards/"+card2.ID+"/checklists", alice,
		map[string]any{"name": "other"}), http.StatusCreated)
	f := e.freeze(b.ID)
	apitest.CheckProblem(t, e.do("PATCH", I+"/"+a.ID, carol, map[string]any{"done": false}), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, e.do("PATCH", I+"/"+a.ID, alice, map[string]any{}), http.StatusUnprocessableEntity, board.EInvalid)
	apitest.CheckProblem(t, e.do("PATCH", I+"/"+a.ID, alice, map[string]any{"done": nil}), http.StatusUnprocessableEntity, board.EInvalid)
	apitest.CheckProblem(t, e.do("PATCH", I+"/"+a.ID, alice, map[string]any{"text": strings.Repeat("x", board.MaxItemLen+1)}),
		http.StatusUnprocessableEntity, board.EInvalid)
	apitest.CheckProblem(t, e.do("PATCH", I+"/"+a.ID, alice, map[string]any{"done": true}, "If-Match", `"1"`),
		http.StatusPreconditionFailed, board.EVersionMismatch)
	// The item under another card's checklist, the checklist under another
	// card, a move into another card's checklist.
	other := "/api/boards/" + b.ID + "/cards/" + card2.ID + "/checklists/" + otherList.ID + "/items/" + a.ID
	apitest.CheckProblem(t, e.do("PATCH", other, alice, map[string]any{"done": false}), http.StatusNotFound, board.ENotFound)
	apitest.CheckProblem(t, e.do("PATCH", L+"/"+otherList.ID, alice, map[string]any{"name": "x"}), http.StatusNotFound, board.ENotFound)
	p := apitest.CheckProblem(t, e.do("POST", I+"/"+a.ID+"/move", alice, map[string]any{"checklist_id": otherList.ID}), http.StatusNotFound, board.ENotFound)
	if p.Field != "checklist_id" {
		t.Errorf("move into another card's checklist: field %q", p.Field)
	}
	f.Check(t, "refused checklist requests")

	apitest.Must[board.Checklist](t, e.do("PATCH", L+"/"+list.ID, alice, map[string]any{"name": "Shipped"}), http.StatusOK)
	if r := e.do("DELETE", I+"/"+bItem.ID, alice, nil); r.Status != http.StatusNoContent {
		t.Errorf("delete item: %v", r)
	}
	if r := e.do("DELETE", L+"/"+list.ID, alice, nil); r.Status != http.StatusNoContent {
		t.Errorf("delete checklist: %v", r)
	}
	if c := e.card(b.ID, card.ID); c.ChecklistDone != 0 || c.ChecklistTotal != 0 {
		t.Errorf("card progress %d/%d after deleting the checklist", c.ChecklistDone, c.ChecklistTotal)
	}
}
