package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// TestActivityAPI: GET /activity pages a board's activity and, with ?card=,
// one card's, newest first, to viewers as to editors; a card of another
// board, a stranger and bad parameters are refused with problem+json.
func TestActivityAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "feed")
	e.addMember(b.ID, bob, board.RoleEditor)
	e.addMember(b.ID, carol, board.RoleViewer)
	todo := e.mkColumn(alice, b.ID, "Todo")
	done := e.mkColumn(alice, b.ID, "Done")
	card := e.mkCard(alice, b.ID, todo.ID, "Ship it")
	card2 := e.mkCard(alice, b.ID, todo.ID, "Other")
	other := e.mkBoard(alice, "other")
	otherCard := e.mkCard(alice, other.ID, e.mkColumn(alice, other.ID, "c").ID, "elsewhere")
	CP := "/api/boards/" + b.ID + "/cards/" + card.ID
	apitest.Must[board.Card](t, e.do("POST", CP+"/move", bob, map[string]any{"column_id": done.ID}), http.StatusOK)
	list := apitest.Must[board.Checklist](t, e.do("POST", CP+"/checklists", bob, map[string]any{"name": "Steps"}), http.StatusCreated)
	item := apitest.Must[board.ChecklistItem](t, e.do("POST", CP+"/checklists/"+list.ID+"/items", bob,
		map[string]any{"text": "Write tests"}), http.StatusCreated)
	apitest.Must[board.ChecklistItem](t, e.do("PATCH", CP+"/checklists/"+list.ID+"/items/"+item.ID, alice,
		map[string]any{"done": true}), http.StatusOK)
	apitest.Must[board.Comment](t, e.do("POST", "/api/boards/"+b.ID+"/cards/"+card2.ID+"/comments", bob,
		map[string]any{"text": "not about Ship it"}), http.StatusCreated)

	A := "/api/boards/" + b.ID + "/activity"
	type page struct {
		board.ActivityPage
	}
	// The board's activity, two at a time, by the viewer: every event,
	// newest first.
	var got []board.ActivityEntry
	before := int64(0)
	for range 100 {
		p := apitest.Must[page](t, e.do("GET", fmt.Sprintf("%s?limit=2&before=%d", A, before), carol, nil), http.StatusOK)
		got = append(got, p.Entries...)
		if !p.More {
			break
		}
		before = p.Next
	}
	head := e.snapshot(alice, b.ID).Seq
	if int64(len(got)) != head {
		t.Fatalf("%d entries for a log of %d events", len(got), head)
	}
	for i, en := range got {
		if en.Seq != head-int64(i) || en.BoardID != b.ID {
			t.Fatalf("entry %d: seq %d of board %s, want %d", i, en.Seq, en.BoardID, head-int64(i))
		}
	}

	// The card's: its creation, the move (from Todo), the checklist, the
	// item and its tick (not done before); not the other card's comment.
	p := apitest.Must[page](t, e.do("GET", A+"?card="+card.ID, carol, nil), http.StatusOK)
	var kinds []string
	for _, en := range p.Entries {
		kinds = append(kinds, en.Kind)
	}
	want := []string{board.KindChecklistItemUpdated, board.KindChecklistItemCreated, board.KindChecklistCreated,
		board.KindCardMoved, board.KindCardCreated}
	if fmt.Sprint(kinds) != fmt.Sprint(want) || p.More {
		t.Fatalf("card activity %v (more %v), want %v", kinds, p.More, want)
	}
	var prevItem board.ChecklistItem
	if err := json.Unmarshal(p.Entries[0].Prev, &prevItem); err != nil || prevItem.Done || prevItem.ID != item.ID {
		t.Errorf("the tick's prev %s (%v): want the item not done", p.Entries[0].Prev, err)
	}
	var prevCard board.Card
	if err := json.Unmarshal(p.Entries[3].Prev, &prevCard); err != nil || prevCard.ColumnID != todo.ID {
		t.Errorf("the move's prev %s (%v): want the card in Todo", p.Entries[3].Prev, err)
	}
	if p.Entries[4].Prev != nil {
		t.Errorf("card.created has prev %s", p.Entries[4].Prev)
	}

	// Refusals: problem+json with a stable code, and nothing changes.
	f := e.freeze(b.ID, other.ID)
	for _, tc := range []struct {
		path, user string
		status     int
		code       string
	}{
		{A + "?card=" + otherCard.ID, alice, http.StatusNotFound, board.ENotFound},
		{A + "?card=" + otherCard.ID, carol, http.StatusNotFound, board.ENotFound},
		{"/api/boards/" + other.ID + "/activity?card=" + card.ID, alice, http.StatusNotFound, board.ENotFound},
		{A, "stranger", http.StatusNotFound, board.ENotFound},
		{A + "?card=" + card.ID, "stranger", http.StatusNotFound, board.ENotFound},
		{A + "?card=not-an-id", alice, http.StatusUnprocessableEntity, board.EInvalid},
		{A + "?limit=0", alice, http.StatusUnprocessableEntity, board.EInvalid},
		{A + "?limit=101", alice, http.StatusUnprocessableEntity, board.EInvalid},
		{A + "?limit=x", alice, http.StatusUnprocessableEntity, board.EInvalid},
		{A + "?before=-1", alice, http.StatusUnprocessableEntity, board.EInvalid},
		{"/api/boards/not-an-id/activity", alice, http.StatusNotFound, board.ENotFound},
	} {
		apitest.CheckProblem(t, e.do("GET", tc.path, tc.user, nil), tc.status, tc.code)
	}
	apitest.CheckProblem(t, e.do("POST", A, alice, nil), http.StatusMethodNotAllowed, "method_not_allowed")
	f.Check(t, "refused activity requests")
}
