package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/rank"
)

const columnCols = `l.id::text, l.board_id::text, l.name, l.rank, l.version, l.created_at, l.updated_at`

func scanColumn(row pgx.Row) (board.Column, error) {
	var c board.Column
	err := row.Scan(&c.ID, &c.BoardID, &c.Name, &c.Rank, &c.Version, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

func readColumns(ctx context.Context, tx pgx.Tx, boardID string) ([]board.Column, error) {
	rows, err := tx.Query(ctx, `SELECT `+columnCols+` FROM columns l WHERE board_id = $1 ORDER BY rank, id`, boardID)
	if err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	cols := []board.Column{}
	for rows.Next() {
		c, err := scanColumn(rows)
		if err != nil {
			return nil, fmt.Errorf("read columns: %w", err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	return cols, nil
}

// currentColumnSQL reads column $1 of board $2.
const currentColumnSQL = `SELECT ` + columnCols + ` FROM columns l WHERE id = $1 AND board_id = $2`

// queueColumnFound queues on b the read of column colID of the board, whose
// outcome goes to *ok (a mutation's first statements: see mutateFirst).
func queueColumnFound(b *pgx.Batch, boardID, colID string, ok *bool) {
	b.Queue(currentColumnSQL, colID, boardID).QueryRow(func(row pgx.Row) error {
		_, err := scanColumn(row)
		*ok, err = found(err, "column")
		return err
	})
}

// currentColumn reads a column of the board under the board lock: ENotFound
// when the board has no such column, EVersionMismatch (with the column) when
// ifVersion > 0 names another version.
func currentColumn(ctx context.Context, tx pgx.Tx, boardID, colID string, ifVersion int64) (board.Column, error) {
	c, err := scanColumn(tx.QueryRow(ctx, currentColumnSQL, colID, boardID))
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Column{}, board.Errorf(board.ENotFound, "no such column")
	}
	if err != nil {
		return board.Column{}, fmt.Errorf("read column: %w", err)
	}
	if ifVersion > 0 && c.Version != ifVersion {
		return board.Column{}, staleError("column", c.Version, ifVersion, c)
	}
	return c, nil
}

// CreateColumn adds a column to the board at in.Position (default: last),
// respacing the board's columns first if the gap there is full.
func (s *Store) CreateColumn(ctx context.Context, m board.Meta, boardID string, in board.ColumnInput) (board.Column, board.Event, error) {
	return respacing(ctx, s, m, boardID, func() (board.Column, board.Event, error) { return s.createColumn(ctx, m, boardID, in) })
}

func (s *Store) createColumn(ctx context.Context, m board.Meta, boardID string, in board.ColumnInput) (board.Column, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Column, string, any, error) {
		r, err := columnSiblings.rankFor(ctx, tx, boardID, noID, in.Position)
		if err != nil {
			return board.Column{}, "", nil, err
		}
		c, err := scanColumn(tx.QueryRow(ctx, `
			INSERT INTO columns AS l (board_id, name, rank) VALUES ($1, $2, $3) RETURNING `+columnCols,
			boardID, in.Name, r))
		if err != nil {
			return board.Column{}, "", nil, fmt.Errorf("insert column: %w", err)
		}
		return c, board.KindColumnCreated, c, nil
	})
}

// UpdateColumn renames a column; ifVersion > 0 makes it a compare-and-set.
func (s *Store) UpdateColumn(ctx context.Context, m board.Meta, boardID, colID string, p board.ColumnPatch, ifVersion int64) (board.Column, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Column, string, any, error) {
		if _, err := currentColumn(ctx, tx, boardID, colID, ifVersion); err != nil {
			return board.Column{}, "", nil, err
		}
		c, err := scanColumn(tx.QueryRow(ctx, `
			UPDATE columns l SET name = coalesce($3, name), version = version + 1, updated_at = now()
			WHERE id = $1 AND board_id = $2 RETURNING `+columnCols, colID, boardID, p.Name))
		if err != nil {
			return board.Column{}, "", nil, fmt.Errorf("update column: %w", err)
		}
		return c, board.KindColumnUpdated, c, nil
	})
}

// MoveColumn puts a column at p among the board's columns, respacing them
// first if the gap there is full.
func (s *Store) MoveColumn(ctx context.Context, m board.Meta, boardID, colID string, p board.Position, ifVersion int64) (board.Column, board.Event, error) {
	return respacing(ctx, s, m, boardID, func() (board.Column, board.Event, error) { return s.moveColumn(ctx, m, boardID, colID, p, ifVersion) })
}

