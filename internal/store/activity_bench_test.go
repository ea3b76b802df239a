package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// BenchmarkActivity reads activity pages (50 entries) of a board whose log
// holds 100,000 events about 1,000 cards (card updates and moves, comments,
// checklist ticks): the newest page of the board, the newest page of a busy
// card (one event in 1,000 of the log), and of a quiet card (one event, at
// the start of the log), with the indexes of migrations/0011_activity.sql
// and without them, next to a plain events page of 50 for scale. It logs
// the plan of each read (EXPLAIN ANALYZE).
func BenchmarkActivity(b *testing.B) {
	for _, indexed := range []bool{true, false} {
		b.Run(fmt.Sprintf("indexed=%v", indexed), func(b *testing.B) {
			st := newStore(b)
			ctx := context.Background()
			m := board.Meta{Actor: "owner"}
			bd := must[board.Board](b)(st.CreateBoard(ctx, m, board.BoardInput{Name: "big"}))
			col := must[board.Column](b)(st.CreateColumn(ctx, m, bd.ID, board.ColumnInput{Name: "c"}))
			quiet := must[board.Card](b)(st.CreateCard(ctx, m, bd.ID, board.CardInput{ColumnID: col.ID, Title: "quiet"}))
			busy := must[board.Card](b)(st.CreateCard(ctx, m, bd.ID, board.CardInput{ColumnID: col.ID, Title: "busy"}))
			const n = 100_000
			if _, err := st.Pool().Exec(ctx, `
				WITH g AS (
					SELECT i, CASE WHEN i % 1000 = 0 THEN $3::text
					          ELSE '00000000-0000-0000-0000-' || lpad(to_hex(i % 1000), 12, '0') END AS card
					FROM generate_series(1, $2::int) i)
				INSERT INTO events (board_id, seq, kind, payload, actor)
				SELECT $1, 4 + i,
				  (ARRAY['card.updated', 'comment.created', 'checklist_item.updated', 'card.moved'])[i % 4 + 1],
				  CASE i % 4
				    WHEN 1 THEN jsonb_build_object('comment', jsonb_build_object('id', gen_random_uuid(), 'card_id', card, 'text', 'a comment of some length'),
				                                   'card', jsonb_build_object('id', card, 'comment_count', 1))
				    WHEN 2 THEN jsonb_build_object('item', jsonb_build_object('id', card, 'card_id', card, 'text', 'an item', 'done', i % 8 = 2),
				                                   'card', jsonb_build_object('id', card, 'checklist_done', 1))
				    ELSE jsonb_build_object('id', card, 'column_id', $4::text, 'title', 'a title of some length', 'description', repeat('x', 200))
				  END, 'owner'
				FROM g`, bd.ID, n, busy.ID, col.ID); err != nil {
				b.Fatal(err)
			}
			if _, err := st.Pool().Exec(ctx, `UPDATE boards SET seq = $2 WHERE id = $1`, bd.ID, 4+n); err != nil {
				b.Fatal(err)
			}
			if !indexed {
				if _, err := st.Pool().Exec(ctx, `DROP INDEX events_card; DROP INDEX events_board_entities`); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := st.Pool().Exec(ctx, `VACUUM ANALYZE events`); err != nil {
				b.Fatal(err)
			}
			// For scale: the plain events page of the same size, on the same
			// machine at the same moment.
			b.Run("events-page", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := st.Events(ctx, "owner", bd.ID, n-46, 50); err != nil {
						b.Fatal(err)
					}
				}
			})
			for _, tc := range []struct{ name, card string }{{"board", ""}, {"busy-card", busy.ID}, {"quiet-card", quiet.ID}} {
				b.Run(tc.name, func(b *testing.B) {
					q := board.ActivityQuery{Card: tc.card, Limit: 50}
					p, err := st.Activity(ctx, "owner", bd.ID, q)
					if err != nil {
						b.Fatal(err)
					}
					if want := map[string]int{"board": 50, "busy-card": 50, "quiet-card": 1}[tc.name]; len(p.Entries) != want {
						b.Fatalf("%d entries, want %d", len(p.Entries), want)
					}
					b.Log(explainActivity(b, st, bd.ID, q))
					b.ResetTimer()
					for b.Loop() {
						if _, err := st.Activity(ctx, "owner", bd.ID, q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

func explainActivity(b *testing.B, st *store.Store, boardID string, q board.ActivityQuery) string {
	b.Helper()
	sql, args := store.ActivitySQL(boardID, q)
	rows, err := st.Pool().Query(context.Background(), "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) "+sql, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var out strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		out.WriteString("\n" + line)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out.String()
}
