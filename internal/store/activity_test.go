package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// activityAll pages through the activity with limit, returning every entry
// newest first.
func activityAll(t *testing.T, st *store.Store, user, boardID, card string, limit int) []board.ActivityEntry {
	t.Helper()
	var all []board.ActivityEntry
	q := board.ActivityQuery{Card: card, Limit: limit}
	for range 1000 {
		p, err := st.Activity(context.Background(), user, boardID, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) > limit {
			t.Fatalf("a page of limit %d has %d entries", limit, len(p.Entries))
		}
		all = append(all, p.Entries...)
		if !p.More {
			return all
		}
		if len(p.Entries) == 0 || p.Next != p.Entries[len(p.Entries)-1].Seq {
			t.Fatalf("page with more: %d entries, next %d", len(p.Entries), p.Next)
		}
		q.Before = p.Next
	}
	t.Fatal("activity pages never end")
	return nil
}

func seqs(es []board.ActivityEntry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// prevOf decodes the entry's prev into v; false when there is none.
func prevOf(t *testing.T, e board.ActivityEntry, v any) bool {
	t.Helper()
	if len(e.Prev) == 0 || string(e.Prev) == "null" {
		return false
	}
	if err := json.Unmarshal(e.Prev, v); err != nil {
		t.Fatalf("prev of %s %d: %v", e.Kind, e.Seq, err)
	}
	return true
}

// TestActivity: the board's feed is its log newest first without the
// respacings, paged without repeats or gaps at any limit; a card's feed is
// the events about that card (its own, its comments and checklists, the
// deletion of its column), and each change carries the state it started
// from.
func TestActivity(t *testing.T) {
	ctx := context.Background()
	w := newCardWorld(t)
	st := w.st
	col2 := must[board.Column](t)(st.CreateColumn(ctx, w.owner, w.board, board.ColumnInput{Name: "Doing"})).ID
	must[board.Card](t)(st.MoveCard(ctx, w.editor, w.board, w.card, board.CardMove{ColumnID: col2}, 0))
	list := must[board.Checklist](t)(st.CreateChecklist(ctx, w.editor, w.board, w.card, board.ChecklistInput{Name: "Steps"}))
	item := must[board.ChecklistItem](t)(st.CreateItem(ctx, w.editor, w.board, w.card, list.ID, board.ItemInput{Text: "Write tests"}))
	yes := true
	must[board.ChecklistItem](t)(st.UpdateItem(ctx, w.editor, w.board, w.card, list.ID, item.ID, board.ItemPatch{Done: &yes}, 0))
	cm := must[board.Comment](t)(st.CreateComment(ctx, w.owner, w.board, w.card2, board.CommentInput{Text: "on the other card"}))
	if _, err := st.DeleteComment(ctx, w.owner, w.board, w.card2, cm.ID, 0); err != nil {
		t.Fatal(err)
	}
	name := "Done"
	must[board.Column](t)(st.UpdateColumn(ctx, w.owner, w.board, col2, board.ColumnPatch{Name: &name}, 0))
	// The first column goes, with card2 moved into the renamed one.
	if _, err := st.DeleteColumn(ctx, w.owner, w.board, w.col, board.ColumnDelete{Cards: board.CardsMove, To: col2}, 0); err != nil {
		t.Fatal(err)
	}
	title := "gone soon"
	must[board.Card](t)(st.UpdateCard(ctx, w.owner, w.board, w.card2, board.CardPatch{Title: &title}, 0))
	if _, err := st.DeleteCard(ctx, w.owner, w.board, w.card2, 0); err != nil {
		t.Fatal(err)
	}
	// A card of another board, and events of it, change nothing here.
	must[board.Comment](t)(st.CreateComment(ctx, w.owner, w.other, w.otherCard, board.CommentInput{Text: "elsewhere"}))

	events, _ := allEvents(t, st, w.owner.Actor, w.board)
	var want []int64
	for _, e := range slices.Backward(events) {
		if e.Kind != board.KindCardsRespaced && e.Kind != board.KindColumnsRespaced {
			want = append(want, e.Seq)
		}
	}
	for _, limit := range []int{1, 2, 3, 7, 100} {
		if got := seqs(activityAll(t, st, w.viewer.Actor, w.board, "", limit)); !slices.Equal(got, want) {
			t.Errorf("board activity at limit %d: %v, want %v", limit, got, want)
		}
	}

	all := activityAll(t, st, w.owner.Actor, w.board, "", 100)
	byKind := map[string][]board.ActivityEntry{}
	for _, e := range all {
		byKind[e.Kind] = append(byKind[e.Kind], e)
		if e.Kind == board.KindCardCreated || e.Kind == board.KindCommentCreated || e.Kind == board.KindBoardCreated {
			if len(e.Prev) != 0 {
				t.Errorf("%s %d has prev %s", e.Kind, e.Seq, e.Prev)
			}
		}
	}
	var c board.Card
	if mv := byKind[board.KindCardMoved]; len(mv) != 1 || !prevOf(t, mv[0], &c) || c.ColumnID != w.col {
		t.Errorf("card.moved: prev %+v, want the card in column %s", c, w.col)
	}
	var it board.ChecklistItem
	if up := byKind[board.KindChecklistItemUpdated]; len(up) != 1 || !prevOf(t, up[0], &it) || it.Done || it.Text != "Write tests" {
		t.Errorf("checklist_item.updated: prev %+v, want the item not done", it)
	}
	var gone board.Comment
	if del := byKind[board.KindCommentDeleted]; len(del) != 1 || !prevOf(t, del[0], &gone) || gone.Text != "on the other card" {
		t.Errorf("comment.deleted: prev %+v, want the comment", gone)
	}
	var col board.Column
	if up := byKind[board.KindColumnUpdated]; len(up) != 1 || !prevOf(t, up[0], &col) || col.Name != "Doing" {
		t.Errorf("column.updated: prev %+v, want the column named Doing", col)
	}
	col = board.Column{}
	if del := byKind[board.KindColumnDeleted]; len(del) != 1 || !prevOf(t, del[0], &col) || col.Name != "col" {
		t.Errorf("column.deleted: prev %+v, want the column named col", col)
	}
	c = board.Card{}
	if del := byKind[board.KindCardDeleted]; len(del) != 1 || !prevOf(t, del[0], &c) || c.Title != "gone soon" {
		t.Errorf("card.deleted: prev %+v, want the card titled 'gone soon'", c)
	}

	// The card's own feed: its events and its checklist's, nothing of the
	// other card's; card2's deletion of column includes its move.
	var wantCard []int64
	for _, e := range all {
		var d struct {
			ID   string `json:"id"`
			Card struct {
				ID string `json:"id"`
			} `json:"card"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		isCardKind := e.Kind == board.KindCardCreated || e.Kind == board.KindCardMoved || e.Kind == board.KindCardUpdated
		if (isCardKind && d.ID == w.card) || d.Card.ID == w.card {
			wantCard = append(wantCard, e.Seq)
		}
	}
	for _, limit := range []int{1, 2, 100} {
		if got := seqs(activityAll(t, st, w.viewer.Actor, w.board, w.card, limit)); !slices.Equal(got, wantCard) {
			t.Errorf("card activity at limit %d: %v, want %v", limit, got, wantCard)
		}
	}
	// card2 is gone; a card that was in the deleted column sees the
	// deletion: make a third card there first on a fresh column.
	c3col := must[board.Column](t)(st.CreateColumn(ctx, w.owner, w.board, board.ColumnInput{Name: "Later"})).ID
	c3 := must[board.Card](t)(st.CreateCard(ctx, w.owner, w.board, board.CardInput{ColumnID: c3col, Title: "three"})).ID
	ev, err := st.DeleteColumn(ctx, w.owner, w.board, c3col, board.ColumnDelete{Cards: board.CardsMove, To: col2}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := activityAll(t, st, w.owner.Actor, w.board, c3, 100)
	if len(got) != 2 || got[0].Seq != ev.Seq || got[0].Kind != board.KindColumnDeleted || got[1].Kind != board.KindCardCreated {
		t.Errorf("card activity of a card whose column was deleted: %v", got)
	}
}

// TestActivityUsers: a page names the username of every actor, a user who
// has left the board included.
func TestActivityUsers(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	ann := must1[board.User](t)(st.CreateUser(ctx, "ann", "x"))
	ben := must1[board.User](t)(st.CreateUser(ctx, "ben", "x"))
	b := must[board.Board](t)(st.CreateBoard(ctx, board.Meta{Actor: ann.ID}, board.BoardInput{Name: "b"}))
	must[board.Member](t)(st.AddMember(ctx, board.Meta{Actor: ann.ID}, b.ID, "ben", board.RoleEditor))
	must[board.Column](t)(st.CreateColumn(ctx, board.Meta{Actor: ben.ID}, b.ID, board.ColumnInput{Name: "c"}))
	if _, err := st.RemoveMember(ctx, board.Meta{Actor: ann.ID}, b.ID, ben.ID); err != nil {
		t.Fatal(err)
	}
	p, err := st.Activity(ctx, ann.ID, b.ID, board.ActivityQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Users) != 2 || p.Users[ann.ID] != "ann" || p.Users[ben.ID] != "ben" {
		t.Errorf("users %v, want ann and ben", p.Users)
	}
	if len(p.Entries) != 4 || p.More || p.Next != 1 {
		t.Errorf("page: %d entries, more %v, next %d", len(p.Entries), p.More, p.Next)
	}
}

// TestActivityRefused: non-members, a card of another board, a card that
// does not exist and bad limits are refused; viewers read.
func TestActivityRefused(t *testing.T) {
	ctx := context.Background()
	w := newCardWorld(t)
	for _, tc := range []struct {
		what, user, board string
		q                 board.ActivityQuery
		code              string
	}{
		{"non-member", "stranger", w.board, board.ActivityQuery{Limit: 10}, board.ENotFound},
		{"non-member, card", "stranger", w.board, board.ActivityQuery{Card: w.card, Limit: 10}, board.ENotFound},
		{"card of another board", w.owner.Actor, w.board, board.ActivityQuery{Card: w.otherCard, Limit: 10}, board.ENotFound},
		{"card of another board, from its board's viewer", w.viewer.Actor, w.board, board.ActivityQuery{Card: w.otherCard, Limit: 10}, board.ENotFound},
		{"no such card", w.owner.Actor, w.board, board.ActivityQuery{Card: "00000000-0000-0000-0000-000000000000", Limit: 10}, board.ENotFound},
		{"limit 0", w.owner.Actor, w.board, board.ActivityQuery{}, board.EInvalid},
		{"limit too big", w.owner.Actor, w.board, board.ActivityQuery{Limit: board.MaxActivityLimit + 1}, board.EInvalid},
		{"negative before", w.owner.Actor, w.board, board.ActivityQuery{Before: -1, Limit: 10}, board.EInvalid},
	} {
		_, err := w.st.Activity(ctx, tc.user, tc.board, tc.q)
		wantCode(t, tc.what, err, tc.code)
	}
	p, err := w.st.Activity(ctx, w.viewer.Actor, w.board, board.ActivityQuery{Card: w.card, Limit: 10})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Kind != board.KindCardCreated {
		t.Errorf("viewer reading a card's activity: %v, %+v", err, p)
	}
}

func must1[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestActivityPageBytes: a page holds no more than board.MaxEventsPageBytes
// of payloads and prevs, ending early with more, and paging on still gives
// every entry once.
func TestActivityPageBytes(t *testing.T) {
	ctx := context.Background()
	w := newCardWorld(t)
	for i := range 80 {
		desc := fmt.Sprintf("%d%s", i, strings.Repeat("<", board.MaxDescriptionLen-3))
		must[board.Card](t)(w.st.UpdateCard(ctx, w.owner, w.board, w.card, board.CardPatch{Description: &desc}, 0))
	}
	p, err := w.st.Activity(ctx, w.owner.Actor, w.board, board.ActivityQuery{Card: w.card, Limit: board.MaxActivityLimit})
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, e := range p.Entries {
		size += len(e.Data) + len(e.Prev) + board.EventOverheadBytes
	}
	if !p.More || len(p.Entries) >= 80 || size > board.MaxEventsPageBytes {
		t.Errorf("a page of %d entries, %d bytes, more %v: want it cut at %d bytes", len(p.Entries), size, p.More, board.MaxEventsPageBytes)
	}
	if got := activityAll(t, w.st, w.owner.Actor, w.board, w.card, board.MaxActivityLimit); len(got) != 81 {
		t.Errorf("paging gives %d entries, want 81", len(got))
	}
}

// TestActivityPagingWhileWriting: four writers append events while a reader
// pages from the newest entry back to the first: every event up to the
// first page's newest is read exactly once, in order, whatever is committed
// meanwhile.
func TestActivityPagingWhileWriting(t *testing.T) {
	ctx := context.Background()
	w := newCardWorld(t)
	for range 40 { // something to page through before the writers start
		title := "before"
		must[board.Card](t)(w.st.UpdateCard(ctx, w.owner, w.board, w.card2, board.CardPatch{Title: &title}, 0))
	}
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			for n := 0; n < 50; n++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				title := fmt.Sprintf("writer %d #%d", i, n)
				if _, _, err := w.st.UpdateCard(ctx, w.editor, w.board, w.card, board.CardPatch{Title: &title}, 0); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var seen []int64
	q := board.ActivityQuery{Limit: 3}
	for pages := 0; ; pages++ {
		p, err := w.st.Activity(ctx, w.viewer.Actor, w.board, q)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, seqs(p.Entries)...)
		if !p.More || pages > 1000 {
			break
		}
		q.Before = p.Next
	}
	close(stop)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != 1 {
		t.Fatalf("paging ended at %v", seen[max(0, len(seen)-3):])
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] != seen[i-1]-1 {
			t.Fatalf("entry %d has seq %d after %d: a repeat or a gap", i, seen[i], seen[i-1])
		}
	}
}

// TestActivityLabels: a label's deletion is in the activity of the cards
// that had it, with the label as it was (prev). The label events are
// written into the log directly here, as the label routes would.
func TestActivityLabels(t *testing.T) {
	ctx := context.Background()
	w := newCardWorld(t)
	const label = "11111111-1111-1111-1111-111111111111"
	logEvent := func(kind, payload string) int64 {
		t.Helper()
		var seq int64
		err := w.st.Pool().QueryRow(ctx, `
			WITH b AS (UPDATE boards SET seq = seq + 1 WHERE id = $1 RETURNING seq)
			INSERT INTO events (board_id, seq, kind, payload, actor) SELECT $1, b.seq, $2, $3::jsonb, 'owner' FROM b
			RETURNING seq`, w.board, kind, payload).Scan(&seq)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	logEvent("label.created", `{"id": "`+label+`", "name": "Urgent", "color": "red"}`)
	logEvent("label.updated", `{"id": "`+label+`", "name": "Blocker", "color": "red"}`)
	del := logEvent("label.deleted", `{"id": "`+label+`", "cards": ["`+w.card+`"]}`)

	got := activityAll(t, w.st, w.viewer.Actor, w.board, w.card, 10)
	if len(got) != 2 || got[0].Seq != del || got[1].Kind != board.KindCardCreated {
		t.Fatalf("the card's activity: %v", seqs(got))
	}
	var l struct{ Name string }
	if !prevOf(t, got[0], &l) || l.Name != "Blocker" {
		t.Errorf("label.deleted: prev %s, want the label named Blocker", got[0].Prev)
	}
	if other := activityAll(t, w.st, w.viewer.Actor, w.board, w.card2, 10); len(other) != 1 {
		t.Errorf("a card without the label has %d entries, want its creation only", len(other))
	}
	all := activityAll(t, w.st, w.viewer.Actor, w.board, "", 10)
	if all[1].Kind != "label.updated" || !prevOf(t, all[1], &l) || l.Name != "Urgent" {
		t.Errorf("label.updated: prev %s, want the label named Urgent", all[1].Prev)
	}
}
