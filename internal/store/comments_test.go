package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// cardWorld is a board with an owner, an editor and a viewer, one column and
// two cards, and a second board with a card of its own.
type cardWorld struct {
	st                      *store.Store
	owner, editor, viewer   board.Meta
	board, col, card, card2 string
	other, otherCard        string
}

func newCardWorld(t *testing.T) *cardWorld {
	t.Helper()
	ctx := context.Background()
	st := newStore(t)
	w := &cardWorld{st: st, owner: board.Meta{Actor: "owner"}, editor: board.Meta{Actor: "ed"}, viewer: board.Meta{Actor: "vi"}}
	w.board = must[board.Board](t)(st.CreateBoard(ctx, w.owner, board.BoardInput{Name: "cards"})).ID
	for user, role := range map[string]string{"ed": board.RoleEditor, "vi": board.RoleViewer} {
		if _, err := st.Pool().Exec(ctx, `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, $2, $3)`,
			w.board, user, role); err != nil {
			t.Fatal(err)
		}
	}
	w.col = must[board.Column](t)(st.CreateColumn(ctx, w.owner, w.board, board.ColumnInput{Name: "col"})).ID
	w.card = must[board.Card](t)(st.CreateCard(ctx, w.owner, w.board, board.CardInput{ColumnID: w.col, Title: "one"})).ID
	w.card2 = must[board.Card](t)(st.CreateCard(ctx, w.owner, w.board, board.CardInput{ColumnID: w.col, Title: "two"})).ID
	w.other = must[board.Board](t)(st.CreateBoard(ctx, w.owner, board.BoardInput{Name: "other"})).ID
	ocol := must[board.Column](t)(st.CreateColumn(ctx, w.owner, w.other, board.ColumnInput{Name: "col"})).ID
	w.otherCard = must[board.Card](t)(st.CreateCard(ctx, w.owner, w.other, board.CardInput{ColumnID: ocol, Title: "other"})).ID
	return w
}

// checkReplay fails unless replaying the board's whole log gives its
// snapshot (members aside: some were added straight in SQL).
func (w *cardWorld) checkReplay(t *testing.T, boardID string) board.Snapshot {
	t.Helper()
	return w.checkReplayAs(t, w.owner.Actor, boardID)
}

