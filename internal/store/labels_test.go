package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
)

func seqOf(t *testing.T, w *cardWorld, boardID string) int64 {
	t.Helper()
	snap, err := w.st.Snapshot(context.Background(), w.owner.Actor, boardID)
	if err != nil {
		t.Fatal(err)
	}
	return snap.Seq
}

func TestLabels(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()

	bug, ev, err := st.CreateLabel(ctx, w.editor, w.board, board.LabelInput{Name: "Bug"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != board.KindLabelCreated || bug.Color != board.LabelColor("Bug") || bug.Version != 1 || bug.BoardID != w.board {
		t.Errorf("created %+v, event %s", bug, ev.Kind)
	}
	ux := must[board.Label](t)(st.CreateLabel(ctx, w.owner, w.board, board.LabelInput{Name: "UX", Color: "purple"}))
	other := must[board.Label](t)(st.CreateLabel(ctx, w.owner, w.other, board.LabelInput{Name: "Bug"}))

	// Refusals change nothing.
	before := seqOf(t, w, w.board)
	_, _, err = st.CreateLabel(ctx, w.owner, w.board, board.LabelInput{Name: "bUG"})
	wantCode(t, "a second Bug", err, board.EConflict)
	_, _, err = st.CreateLabel(ctx, w.viewer, w.board, board.LabelInput{Name: "viewer's"})
	wantCode(t, "a viewer's label", err, board.EForbidden)
	name := "ux"
	_, _, err = st.UpdateLabel(ctx, w.owner, w.board, bug.ID, board.LabelPatch{Name: &name}, 0)
	wantCode(t, "renaming to another label's name", err, board.EConflict)
	_, _, err = st.UpdateLabel(ctx, w.owner, w.board, bug.ID, board.LabelPatch{Name: &name}, 7)
	wantCode(t, "a stale If-Match", err, board.EVersionMismatch)
	_, _, err = st.UpdateLabel(ctx, w.owner, w.board, other.ID, board.LabelPatch{Name: &name}, 0)
	wantCode(t, "another board's label", err, board.ENotFound)
	_, err = st.DeleteLabel(ctx, w.owner, w.board, other.ID, 0)
	wantCode(t, "deleting another board's label", err, board.ENotFound)
	// Cards name labels of their own board only.
	for _, labels := range [][]string{{other.ID}, {bug.ID, other.ID}, {"00000000-0000-4000-8000-000000000000"}} {
		_, _, err = st.UpdateCard(ctx, w.owner, w.board, w.card, board.CardPatch{Labels: &labels}, 0)
		wantCode(t, fmt.Sprintf("a card with labels %v", labels), err, board.EInvalid)
		_, _, err = st.CreateCard(ctx, w.owner, w.board, board.CardInput{ColumnID: w.col, Title: "x", Labels: labels})
		wantCode(t, fmt.Sprintf("a new card with labels %v", labels), err, board.EInvalid)
	}
	if after := seqOf(t, w, w.board); after != before {
		t.Fatalf("refusals moved the board from seq %d to %d", before, after)
	}

	// A case-only rename of a label is its own name.
	name = "bug"
	renamed, ev, err := st.UpdateLabel(ctx, w.editor, w.board, bug.ID, board.LabelPatch{Name: &name}, bug.Version)
	if err != nil || renamed.Name != "bug" || renamed.Color != bug.Color || renamed.Version != 2 || ev.Kind != board.KindLabelUpdated {
		t.Fatalf("rename: %+v, %v", renamed, err)
	}
	red := "red"
	recoloured := must[board.Label](t)(st.UpdateLabel(ctx, w.editor, w.board, bug.ID, board.LabelPatch{Color: &red}, 0))
	if recoloured.Name != "bug" || recoloured.Color != "red" || recoloured.Version != 3 {
		t.Errorf("recolour: %+v", recoloured)
	}

	both := []string{ux.ID, bug.ID}
	c1 := must[board.Card](t)(st.UpdateCard(ctx, w.editor, w.board, w.card, board.CardPatch{Labels: &both}, 0))
	c2 := must[board.Card](t)(st.UpdateCard(ctx, w.editor, w.board, w.card2, board.CardPatch{Labels: &both}, 0))
	c3 := must[board.Card](t)(st.CreateCard(ctx, w.editor, w.board, board.CardInput{ColumnID: w.col, Title: "ux only", Labels: []string{ux.ID}}))
	if !slices.Equal(c1.Labels, both) || !slices.Equal(c3.Labels, []string{ux.ID}) {
		t.Errorf("card labels %v, %v", c1.Labels, c3.Labels)
	}
	w.checkReplay(t, w.board)

	// Deleting a label takes it off every card in one event, without
	// touching the cards' versions.
	before = seqOf(t, w, w.board)
	ev, err = st.DeleteLabel(ctx, w.owner, w.board, bug.ID, recoloured.Version)
	if err != nil {
		t.Fatal(err)
	}
	var d board.LabelDeleted
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatal(err)
	}
	wantCards := []string{c1.ID, c2.ID}
	slices.Sort(wantCards)
	if ev.Kind != board.KindLabelDeleted || ev.Seq != before+1 || d.ID != bug.ID || !slices.Equal(d.Cards, wantCards) {
		t.Errorf("delete event %s %s", ev.Kind, ev.Data)
	}
	snap := w.checkReplay(t, w.board)
	if len(snap.Labels) != 1 || snap.Labels[0].ID != ux.ID {
		t.Errorf("labels after the delete: %+v", snap.Labels)
	}
	for _, c := range []board.Card{c1, c2, c3} {
		got := cardOf(t, snap, c.ID)
		if slices.Contains(got.Labels, bug.ID) || !slices.Contains(got.Labels, ux.ID) || got.Version != c.Version {
			t.Errorf("card %s after the delete: labels %v, version %d (was %d)", c.Title, got.Labels, got.Version, c.Version)
		}
	}
	list, err := st.ListLabels(ctx, w.viewer.Actor, w.board)
	if err != nil || len(list) != 1 || list[0].Name != "UX" {
		t.Errorf("ListLabels: %+v, %v", list, err)
	}
	if _, err := st.ListLabels(ctx, "stranger", w.board); board.ErrorCode(err) != board.ENotFound {
		t.Errorf("a stranger's ListLabels: %v", err)
	}
}

// TestLabelsLimit: a board holds board.MaxBoardLabels labels.
func TestLabelsLimit(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()
	for i := range board.MaxBoardLabels {
		must[board.Label](t)(st.CreateLabel(ctx, w.owner, w.board, board.LabelInput{Name: fmt.Sprint("label ", i)}))
	}
	_, _, err := st.CreateLabel(ctx, w.owner, w.board, board.LabelInput{Name: "one too many"})
	wantCode(t, "a label over the limit", err, board.EConflict)
}

// TestLabelsConcurrent: writers creating, renaming, recolouring and deleting
// labels while others put labels on cards, all at once: every call that
// succeeded has one event, seq has no gap, replaying the log gives the
// snapshot, and no card names a label the board does not have.
func TestLabelsConcurrent(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()
	var cards []string
	for i := range 6 {
		cards = append(cards, must[board.Card](t)(st.CreateCard(ctx, w.owner, w.board, board.CardInput{ColumnID: w.col, Title: fmt.Sprint("c", i)})).ID)
	}
	var mu sync.Mutex
	var labels []string
	pick := func(rng *rand.Rand) string {
		mu.Lock()
		defer mu.Unlock()
		if len(labels) == 0 {
			return ""
		}
		return labels[rng.IntN(len(labels))]
	}
	start := seqOf(t, w, w.board)
	const writers, perWriter = 12, 40
	ok := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for n := range perWriter {
				m := board.Meta{Actor: "ed", OpID: fmt.Sprintf("w%d-%d", i, n)}
				if i%2 == 0 {
					m.Actor = "owner"
				}
				var err error
				id := pick(rng)
				switch r := rng.IntN(10); {
				case r < 2 || id == "":
					var l board.Label
					l, _, err = st.CreateLabel(ctx, m, w.board, board.LabelInput{Name: m.OpID, Color: board.LabelColors[rng.IntN(len(board.LabelColors))]})
					if err == nil {
						mu.Lock()
						labels = append(labels, l.ID)
						mu.Unlock()
					}
				case r < 4:
					name, color := "renamed "+m.OpID, board.LabelColors[rng.IntN(len(board.LabelColors))]
					p := board.LabelPatch{Color: &color}
					if rng.IntN(2) == 0 {
						p.Name = &name
					}
					_, _, err = st.UpdateLabel(ctx, m, w.board, id, p, 0)
				case r < 6:
					if _, err = st.DeleteLabel(ctx, m, w.board, id, 0); err == nil {
						mu.Lock()
						labels = slices.DeleteFunc(labels, func(x string) bool { return x == id })
						mu.Unlock()
					}
				default:
					set := []string{}
					for range rng.IntN(3) + 1 {
						if id := pick(rng); id != "" && !slices.Contains(set, id) {
							set = append(set, id)
						}
					}
					_, _, err = st.UpdateCard(ctx, m, w.board, cards[rng.IntN(len(cards))], board.CardPatch{Labels: &set}, 0)
				}
				switch code := board.ErrorCode(err); {
				case code == "":
					ok[i]++
				case code == board.ENotFound, code == board.EInvalid && strings.Contains(err.Error(), "no label"):
					// The label was deleted meanwhile.
				default:
					t.Errorf("writer %d, op %s: %v", i, m.OpID, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	succeeded := 0
	for _, n := range ok {
		succeeded += n
	}
	events, head := allEvents(t, st, "owner", w.board)
	if head != start+int64(succeeded) || int64(len(events)) != head {
		t.Fatalf("head %d with %d events; %d calls succeeded after seq %d", head, len(events), succeeded, start)
	}
	kinds := map[string]int{}
	for _, e := range events[start:] {
		kinds[e.Kind]++
	}
	t.Logf("%d calls succeeded: %v", succeeded, kinds)
	for _, k := range []string{board.KindLabelCreated, board.KindLabelUpdated, board.KindLabelDeleted, board.KindCardUpdated} {
		if kinds[k] == 0 {
			t.Errorf("no %s event: the test did not exercise it", k)
		}
	}
	snap := w.checkReplay(t, w.board)
	have := map[string]bool{}
	for _, l := range snap.Labels {
		have[l.ID] = true
	}
	for _, c := range snap.Cards {
		for _, l := range c.Labels {
			if !have[l] {
				t.Errorf("card %s names label %s, which the board does not have", c.Title, l)
			}
		}
	}
}
