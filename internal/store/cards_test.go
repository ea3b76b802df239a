package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// outsiders makes a viewer of the board and a user who is no member.
func outsiders(t *testing.T, st *store.Store, owner board.Meta, boardID string) (viewer, stranger board.Meta) {
	t.Helper()
	v, err := st.CreateUser(t.Context(), "viewer", "x")
	if err != nil {
		t.Fatal(err)
	}
	must[board.Member](t)(st.AddMember(t.Context(), owner, boardID, "viewer", board.RoleViewer))
	s, err := st.CreateUser(t.Context(), "stranger", "x")
	if err != nil {
		t.Fatal(err)
	}
	return board.Meta{Actor: v.ID}, board.Meta{Actor: s.ID}
}

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
	viewer, stranger := outsiders(t, st, owner, boardID)
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
			{"viewer", viewer, c.ID, 0, board.EForbidden},
			{"stranger", stranger, c.ID, 0, board.ENotFound},
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

// TestPlacementRefusals: a move or a create, whose reads go with BEGIN and
// the board lock, refuses as it did when it read one thing at a time, in
// the same order (card, version, column, anchor), and changes nothing.
func TestPlacementRefusals(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	owner, boardID, colID := setupBoard(t, st, "owner")
	col2 := must[board.Column](t)(st.CreateColumn(ctx, owner, boardID, board.ColumnInput{Name: "second"}))
	c := must[board.Card](t)(st.CreateCard(ctx, owner, boardID, board.CardInput{ColumnID: colID, Title: "first"}))
	c2 := must[board.Card](t)(st.CreateCard(ctx, owner, boardID, board.CardInput{ColumnID: colID, Title: "second"}))
	there := must[board.Card](t)(st.CreateCard(ctx, owner, boardID, board.CardInput{ColumnID: col2.ID, Title: "there"}))
	otherOwner, otherBoard, otherCol := setupBoard(t, st, "other")
	other := must[board.Card](t)(st.CreateCard(ctx, otherOwner, otherBoard, board.CardInput{ColumnID: otherCol, Title: "elsewhere"}))
	viewer, stranger := outsiders(t, st, owner, boardID)
	before, head := allEvents(t, st, owner.Actor, boardID)
	noCard := "ca000000-0000-4000-8000-000000000000"
	after := func(id string) board.Position { return board.Position{After: id} }

	for _, tc := range []struct {
		what      string
		m         board.Meta
		card      string
		mv        board.CardMove
		ifVersion int64
		code      string
		field     string
	}{
		{"viewer", viewer, c.ID, board.CardMove{}, 0, board.EForbidden, ""},
		{"stranger", stranger, c.ID, board.CardMove{ColumnID: col2.ID}, 0, board.ENotFound, ""},
		{"card of another board", owner, other.ID, board.CardMove{}, 0, board.ENotFound, ""},
		{"card of another board, after one here", owner, other.ID, board.CardMove{Position: after(c2.ID)}, 0, board.ENotFound, ""},
		{"no such card", owner, noCard, board.CardMove{ColumnID: col2.ID}, 0, board.ENotFound, ""},
		{"stale If-Match before an unknown column", owner, c.ID, board.CardMove{ColumnID: noCard}, c.Version + 1, board.EVersionMismatch, ""},
		{"no such column", owner, c.ID, board.CardMove{ColumnID: noCard}, 0, board.ENotFound, "column_id"},
		{"column of another board", owner, c.ID, board.CardMove{ColumnID: otherCol}, 0, board.ENotFound, "column_id"},
		{"column of another board, after its card", owner, c.ID, board.CardMove{ColumnID: otherCol, Position: after(other.ID)}, 0, board.ENotFound, "column_id"},
		{"after itself before an unknown anchor", owner, c.ID, board.CardMove{Position: after(c.ID)}, 0, board.EInvalid, "position.after"},
		{"before itself", owner, c.ID, board.CardMove{ColumnID: colID, Position: board.Position{Before: c.ID}}, 0, board.EInvalid, "position.before"},
		{"after a card of another column", owner, c.ID, board.CardMove{Position: after(there.ID)}, 0, board.ENotFound, "position.after"},
		{"before a card of its old column", owner, c.ID, board.CardMove{ColumnID: col2.ID, Position: board.Position{Before: c2.ID}}, 0, board.ENotFound, "position.before"},
		{"after a card of another board", owner, c.ID, board.CardMove{Position: after(other.ID)}, 0, board.ENotFound, "position.after"},
	} {
		_, ev, err := st.MoveCard(ctx, tc.m, boardID, tc.card, tc.mv, tc.ifVersion)
		var be *board.Error
		if board.ErrorCode(err) != tc.code || ev.Seq != 0 || errors.As(err, &be) && be.Field != tc.field {
			t.Errorf("move, %s: err %v (code %q), event seq %d; want %s on %q and no event", tc.what, err,
				board.ErrorCode(err), ev.Seq, tc.code, tc.field)
		}
	}
	for _, tc := range []struct {
		what  string
		in    board.CardInput
		code  string
		field string
	}{
		{"no such column", board.CardInput{ColumnID: noCard, Title: "x"}, board.ENotFound, "column_id"},
		{"column of another board", board.CardInput{ColumnID: otherCol, Title: "x", Position: after(other.ID)}, board.ENotFound, "column_id"},
		{"after a card of another column", board.CardInput{ColumnID: colID, Title: "x", Position: after(there.ID)}, board.ENotFound, "position.after"},
		{"before a card of another board", board.CardInput{ColumnID: colID, Title: "x", Position: board.Position{Before: other.ID}}, board.ENotFound, "position.before"},
	} {
		_, ev, err := st.CreateCard(ctx, owner, boardID, tc.in)
		var be *board.Error
		if board.ErrorCode(err) != tc.code || ev.Seq != 0 || !errors.As(err, &be) || be.Field != tc.field {
			t.Errorf("create, %s: err %v (code %q), event seq %d; want %s on %q and no event", tc.what, err,
				board.ErrorCode(err), ev.Seq, tc.code, tc.field)
		}
	}
	if after, h := allEvents(t, st, owner.Actor, boardID); h != head || len(after) != len(before) {
		t.Fatalf("refused placements moved the head from %d to %d", head, h)
	}

	// Each position, in the card's own column (no column_id) and in another.
	order := func(col string) []string {
		snap, err := st.Snapshot(ctx, owner.Actor, boardID)
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, k := range snap.Cards {
			if k.ColumnID == col {
				titles = append(titles, k.Title)
			}
		}
		return titles
	}
	for _, step := range []struct {
		card string
		mv   board.CardMove
		col  string
		want []string
	}{
		{c.ID, board.CardMove{Position: board.Position{To: "bottom"}}, colID, []string{"second", "first"}},
		{c.ID, board.CardMove{Position: board.Position{To: "top"}}, colID, []string{"first", "second"}},
		{c.ID, board.CardMove{Position: after(c2.ID)}, colID, []string{"second", "first"}},
		{c.ID, board.CardMove{Position: board.Position{Before: c2.ID}}, colID, []string{"first", "second"}},
		{c2.ID, board.CardMove{ColumnID: col2.ID, Position: board.Position{Before: there.ID}}, col2.ID, []string{"second", "there"}},
		{c.ID, board.CardMove{ColumnID: col2.ID, Position: after(c2.ID)}, col2.ID, []string{"second", "first", "there"}},
		{there.ID, board.CardMove{Position: board.Position{To: "top"}}, col2.ID, []string{"there", "second", "first"}},
	} {
		got := must[board.Card](t)(st.MoveCard(ctx, owner, boardID, step.card, step.mv, 0))
		if got.ColumnID != step.col || !slices.Equal(order(step.col), step.want) {
			t.Fatalf("move %+v: card in %s, column %v; want %v", step.mv, got.ColumnID, order(step.col), step.want)
		}
	}
}
