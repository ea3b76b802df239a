package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// oldBoard writes a board as the release before labels did (the schema at
// migration 0007, through SQL): its rows and a log of board.created,
// column.created and card.created events whose cards carry free-text
// labels. It returns the board's id.
func oldBoard(t *testing.T, conn *pgx.Conn, name string, cards [][]string) string {
	t.Helper()
	ctx := context.Background()
	var seq int64
	logEvent := func(boardID, kind string, payload any) {
		seq++
		data, err := board.MarshalJSON(payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO events (board_id, seq, kind, payload, actor) VALUES ($1, $2, $3, $4, 'owner')`,
			boardID, seq, kind, data); err != nil {
			t.Fatal(err)
		}
	}
	var b board.Board
	if err := conn.QueryRow(ctx, `INSERT INTO boards (name, owner_id, seq) VALUES ($1, 'owner', $2)
		RETURNING id::text, name, description, owner_id, owner_id, version, seq, created_at, updated_at`, name, len(cards)+2).
		Scan(&b.ID, &b.Name, &b.Description, &b.OwnerID, &b.OwnerUsername, &b.Version, &b.Seq, &b.CreatedAt, &b.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, 'owner', 'owner')`, b.ID); err != nil {
		t.Fatal(err)
	}
	b.Seq = 1
	logEvent(b.ID, board.KindBoardCreated, b)
	var col board.Column
	if err := conn.QueryRow(ctx, `INSERT INTO columns (board_id, name, rank) VALUES ($1, 'col', 'V')
		RETURNING id::text, board_id::text, name, rank, version, created_at, updated_at`, b.ID).
		Scan(&col.ID, &col.BoardID, &col.Name, &col.Rank, &col.Version, &col.CreatedAt, &col.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	logEvent(b.ID, board.KindColumnCreated, col)
	for i, labels := range cards {
		var c board.Card
		if err := conn.QueryRow(ctx, `INSERT INTO cards AS c (board_id, column_id, title, labels, rank, created_by)
			VALUES ($1, $2, $3, $4, $5, 'owner')
			RETURNING c.id::text, c.board_id::text, c.column_id::text, c.title, c.description, c.labels,
				to_char(c.due, 'YYYY-MM-DD'), c.assignees, c.done, c.rank, c.archived_at, c.version,
				c.created_by, c.created_at, c.updated_at, c.comment_count, c.checklist_done, c.checklist_total`,
			b.ID, col.ID, fmt.Sprint("card ", i), labels, fmt.Sprintf("V%02d", i)).
			Scan(&c.ID, &c.BoardID, &c.ColumnID, &c.Title, &c.Description, &c.Labels, &c.Due, &c.Assignees, &c.Done,
				&c.Rank, &c.ArchivedAt, &c.Version, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.CommentCount,
				&c.ChecklistDone, &c.ChecklistTotal); err != nil {
			t.Fatal(err)
		}
		logEvent(b.ID, board.KindCardCreated, c)
	}
	return b.ID
}

// TestMigrationLabels fills a database at the schema before board labels
// with free-text labels, migrates it, and checks that no label was lost:
// every distinct text of a board (regardless of case) is one label of that
// board with the colour board.LabelColor gives its name, each card names
// the labels of its texts in their order, other boards keep their own
// labels, and each board's log, which the migration continued, replays to
// its snapshot with no gap in seq.
func TestMigrationLabels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t, "before labels", func(ctx context.Context, url string) error {
		return store.MigrateTo(ctx, url, 7)
	})
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	xss := `<img src=x onerror="alert(1)">`
	texts := map[string][][]string{
		"first": {{"Bug", "urgent"}, {"bug", "Feature", "BUG"}, {}, {xss, "urgent", "日本語"}, {"a"}},
		"other": {{"Bug"}, {"feature"}},
		"bare":  {{}, {}},
	}
	ids := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(texts)) {
		ids[name] = oldBoard(t, conn, name, texts[name])
	}
	conn.Close(ctx)

	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := &cardWorld{st: st, owner: board.Meta{Actor: "owner"}}

	// "Bug", "bug" and "BUG" are one label, named by the first spelling in
	// byte order.
	wantLabels := map[string]string{
		"first": "a,BUG,Feature,urgent," + xss + ",日本語",
		"other": "Bug,feature",
		"bare":  "",
	}
	seen := map[string]bool{}
	for name, id := range ids {
		snap := w.checkReplay(t, id)
		var names []string
		nameOf := map[string]string{}
		for _, l := range snap.Labels {
			names = append(names, l.Name)
			nameOf[l.ID] = l.Name
			if l.Color != board.LabelColor(l.Name) {
				t.Errorf("label %q has colour %s, want %s", l.Name, l.Color, board.LabelColor(l.Name))
			}
			if seen[l.ID] {
				t.Errorf("label %s on two boards", l.ID)
			}
			seen[l.ID] = true
		}
		if got := strings.Join(names, ","); got != strings.Join(sortedNames(wantLabels[name]), ",") {
			t.Errorf("board %s: labels %q, want %q", name, got, wantLabels[name])
		}
		for i, c := range snap.Cards {
			var got, want []string
			for _, l := range c.Labels {
				got = append(got, strings.ToLower(nameOf[l]))
			}
			for _, s := range texts[name][i] {
				if !slices.Contains(want, strings.ToLower(s)) {
					want = append(want, strings.ToLower(s))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("board %s, %s: labels %v, want %v", name, c.Title, got, want)
			}
			if wantVersion := int64(1 + min(1, len(want))); c.Version != wantVersion {
				t.Errorf("board %s, %s: version %d, want %d", name, c.Title, c.Version, wantVersion)
			}
		}
	}
	// The migrated board is a board like any other: a label of it goes on
	// a card and is deleted from every card.
	snap := w.checkReplay(t, ids["first"])
	urgent := snap.Labels[3]
	if _, err := st.DeleteLabel(ctx, w.owner, ids["first"], urgent.ID, urgent.Version); err != nil {
		t.Fatal(err)
	}
	w.checkReplay(t, ids["first"])
}

// sortedNames splits a comma-separated list and sorts it as a snapshot
// sorts labels.
func sortedNames(list string) []string {
	if list == "" {
		return nil
	}
	labels := []board.Label{}
	for i, n := range strings.Split(list, ",") {
		labels = append(labels, board.Label{ID: fmt.Sprint(i), Name: n})
	}
	board.SortLabels(labels)
	var out []string
	for _, l := range labels {
		out = append(out, l.Name)
	}
	return out
}
