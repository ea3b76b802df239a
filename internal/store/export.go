package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// ExportBoard returns the board with everything on it as one document, as
// of one consistent point in its log (Board.Seq), if user is a member.
func (s *Store) ExportBoard(ctx context.Context, user, boardID string) (board.Export, error) {
	x := board.Export{Format: board.ExportFormat, Version: board.ExportVersion}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			b, err := readBoard(ctx, tx, user, boardID)
			if err != nil {
				return err
			}
			x.Board = board.ExportBoard{ID: b.ID, Name: b.Name, Description: b.Description, CreatedAt: b.CreatedAt, Seq: b.Seq}
			if x.Members, err = readMembers(ctx, tx, boardID); err != nil {
				return err
			}
			labels, err := readLabels(ctx, tx, boardID)
			if err != nil {
				return err
			}
			x.Labels = make([]board.ExportLabel, len(labels))
			for i, l := range labels {
				x.Labels[i] = board.ExportLabel{ID: l.ID, Name: l.Name, Color: l.Color}
			}
			cols, err := readColumns(ctx, tx, boardID)
			if err != nil {
				return err
			}
			cards, err := readCards(ctx, tx, `
				SELECT `+cardCols+` FROM cards c JOIN columns col ON col.id = c.column_id
				WHERE c.board_id = $1 ORDER BY col.rank, col.id, c.rank, c.id`, boardID)
			if err != nil {
				return err
			}
			lists, err := readChecklists(ctx, tx, `l.board_id = $1`, boardID)
			if err != nil {
				return err
			}
			comments, err := readComments(ctx, tx, `k.board_id = $1`, boardID)
			if err != nil {
				return err
			}
			x.Columns = exportColumns(cols, cards, lists, comments)
			return nil
		})
	if err != nil {
		return board.Export{}, fmt.Errorf("export board %s: %w", boardID, err)
	}
	x.ExportedAt = time.Now().UTC()
	return x, nil
}

// exportColumns nests cards in order under their columns, and checklists
// (in order) and comments (oldest first) under their cards.
func exportColumns(cols []board.Column, cards []board.Card, lists []board.Checklist, comments []board.Comment) []board.ExportColumn {
	listsOf := map[string][]board.ExportChecklist{}
	for _, l := range lists {
		items := make([]board.ExportItem, len(l.Items))
		for i, it := range l.Items {
			items[i] = board.ExportItem{ID: it.ID, Text: it.Text, Done: it.Done}
		}
		listsOf[l.CardID] = append(listsOf[l.CardID], board.ExportChecklist{ID: l.ID, Name: l.Name, Items: items})
	}
	commentsOf := map[string][]board.ExportComment{}
	for _, k := range comments {
		commentsOf[k.CardID] = append(commentsOf[k.CardID], board.ExportComment{ID: k.ID, AuthorID: k.AuthorID,
			AuthorUsername: k.AuthorUsername, Text: k.Text, CreatedAt: k.CreatedAt, EditedAt: k.EditedAt})
	}
	out := make([]board.ExportColumn, len(cols))
	place := make(map[string]int, len(cols))
	for i, c := range cols {
		out[i] = board.ExportColumn{ID: c.ID, Name: c.Name, Cards: []board.ExportCard{}}
		place[c.ID] = i
	}
	for _, c := range cards {
		col := &out[place[c.ColumnID]]
		col.Cards = append(col.Cards, board.ExportCard{ID: c.ID, Title: c.Title, Description: c.Description,
			Labels: nonNil(c.Labels), Due: c.Due, Assignees: nonNil(c.Assignees), Done: c.Done, Archived: c.Archived,
			CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, ArchivedAt: c.ArchivedAt,
			Checklists: nonNilSlice(listsOf[c.ID]), Comments: nonNilSlice(commentsOf[c.ID])})
	}
	return out
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
