package store_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/rank"
)

func TestChecklists(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()
	item := func(s string) board.ItemInput { return board.ItemInput{Text: s} }

	list := must[board.Checklist](t)(st.CreateChecklist(ctx, w.editor, w.board, w.card, board.ChecklistInput{Name: "Launch"}))
	if list.Name != "Launch" || list.Items == nil || len(list.Items) != 0 || list.Version != 1 {
		t.Errorf("new checklist %+v", list)
	}
	a := must[board.ChecklistItem](t)(st.CreateItem(ctx, w.editor, w.board, w.card, list.ID, item("a")))
	c := must[board.ChecklistItem](t)(st.CreateItem(ctx, w.editor, w.board, w.card, list.ID, item("c")))
	b := must[board.ChecklistItem](t)(st.CreateItem(ctx, w.editor, w.board, w.card, list.ID,
		board.ItemInput{Text: "b", Done: true, Position: board.Position{After: a.ID}}))
	top := must[board.ChecklistItem](t)(st.CreateItem(ctx, w.editor, w.board, w.card, list.ID,
		board.ItemInput{Text: "top", Position: board.Position{To: "top"}}))
	texts := func(l board.Checklist) []string {
		var s []string
		for _, it := range l.Items {
			s = append(s, it.Text)
		}
		return s
	}
	lists, err := st.ListChecklists(ctx, "vi", w.board, w.card)
	if err != nil || len(lists) != 1 || !slices.Equal(texts(lists[0]), []string{"top", "a", "b", "c"}) {
		t.Fatalf("checklists %+v, %v", lists, err)
	}

	// Two field patches of one item both stick; a tick changes only done.
	must[board.ChecklistItem](t)(st.UpdateItem(ctx, w.editor, w.board, w.card, list.ID, a.ID, board.ItemPatch{Done: new(true)}, 0))
	got := must[board.ChecklistItem](t)(st.UpdateItem(ctx, w.owner, w.board, w.card, list.ID, a.ID, board.ItemPatch{Text: new("a!")}, 0))
	if !got.Done || got.Text != "a!" || got.Version != 3 {
		t.Errorf("patched item %+v", got)
	}
	_, _, err = st.UpdateItem(ctx, w.owner, w.board, w.card, list.ID, a.ID, board.ItemPatch{Done: new(false)}, 1)
	wantCode(t, "stale If-Match on an item", err, board.EVersionMismatch)

	// Move c to the top, then after b, then into a second checklist.
	must[board.ChecklistItem](t)(st.MoveItem(ctx, w.editor, w.board, w.card, list.ID, c.ID, board.ItemMove{Position: board.Position{To: "top"}}, 0))
	must[board.ChecklistItem](t)(st.MoveItem(ctx, w.editor, w.board, w.card, list.ID, top.ID, board.ItemMove{Position: board.Position{Before: b.ID}}, 0))
	lists, _ = st.ListChecklists(ctx, "vi", w.board, w.card)
	if got := texts(lists[0]); !slices.Equal(got, []string{"c", "a!", "top", "b"}) {
		t.Errorf("after moves: %v", got)
	}
	list2 := must[board.Checklist](t)(st.CreateChecklist(ctx, w.editor, w.board, w.card, board.ChecklistInput{Name: "Later"}))
	must[board.ChecklistItem](t)(st.MoveItem(ctx, w.editor, w.board, w.card, list.ID, c.ID, board.ItemMove{ChecklistID: list2.ID}, 0))
	renamed := must[board.Checklist](t)(st.RenameChecklist(ctx, w.editor, w.board, w.card, list2.ID, board.ChecklistInput{Name: "Someday"}, 1))
	if renamed.Name != "Someday" || renamed.Version != 2 || len(renamed.Items) != 1 {
		t.Errorf("renamed %+v", renamed)
	}

	// Ids of another card, checklist or board find nothing.
	otherList := must[board.Checklist](t)(st.CreateChecklist(ctx, w.owner, w.board, w.card2, board.ChecklistInput{Name: "x"}))
	otherItem := must[board.ChecklistItem](t)(st.CreateItem(ctx, w.owner, w.board, w.card2, otherList.ID, item("x")))
	for name, f := range map[string]func() error{
		"item of another card's checklist": func() error {
			_, _, err := st.UpdateItem(ctx, w.editor, w.board, w.card, list.ID, otherItem.ID, board.ItemPatch{Done: new(true)}, 0)
			return err
		},
		"another card's checklist under this card": func() error {
			_, _, err := st.CreateItem(ctx, w.editor, w.board, w.card, otherList.ID, item("x"))
			return err
		},
		"move into another card's checklist": func() error {
			_, _, err := st.MoveItem(ctx, w.editor, w.board, w.card, list.ID, a.ID, board.ItemMove{ChecklistID: otherList.ID}, 0)
			return err
		},
		"after an item of another checklist": func() error {
			_, _, err := st.MoveItem(ctx, w.editor, w.board, w.card, list.ID, a.ID, board.ItemMove{Position: board.Position{After: otherItem.ID}}, 0)
			return err
		},
		"delete via the other board": func() error {
			_, err := st.DeleteItem(ctx, w.owner, w.other, w.otherCard, otherList.ID, otherItem.ID, 0)
			return err
		},
		"delete a checklist under another card": func() error {
			_, err := st.DeleteChecklist(ctx, w.owner, w.board, w.card, otherList.ID, 0)
			return err
		},
	} {
		wantCode(t, name, f(), board.ENotFound)
	}
	_, _, err = st.CreateItem(ctx, w.viewer, w.board, w.card, list.ID, item("no"))
	wantCode(t, "viewer adds an item", err, board.EForbidden)

	snap := w.checkReplay(t, w.board)
	if card := cardOf(t, snap, w.card); card.ChecklistDone != 2 || card.ChecklistTotal != 4 || card.Version != 1 {
		t.Errorf("card progress %d/%d (version %d), want 2/4 (1)", card.ChecklistDone, card.ChecklistTotal, card.Version)
	}

	// Deleting an item, then a checklist, takes them off the progress.
	if _, err := st.DeleteItem(ctx, w.editor, w.board, w.card, list.ID, b.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteChecklist(ctx, w.editor, w.board, w.card, list2.ID, 0); err != nil {
		t.Fatal(err)
	}
	snap = w.checkReplay(t, w.board)
	if card := cardOf(t, snap, w.card); card.ChecklistDone != 1 || card.ChecklistTotal != 2 {
		t.Errorf("card progress %d/%d, want 1/2", card.ChecklistDone, card.ChecklistTotal)
	}

	// Limits: checklists per card, items per checklist.
	if _, err := st.Pool().Exec(ctx, `
		INSERT INTO checklist_items (card_id, checklist_id, text, rank)
		SELECT $1, $2, 'filler', 'z' || lpad(g::text, 4, '0') FROM generate_series(1, $3) g`,
		w.card, list.ID, board.MaxItemsPerChecklist-2); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.CreateItem(ctx, w.editor, w.board, w.card, list.ID, item("one too many"))
	wantCode(t, "item in a full checklist", err, board.EConflict)
	for i := 0; i < board.MaxChecklistsPerCard-1; i++ {
		must[board.Checklist](t)(st.CreateChecklist(ctx, w.editor, w.board, w.card, board.ChecklistInput{Name: fmt.Sprint(i)}))
	}
	_, _, err = st.CreateChecklist(ctx, w.editor, w.board, w.card, board.ChecklistInput{Name: "too many"})
	wantCode(t, "checklist on a full card", err, board.EConflict)
}

// TestConcurrentChecklistWriters: 16 writers tick, untick, rename and
// reorder the items of one checklist at once. The log stays contiguous, each
// request has exactly one event, replaying the log gives the snapshot (with
// the card's progress) and, applied to the items, gives the checklist as
// stored, in a strict (rank, id) order.
func TestConcurrentChecklistWriters(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()
	list := must[board.Checklist](t)(st.CreateChecklist(ctx, w.owner, w.board, w.card, board.ChecklistInput{Name: "shared"}))
	var ids []string
	for i := range 12 {
		ids = append(ids, must[board.ChecklistItem](t)(st.CreateItem(ctx, w.owner, w.board, w.card, list.ID,
			board.ItemInput{Text: fmt.Sprint("item ", i)})).ID)
	}
	_, setup := allEvents(t, st, "owner", w.board)
	const writers, perWriter = 16, 40
	for i := range writers {
		if _, err := st.Pool().Exec(ctx, `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, $2, 'editor')`,
			w.board, fmt.Sprint("w", i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			<-start
			for n := range perWriter {
				m := board.Meta{Actor: fmt.Sprint("w", i), OpID: fmt.Sprintf("w%d-%d", i, n)}
				id := ids[rng.IntN(len(ids))]
				other := ids[rng.IntN(len(ids))]
				var err error
				switch r := rng.IntN(10); {
				case r < 5:
					_, _, err = st.UpdateItem(ctx, m, w.board, w.card, list.ID, id, board.ItemPatch{Done: new(r%2 == 0)}, 0)
				case r < 6:
					_, _, err = st.UpdateItem(ctx, m, w.board, w.card, list.ID, id, board.ItemPatch{Text: new(m.OpID)}, 0)
				default:
					p := board.Position{After: other}
					switch {
					case other == id && r%2 == 0:
						p = board.Position{To: "top"}
					case other == id:
						p = board.Position{To: "bottom"}
					case r%2 == 0:
						p = board.Position{Before: other}
					}
					_, _, err = st.MoveItem(ctx, m, w.board, w.card, list.ID, id, board.ItemMove{Position: p}, 0)
				}
				if err != nil {
					t.Errorf("writer %d, op %s: %v", i, m.OpID, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	events, head := allEvents(t, st, "owner", w.board)
	if total := setup + writers*perWriter; head != total || int64(len(events)) != total {
		t.Fatalf("head %d with %d events, want %d", head, len(events), total)
	}
	ops := map[string]int{}
	for _, e := range events[setup:] {
		ops[e.OpID]++
	}
	if len(ops) != writers*perWriter {
		t.Errorf("%d distinct op ids among %d events", len(ops), writers*perWriter)
	}
	snap := w.checkReplay(t, w.board)

	// The items as the log tells them.
	items := map[string]board.ChecklistItem{}
	for _, e := range events {
		var c board.CardChange
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatal(err)
		}
		if c.Item != nil {
			items[c.Item.ID] = *c.Item
		}
	}
	replayed := slices.SortedFunc(maps.Values(items), func(a, b board.ChecklistItem) int {
		return cmp.Or(cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.ID, b.ID))
	})
	lists, err := st.ListChecklists(ctx, "owner", w.board, w.card)
	if err != nil {
		t.Fatal(err)
	}
	stored := lists[0].Items
	done := 0
	for i, it := range stored {
		if i > 0 && stored[i-1].Rank >= it.Rank {
			t.Errorf("items %d and %d: ranks %q, %q not strictly increasing", i-1, i, stored[i-1].Rank, it.Rank)
		}
		if it.Done {
			done++
		}
	}
	if len(replayed) != len(stored) {
		t.Fatalf("%d items replayed, %d stored", len(replayed), len(stored))
	}
	for i := range stored {
		a, b := replayed[i], stored[i]
		if a.ID != b.ID || a.Rank != b.Rank || a.Done != b.Done || a.Text != b.Text || a.Version != b.Version {
			t.Errorf("item %d: replayed %+v, stored %+v", i, a, b)
		}
	}
	if c := cardOf(t, snap, w.card); c.ChecklistDone != done || c.ChecklistTotal != len(stored) {
		t.Errorf("card progress %d/%d, items say %d/%d", c.ChecklistDone, c.ChecklistTotal, done, len(stored))
	}
}

// TestConcurrentTicksBothWin: 16 people tick 16 different items of one
// checklist at the same moment, and reword them at the same moment as
// others tick them: every tick and every rewording sticks.
func TestConcurrentTicksBothWin(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()
	list := must[board.Checklist](t)(st.CreateChecklist(ctx, w.owner, w.board, w.card, board.ChecklistInput{Name: "shared"}))
	const n = 16
	ids := make([]string, n)
	for i := range ids {
		ids[i] = must[board.ChecklistItem](t)(st.CreateItem(ctx, w.owner, w.board, w.card, list.ID, board.ItemInput{Text: fmt.Sprint(i)})).ID
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		for _, p := range []board.ItemPatch{{Done: new(true)}, {Text: new(fmt.Sprint("item ", i))}} {
			wg.Go(func() {
				<-start
				if _, _, err := st.UpdateItem(ctx, w.editor, w.board, w.card, list.ID, ids[i], p, 0); err != nil {
					t.Error(err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	lists, err := st.ListChecklists(ctx, "ed", w.board, w.card)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range lists[0].Items {
		i := slices.Index(ids, it.ID)
		if !it.Done || it.Text != fmt.Sprint("item ", i) || it.Version != 3 {
			t.Errorf("item %+v: a concurrent change was lost", it)
		}
	}
	snap := w.checkReplay(t, w.board)
	if c := cardOf(t, snap, w.card); c.ChecklistDone != n || c.ChecklistTotal != n {
		t.Errorf("card progress %d/%d, want %d/%d", c.ChecklistDone, c.ChecklistTotal, n, n)
	}
}

// TestChecklistFullGap: checklists and their items are not respaced, so an
// item placed into a gap with no room left (ranks set here as thousands of
// nested inserts would leave them) is refused as a conflict, not a server
// error, and nothing changes.
func TestChecklistFullGap(t *testing.T) {
	t.Parallel()
	st, url := newStoreURL(t)
	ctx := t.Context()
	owner, boardID, colID := setupBoard(t, st, "owner")
	card := must[board.Card](t)(st.CreateCard(ctx, owner, boardID, board.CardInput{ColumnID: colID, Title: "card"}))
	list := must[board.Checklist](t)(st.CreateChecklist(ctx, owner, boardID, card.ID, board.ChecklistInput{Name: "list"}))
	a := must[board.ChecklistItem](t)(st.CreateItem(ctx, owner, boardID, card.ID, list.ID, board.ItemInput{Text: "a"}))
	b := must[board.ChecklistItem](t)(st.CreateItem(ctx, owner, boardID, card.ID, list.ID, board.ItemInput{Text: "b"}))
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	lo := strings.Repeat("a", rank.MaxLen-1)
	for id, r := range map[string]string{a.ID: lo, b.ID: lo + "1"} {
		if _, err := conn.Exec(ctx, `UPDATE checklist_items SET rank = $2 WHERE id = $1`, id, r); err != nil {
			t.Fatal(err)
		}
	}
	_, head := allEvents(t, st, owner.Actor, boardID)
	for _, p := range []board.Position{{After: a.ID}, {Before: b.ID}} {
		_, ev, err := st.CreateItem(ctx, owner, boardID, card.ID, list.ID, board.ItemInput{Text: "c", Position: p})
		if board.ErrorCode(err) != board.EConflict || ev.Seq != 0 {
			t.Errorf("an item %+v: err %v (code %q), event seq %d; want a conflict and no event", p, err, board.ErrorCode(err), ev.Seq)
		}
	}
	if _, h := allEvents(t, st, owner.Actor, boardID); h != head {
		t.Fatalf("refused inserts moved the head from %d to %d", head, h)
	}
}