func (w *cardWorld) checkReplayAs(t *testing.T, user, boardID string) board.Snapshot {
	t.Helper()
	events, _ := allEvents(t, w.st, user, boardID)
	var replayed board.Snapshot
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		if err := replayed.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := w.st.Snapshot(context.Background(), user, boardID)
	if err != nil {
		t.Fatal(err)
	}
	replayed.Members = snap.Members
	if got, want := normalized(t, replayed), normalized(t, snap); got != want {
		t.Errorf("replaying the log does not give the snapshot:\nreplayed %s\nsnapshot %s", got, want)
	}
	return snap
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := board.ErrorCode(err); got != code {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

func cardOf(t *testing.T, snap board.Snapshot, id string) board.Card {
	t.Helper()
	for _, c := range snap.Cards {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no card %s in the snapshot", id)
	return board.Card{}
}

func TestComments(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()
	in := func(s string) board.CommentInput { return board.CommentInput{Text: s} }

	first, ev, err := st.CreateComment(ctx, w.editor, w.board, w.card, in("first\nline two"))
	if err != nil {
		t.Fatal(err)
	}
	if first.AuthorID != "ed" || first.AuthorUsername != "ed" || first.Version != 1 || first.EditedAt != nil || first.CardID != w.card {
		t.Errorf("new comment %+v", first)
	}
	var change board.CardChange
	if err := json.Unmarshal(ev.Data, &change); err != nil || ev.Kind != board.KindCommentCreated ||
		change.Comment == nil || change.Comment.ID != first.ID || change.Card.CommentCount != 1 {
		t.Errorf("event %s %s (%v)", ev.Kind, ev.Data, err)
	}
	second := must[board.Comment](t)(st.CreateComment(ctx, w.owner, w.board, w.card, in("second")))
	must[board.Comment](t)(st.CreateComment(ctx, w.owner, w.board, w.card2, in("on the other card")))

	list, err := st.ListComments(ctx, "vi", w.board, w.card)
	if err != nil || len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("list = %+v, %v; want first, second", list, err)
	}

	// Viewers read but do not write; strangers see nothing.
	_, _, err = st.CreateComment(ctx, w.viewer, w.board, w.card, in("no"))
	wantCode(t, "viewer comments", err, board.EForbidden)
	_, err = st.ListComments(ctx, "stranger", w.board, w.card)
	wantCode(t, "stranger lists", err, board.ENotFound)

	// Only the author edits; If-Match is a compare-and-set.
	_, _, err = st.UpdateComment(ctx, w.owner, w.board, w.card, first.ID, in("owner's edit"), 0)
	wantCode(t, "owner edits another's comment", err, board.EForbidden)
	_, _, err = st.UpdateComment(ctx, w.editor, w.board, w.card, first.ID, in("edit"), 7)
	wantCode(t, "stale If-Match", err, board.EVersionMismatch)
	edited := must[board.Comment](t)(st.UpdateComment(ctx, w.editor, w.board, w.card, first.ID, in("edited"), 1))
	if edited.Text != "edited" || edited.Version != 2 || edited.EditedAt == nil || !edited.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("edited comment %+v", edited)
	}

	// Ids of another card or board find nothing (BOLA).
	for name, f := range map[string]func() error{
		"update under card2": func() error {
			_, _, err := st.UpdateComment(ctx, w.editor, w.board, w.card2, first.ID, in("x"), 0)
			return err
		},
		"delete under card2": func() error { _, err := st.DeleteComment(ctx, w.owner, w.board, w.card2, first.ID, 0); return err },
		"delete via the other board's card": func() error {
			_, err := st.DeleteComment(ctx, w.owner, w.other, w.otherCard, first.ID, 0)
			return err
		},
		"create on the other board's card": func() error {
			_, _, err := st.CreateComment(ctx, w.owner, w.board, w.otherCard, in("x"))
			return err
		},
		"list the other board's card": func() error { _, err := st.ListComments(ctx, "owner", w.board, w.otherCard); return err },
	} {
		wantCode(t, name, f(), board.ENotFound)
	}

	// The author deletes their own; an editor not another's; the owner any.
	_, err = st.DeleteComment(ctx, w.editor, w.board, w.card, second.ID, 0)
	wantCode(t, "editor deletes the owner's comment", err, board.EForbidden)
	if _, err := st.DeleteComment(ctx, w.owner, w.board, w.card, first.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteComment(ctx, w.owner, w.board, w.card, second.ID, 1); err != nil {
		t.Fatal(err)
	}
	third := must[board.Comment](t)(st.CreateComment(ctx, w.editor, w.board, w.card, in("third")))
	if _, err := st.DeleteComment(ctx, w.editor, w.board, w.card, third.ID, 0); err != nil {
		t.Fatal(err)
	}
	must[board.Comment](t)(st.CreateComment(ctx, w.editor, w.board, w.card, in("last")))

	snap := w.checkReplay(t, w.board)
	if c := cardOf(t, snap, w.card); c.CommentCount != 1 || c.Version != 1 {
		t.Errorf("card has comment_count %d, version %d; want 1, 1", c.CommentCount, c.Version)
	}
	if c, err := st.GetCard(ctx, "vi", w.board, w.card2); err != nil || c.CommentCount != 1 {
		t.Errorf("GetCard: comment_count %d, %v; want 1", c.CommentCount, err)
	}

	// A full card takes no more.
	if _, err := st.Pool().Exec(ctx, `UPDATE cards SET comment_count = $2 WHERE id = $1`, w.card2, board.MaxCommentsPerCard); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.CreateComment(ctx, w.editor, w.board, w.card2, in("one too many"))
	wantCode(t, "comment on a full card", err, board.EConflict)

	// Deleting the card takes its comments.
	if _, err := st.DeleteCard(ctx, w.owner, w.board, w.card, 0); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM comments WHERE card_id = $1`, w.card).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d comments left on a deleted card (%v)", n, err)
	}
}
