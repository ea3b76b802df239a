package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/rank"
)

// TestNestedInsertsRespace makes 10,000 inserts into one gap, each new card
// between the previous two (alternately right after and right before the
// newest): the pattern that uses a gap up fastest (rank.MaxLen digits after
// about 6,000). Every insert succeeds: when the gap is full the column is
// respaced, as one cards.respaced event, and the insert tried again. The
// column's order is the order the inserts define, and replaying the log
// gives the snapshot.
func TestNestedInsertsRespace(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	m := board.Meta{Actor: "owner"}
	b := must[board.Board](t)(st.CreateBoard(ctx, m, board.BoardInput{Name: "nested"}))
	col := must[board.Column](t)(st.CreateColumn(ctx, m, b.ID, board.ColumnInput{Name: "todo"}))
	add := func(title string, p board.Position) board.Card {
		t.Helper()
		c, _, err := st.CreateCard(ctx, m, b.ID, board.CardInput{ColumnID: col.ID, Title: title, Position: p})
		if err != nil {
			t.Fatalf("insert %s: %v", title, err)
		}
		return c
	}
	// order is the column as the inserts define it.
	first, last := add("first", board.Position{}), add("last", board.Position{})
	order := []string{first.ID, last.ID}
	newest := add("n0", board.Position{After: first.ID})
	at := 1 // newest's index in order
	order = []string{first.ID, newest.ID, last.ID}
	const inserts = 10000
	began := time.Now()
	longest := 0
	for i := 1; i < inserts; i++ {
		p, idx := board.Position{After: newest.ID}, at+1
		if i%2 == 0 {
			p, idx = board.Position{Before: newest.ID}, at
		}
		newest = add(fmt.Sprint("n", i), p)
		longest = max(longest, len(newest.Rank))
		order = append(order[:idx], append([]string{newest.ID}, order[idx:]...)...)
		at = idx
	}
	t.Logf("%d nested inserts in %s; longest rank %d digits (MaxLen %d)", inserts, time.Since(began).Round(time.Millisecond), longest, rank.MaxLen)

	snap, err := st.Snapshot(ctx, "owner", b.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, snap)
	if len(snap.Cards) != len(order) {
		t.Fatalf("%d cards, want %d", len(snap.Cards), len(order))
	}
	for i, c := range snap.Cards {
		if c.ID != order[i] {
			t.Fatalf("card %d is %s (%s), want %s", i, c.ID, c.Title, order[i])
		}
	}

	events, head := allEvents(t, st, "owner", b.ID)
	if head != snap.Seq || int64(len(events)) != head {
		t.Fatalf("log of %d events, head %d, snapshot at %d", len(events), head, snap.Seq)
	}
	respaced := 0
	replayed := time.Now()
	var replay board.Snapshot
	for _, e := range events {
		if e.Kind == board.KindCardsRespaced {
			respaced++
			if e.OpID != "" {
				t.Errorf("cards.respaced %d carries op_id %q", e.Seq, e.OpID)
			}
		}
		if err := replay.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d events, %d of them cards.respaced, replayed in %s", len(events), respaced, time.Since(replayed).Round(time.Millisecond))
	if respaced == 0 {
		t.Error("no cards.respaced: the gap never filled, the test tested nothing")
	}
	if want := int64(2 + inserts + 2 + respaced); head != want {
		t.Errorf("%d events, want %d (board, column, %d cards, %d respacings)", head, want, inserts+2, respaced)
	}
	replay.Members = snap.Members // members are not what this test is about
	if got, want := normalized(t, replay), normalized(t, snap); got != want {
		t.Error("replaying the log does not give the snapshot")
	}
}