func (s *Store) moveColumn(ctx context.Context, m board.Meta, boardID, colID string, p board.Position, ifVersion int64) (board.Column, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Column, string, any, error) {
		if _, err := currentColumn(ctx, tx, boardID, colID, ifVersion); err != nil {
			return board.Column{}, "", nil, err
		}
		r, err := columnSiblings.rankFor(ctx, tx, boardID, colID, p)
		if err != nil {
			return board.Column{}, "", nil, err
		}
		c, err := scanColumn(tx.QueryRow(ctx, `
			UPDATE columns l SET rank = $3, version = version + 1, updated_at = now()
			WHERE id = $1 AND board_id = $2 RETURNING `+columnCols, colID, boardID, r))
		if err != nil {
			return board.Column{}, "", nil, fmt.Errorf("move column: %w", err)
		}
		return c, board.KindColumnMoved, c, nil
	})
}

// DeleteColumn deletes a column. A column with cards needs d.Cards: CardsMove
// appends them, in order, to the bottom of column d.To; CardsDelete deletes
// them. Without a choice a non-empty column is EConflict.
func (s *Store) DeleteColumn(ctx context.Context, m board.Meta, boardID, colID string, d board.ColumnDelete, ifVersion int64) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		var none struct{}
		if _, err := currentColumn(ctx, tx, boardID, colID, ifVersion); err != nil {
			return none, "", nil, err
		}
		out := board.ColumnDeleted{ID: colID, Cards: d.Cards, To: d.To}
		var err error
		switch d.Cards {
		case "":
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM cards WHERE column_id = $1`, colID).Scan(&n); err != nil {
				return none, "", nil, fmt.Errorf("count cards: %w", err)
			}
			if n > 0 {
				return none, "", nil, board.Errorf(board.EConflict,
					"the column has %d cards: delete it with cards=move&to=COLUMN or cards=delete", n)
			}
		case board.CardsMove:
			out.Moved, err = moveAllCards(ctx, tx, boardID, colID, d.To)
		case board.CardsDelete:
			out.Deleted, err = deleteAllCards(ctx, tx, colID)
		}
		if err != nil {
			return none, "", nil, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM columns WHERE id = $1`, colID); err != nil {
			return none, "", nil, fmt.Errorf("delete column: %w", err)
		}
		return none, board.KindColumnDeleted, out, nil
	})
	return ev, err
}

// moveAllCards appends the cards of column from, in their order, to the bottom
// of column to, and returns them as moved.
func moveAllCards(ctx context.Context, tx pgx.Tx, boardID, from, to string) ([]board.Card, error) {
	if to == from {
		return nil, board.FieldError(board.EInvalid, "to", "cards cannot move to the column being deleted")
	}
	if _, err := currentColumn(ctx, tx, boardID, to, 0); err != nil {
		return nil, fieldOf(err, "to")
	}
	rows, err := tx.Query(ctx, `SELECT id::text FROM cards WHERE column_id = $1 ORDER BY rank, id`, from)
	if err != nil {
		return nil, fmt.Errorf("read cards to move: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read cards to move: %w", err)
	}
	end, err := cardSiblings.neighboursAt(ctx, tx, to, noID, board.Position{To: "bottom"})
	if err != nil {
		return nil, err
	}
	last := end.lo
	ranks := make([]string, len(ids))
	for i := range ids {
		if last, err = rank.Between(last, ""); err != nil {
			return nil, fmt.Errorf("rank after %q: %w", last, err)
		}
		ranks[i] = last
	}
	moved, err := readCards(ctx, tx, `
		UPDATE cards c SET column_id = $2, rank = v.rank, version = version + 1, updated_at = now()
		FROM unnest($3::uuid[], $4::text[]) AS v (id, rank)
		WHERE c.id = v.id AND c.column_id = $1
		RETURNING `+cardCols, from, to, ids, ranks)
	if err != nil {
		return nil, fmt.Errorf("move cards: %w", err)
	}
	board.SortCards(moved, nil)
	return moved, nil
}

func deleteAllCards(ctx context.Context, tx pgx.Tx, colID string) ([]string, error) {
	rows, err := tx.Query(ctx, `DELETE FROM cards WHERE column_id = $1 RETURNING id::text`, colID)
	if err != nil {
		return nil, fmt.Errorf("delete cards: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("delete cards: %w", err)
	}
	return ids, nil
}
