package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// withoutIDs renders an export for comparison: ids, the export's time and
// seq, the board's creation time and the members left out.
func withoutIDs(t *testing.T, x board.Export) string {
	t.Helper()
	x.ExportedAt = time.Time{}
	x.Board.ID, x.Board.Seq, x.Board.CreatedAt, x.Members = "", 0, time.Time{}, nil
	// Cards name their labels by id: by name instead.
	name := map[string]string{}
	x.Labels = slices.Clone(x.Labels)
	for i := range x.Labels {
		name[x.Labels[i].ID] = x.Labels[i].Name
		x.Labels[i].ID = ""
	}
	slices.SortFunc(x.Labels, func(a, b board.ExportLabel) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	for i := range x.Columns {
		col := &x.Columns[i]
		col.ID = ""
		for j := range col.Cards {
			c := &col.Cards[j]
			c.ID = ""
			c.Labels = slices.Clone(c.Labels)
			for k, id := range c.Labels {
				c.Labels[k] = name[id]
			}
			c.CreatedAt = c.CreatedAt.UTC()
			if c.ArchivedAt != nil {
				a := c.ArchivedAt.UTC()
				c.ArchivedAt = &a
			}
			for k := range c.Checklists {
				c.Checklists[k].ID = ""
				for n := range c.Checklists[k].Items {
					c.Checklists[k].Items[n].ID = ""
				}
			}
			for k := range c.Comments {
				m := &c.Comments[k]
				m.ID, m.CreatedAt = "", m.CreatedAt.UTC()
				if m.EditedAt != nil {
					e := m.EditedAt.UTC()
					m.EditedAt = &e
				}
			}
		}
	}
	b, err := json.MarshalIndent(x, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExportImportRoundTrip: a board with everything on it, exported,
// imported and exported again, is the same board (ids aside); the imported
// board's log replays to its snapshot.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()
	col2 := must[board.Column](t)(st.CreateColumn(ctx, w.owner, w.board, board.ColumnInput{Name: "Done <&>"}))
	due := "2027-02-28"
	var labels []string
	for _, in := range []board.LabelInput{{Name: "x", Color: "sky"}, {Name: "日本"}, {Name: "unused <b>", Color: "pink"}} {
		labels = append(labels, must[board.Label](t)(st.CreateLabel(ctx, w.owner, w.board, in)).ID)
	}
	rich := must[board.Card](t)(st.CreateCard(ctx, w.owner, w.board, board.CardInput{ColumnID: col2.ID, Title: "rich",
		Description: "line\nline 2", Labels: labels[:2], Due: &due, Assignees: []string{"owner"}, Done: true}))
	arch := must[board.Card](t)(st.CreateCard(ctx, w.owner, w.board, board.CardInput{ColumnID: col2.ID, Title: "old"}))
	must[board.Card](t)(st.SetArchived(ctx, w.owner, w.board, arch.ID, true, 0))
	for _, name := range []string{"first", "second"} {
		l := must[board.Checklist](t)(st.CreateChecklist(ctx, w.owner, w.board, rich.ID, board.ChecklistInput{Name: name}))
		for i, text := range []string{"a", "b", "c"} {
			must[board.ChecklistItem](t)(st.CreateItem(ctx, w.owner, w.board, rich.ID, l.ID, board.ItemInput{Text: name + text, Done: i == 1}))
		}
	}
	c1 := must[board.Comment](t)(st.CreateComment(ctx, w.owner, w.board, rich.ID, board.CommentInput{Text: "one"}))
	must[board.Comment](t)(st.UpdateComment(ctx, w.owner, w.board, rich.ID, c1.ID, board.CommentInput{Text: "one, edited"}, 0))
	must[board.Comment](t)(st.CreateComment(ctx, w.owner, w.board, rich.ID, board.CommentInput{Text: "two"}))
	must[board.Comment](t)(st.CreateComment(ctx, w.owner, w.board, w.card, board.CommentInput{Text: "on card one"}))

	orig, err := st.ExportBoard(ctx, "vi", w.board)
	if err != nil {
		t.Fatal(err)
	}
	if orig.Cards() != 4 || len(orig.Columns) != 2 || orig.Board.Seq == 0 {
		t.Fatalf("export: %d cards in %d columns at seq %d", orig.Cards(), len(orig.Columns), orig.Board.Seq)
	}
	// Through JSON, as a file would carry it.
	data, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := board.ParseImport(data)
	if err != nil {
		t.Fatal(err)
	}
	nb, ev, err := st.ImportBoard(ctx, board.Meta{Actor: "owner", OpID: "import-1"}, doc)
	if err != nil {
		t.Fatal(err)
	}
	if nb.ID == w.board || nb.OwnerID != "owner" || nb.Role != board.RoleOwner || ev.Seq != nb.Seq || ev.OpID != "import-1" {
		t.Errorf("imported board %+v, event %+v", nb, ev)
	}
	again, err := st.ExportBoard(ctx, "owner", nb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := withoutIDs(t, again), withoutIDs(t, orig); got != want {
		t.Errorf("export → import → export differs:\n got  %s\n want %s", got, want)
	}
	snap := w.checkReplay(t, nb.ID)
	if c := snap.Cards[len(snap.Cards)-2]; c.Title != "rich" || c.ChecklistTotal != 6 || c.ChecklistDone != 2 || c.CommentCount != 2 {
		t.Errorf("imported card %+v", c)
	}
	// The copy is a board like any other.
	must[board.Comment](t)(st.CreateComment(ctx, w.owner, nb.ID, snap.Cards[0].ID, board.CommentInput{Text: "after"}))
	w.checkReplay(t, nb.ID)
}

// TestImportTrello imports the Trello fixture: what the board package reads
// from it is stored, with a log that replays to the snapshot.
func TestImportTrello(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	st, ctx := w.st, context.Background()
	data, err := os.ReadFile("../board/testdata/trello-board.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := board.ParseImport(data)
	if err != nil {
		t.Fatal(err)
	}
	nb := must[board.Board](t)(st.ImportBoard(ctx, w.editor, doc))
	snap := w.checkReplayAs(t, "ed", nb.ID)
	if len(snap.Columns) != 4 || len(snap.Cards) != 5 || snap.Board.Name != "Product Launch" {
		t.Fatalf("imported snapshot: %d columns, %d cards", len(snap.Columns), len(snap.Cards))
	}
	var api board.Card
	for _, c := range snap.Cards {
		if c.Title == "Build the API" {
			api = c
		}
	}
	// Trello's labels are the board's, with their colours; cards name them.
	var set []string
	nameOf := map[string]string{}
	for _, l := range snap.Labels {
		set = append(set, l.Name+"="+l.Color)
		nameOf[l.ID] = l.Name
	}
	if got := strings.Join(set, ","); got != "Backend=blue,Design=green,Marketing=orange,red=red" {
		t.Errorf("labels %s", got)
	}
	if len(api.Labels) != 2 || nameOf[api.Labels[0]] != "Backend" || nameOf[api.Labels[1]] != "red" {
		t.Errorf("Build the API has labels %v (%v)", api.Labels, nameOf)
	}
	if api.ChecklistDone != 2 || api.ChecklistTotal != 4 || api.CommentCount != 2 || api.CreatedBy != "ed" {
		t.Errorf("Build the API: %+v", api)
	}
	lists, err := st.ListChecklists(ctx, "ed", nb.ID, api.ID)
	if err != nil || len(lists) != 2 || lists[0].Name != "Steps" || lists[0].Items[2].Text != "Implement handlers" {
		t.Errorf("checklists %+v, %v", lists, err)
	}
	comments, err := st.ListComments(ctx, "ed", nb.ID, api.ID)
	if err != nil || len(comments) != 2 || comments[0].AuthorID != "ed" || comments[1].Text[:7] != "Ann Lee" {
		t.Errorf("comments %+v, %v", comments, err)
	}
	again, err := st.ExportBoard(ctx, "ed", nb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := withoutIDs(t, again), withoutIDs(t, trelloAsStored(doc, "ed", again)); got != want {
		t.Errorf("the stored board differs from the Trello file:\n got  %s\n want %s", got, want)
	}
}

// trelloAsStored is what an import of doc by user stores: the user creates
// every card; archived cards without a time get the import's.
func trelloAsStored(doc board.Export, user string, stored board.Export) board.Export {
	doc.Board = stored.Board
	for i := range doc.Columns {
		for j := range doc.Columns[i].Cards {
			c, s := &doc.Columns[i].Cards[j], stored.Columns[i].Cards[j]
			c.CreatedBy, c.CreatedAt, c.ArchivedAt = user, s.CreatedAt, s.ArchivedAt
			for k := range c.Comments {
				c.Comments[k].AuthorID, c.Comments[k].AuthorUsername = user, user
			}
		}
	}
	return doc
}

// bigExport is a board of n cards over 5 columns, each card with 2 labels, a
// checklist of 5 items and 3 comments, as the snapshot benchmark's board.
func bigExport(n int) board.Export {
	x := board.Export{Format: board.ExportFormat, Version: board.ExportVersion, Board: board.ExportBoard{Name: "big"}}
	for c := range 5 {
		x.Columns = append(x.Columns, board.ExportColumn{Name: fmt.Sprint("Column ", c+1)})
	}
	for k := range n {
		card := board.ExportCard{Title: fmt.Sprintf("Card %d", k), Description: "Follow up with the team about the release notes.",
			Labels: []string{"bench", fmt.Sprintf("p%d", k%4)}}
		l := board.ExportChecklist{Name: "Steps"}
		for i := range 5 {
			l.Items = append(l.Items, board.ExportItem{Text: fmt.Sprintf("Step %d of card %d", i+1, k), Done: i < 2})
		}
		card.Checklists = []board.ExportChecklist{l}
		for i := range 3 {
			card.Comments = append(card.Comments, board.ExportComment{Text: fmt.Sprintf("Comment %d: see https://example.com/tickets/%d.", i+1, k)})
		}
		col := &x.Columns[k*5/n]
		col.Cards = append(col.Cards, card)
	}
	return x
}

// BenchmarkImport imports a board of 10,000 cards with everything on them
// (the largest import allowed), through the JSON document: parse, validate
// and store.ImportBoard. It reports the document's size.
func BenchmarkImport(b *testing.B) {
	st := newStore(b)
	data, err := json.Marshal(bigExport(board.MaxImportCards))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		doc, err := board.ParseImport(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := st.ImportBoard(ctx, board.Meta{Actor: "bench"}, doc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data))/1e6, "doc-MB")
}
