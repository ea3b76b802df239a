package store_test

import (
	"errors"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
)

// TestUpdateCardRefusals: a card PATCH that is refused changes nothing and
// appends no event, whether its UPDATE went to the server with BEGIN and the
// board lock (a title: the pipelined path) or after them (labels, which are
// checked first); and an accepted one changes the card and appends its event.
func TestUpdateCardRefusals(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	owner, boardID, colID := setupBoard(t, st, "owner")
	c := must[board.Card](t)(st.CreateCard(ctx, owner, boardID, board.CardInput{ColumnID: colID, Title: "first"}))
	otherOwner, otherBoard, otherCol := setupBoard(t, st, "other")
	other := must[board.Card](t)(st.CreateCard(ctx, otherOwner, otherBoard, board.CardInput{ColumnID: otherCol, Title: "elsewhere"}))
	viewer, err := st.CreateUser(ctx, "viewer", "x")
	if err != nil {
		t.Fatal(err)
	}
	must[board.Member](t)(st.AddMember(ctx, owner, boardID, "viewer", board.RoleViewer))
	stranger, err := st.CreateUser(ctx, "stranger", "x")
	if err != nil {
		t.Fatal(err)
	}
	_, head := allEvents(t, st, owner.Actor, boardID)

	title := "changed"
	patches := map[string]board.CardPatch{
		"title":            {Title: &title},
		"title and labels": {Title: &title, Labels: &[]string{}},
	}
	for name, p := range patches {
		for _, tc := range []struct {
			what      string
			m         board.Meta
			card      string
			ifVersion int64
			code      string
		}{
			{"viewer", board.Meta{Actor: viewer.ID}, c.ID, 0, board.EForbidden},
			{"stranger", board.Meta{Actor: stranger.ID}, c.ID, 0, board.ENotFound},
			{"card of another board", owner, other.ID, 0, board.ENotFound},
			{"no such card", owner, "ca000000-0000-4000-8000-000000000000", 0, board.ENotFound},
			{"stale If-Match", owner, c.ID, c.Version + 1, board.EVersionMismatch},
		} {
			_, ev, err := st.UpdateCard(ctx, tc.m, boardID, tc.card, p, tc.ifVersion)
			if board.ErrorCode(err) != tc.code || ev.Seq != 0 {
				t.Errorf("%s, %s: err %v (code %q), event seq %d; want %s and no event", name, tc.what, err,
					board.ErrorCode(err), ev.Seq, tc.code)
			}
			var be *board.Error
			if tc.code == board.EVersionMismatch && (!errors.As(err, &be) || be.Current == nil) {
				t.Errorf("%s, %s: %v carries no current card", name, tc.what, err)
			}
		}
	}
	snap, err := st.Snapshot(ctx, owner.Actor, boardID)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Cards[0]; got.Title != "first" || got.Version != c.Version {
		t.Fatalf("refused PATCHes changed the card: %+v", got)
	}
	if _, h := allEvents(t, st, owner.Actor, boardID); h != head {
		t.Fatalf("refused PATCHes moved the head from %d to %d", head, h)
	}
	if got, err := st.GetCard(ctx, otherOwner.Actor, otherBoard, other.ID); err != nil || got.Title != "elsewhere" {
		t.Fatalf("the other board's card: %+v, %v", got, err)
	}

	for name, p := range patches {
		before, err := st.GetCard(ctx, owner.Actor, boardID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, ev, err := st.UpdateCard(ctx, owner, boardID, c.ID, p, before.Version)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		head++
		if got.Title != title || got.Version != before.Version+1 || ev.Seq != head || ev.Kind != board.KindCardUpdated {
			t.Fatalf("%s: card %+v, event %+v", name, got, ev)
		}
		want, _ := board.MarshalJSON(got)
		if string(ev.Data) != string(want) {
			t.Fatalf("%s: event payload %s, want %s", name, ev.Data, want)
		}
	}
}
