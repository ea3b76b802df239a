package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

const labelCols = `l.id::text, l.board_id::text, l.name, l.color, l.version, l.created_at, l.updated_at`

func scanLabel(row pgx.Row) (board.Label, error) {
	var l board.Label
	err := row.Scan(&l.ID, &l.BoardID, &l.Name, &l.Color, &l.Version, &l.CreatedAt, &l.UpdatedAt)
	return l, err
}

// readLabels reads the board's labels in a snapshot's order
// (board.SortLabels).
func readLabels(ctx context.Context, tx pgx.Tx, boardID string) ([]board.Label, error) {
	rows, err := tx.Query(ctx, `SELECT `+labelCols+` FROM labels l WHERE l.board_id = $1`, boardID)
	if err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	return collectLabels(rows)
}

func collectLabels(rows pgx.Rows) ([]board.Label, error) {
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.Label, error) { return scanLabel(r) })
	if err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	if list == nil {
		list = []board.Label{}
	}
	board.SortLabels(list)
	return list, nil
}

// ListLabels returns the board's labels, by name, if user is a member.
func (s *Store) ListLabels(ctx context.Context, user, boardID string) ([]board.Label, error) {
	var list []board.Label
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			if _, err := readBoard(ctx, tx, user, boardID); err != nil {
				return err
			}
			var err error
			list, err = readLabels(ctx, tx, boardID)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("labels of board %s: %w", boardID, err)
	}
	return list, nil
}

// checkLabels checks, under the board lock, that every id names a label of
// the board: EInvalid naming labels otherwise (a label of another board is
// no label of this one).
func checkLabels(ctx context.Context, tx pgx.Tx, boardID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var unknown []string
	err := tx.QueryRow(ctx, `
		SELECT coalesce(array_agg(x::text ORDER BY n), '{}') FROM unnest($2::uuid[]) WITH ORDINALITY AS u (x, n)
		WHERE NOT EXISTS (SELECT 1 FROM labels WHERE board_id = $1 AND id = x)`, boardID, ids).Scan(&unknown)
	if err != nil {
		return fmt.Errorf("check labels: %w", err)
	}
	if len(unknown) > 0 {
		return board.FieldError(board.EInvalid, "labels", "no label of this board has the id %s", strings.Join(unknown, ", "))
	}
	return nil
}

// currentLabel reads a label of the board under the board lock: ENotFound
// when the board has no such label, EVersionMismatch (with the label) when
// ifVersion > 0 names another version.
func currentLabel(ctx context.Context, tx pgx.Tx, boardID, labelID string, ifVersion int64) (board.Label, error) {
	l, err := scanLabel(tx.QueryRow(ctx, `SELECT `+labelCols+` FROM labels l WHERE l.id = $1 AND l.board_id = $2`,
		labelID, boardID))
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Label{}, board.Errorf(board.ENotFound, "no such label")
	}
	if err != nil {
		return board.Label{}, fmt.Errorf("read label: %w", err)
	}
	if ifVersion > 0 && l.Version != ifVersion {
		return board.Label{}, staleError("label", l.Version, ifVersion, l)
	}
	return l, nil
}

// nameTaken returns EConflict when another label of the board (than except)
// has name, regardless of case.
func nameTaken(ctx context.Context, tx pgx.Tx, boardID, except, name string) error {
	var other string
	err := tx.QueryRow(ctx, `SELECT name FROM labels WHERE board_id = $1 AND lower(name) = lower($2) AND id <> $3`,
		boardID, name, except).Scan(&other)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read label names: %w", err)
	}
	return &board.Error{Code: board.EConflict, Field: "name",
		Message: fmt.Sprintf("the board has a label named %q already (names are unique regardless of case)", other)}
}

// CreateLabel adds a label to the board: an owner or editor may. EConflict
// when the board has a label of that name (regardless of case) or has
// board.MaxBoardLabels labels. An empty in.Color is board.LabelColor(name).
func (s *Store) CreateLabel(ctx context.Context, m board.Meta, boardID string, in board.LabelInput) (board.Label, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Label, string, any, error) {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM labels WHERE board_id = $1`, boardID).Scan(&n); err != nil {
			return board.Label{}, "", nil, fmt.Errorf("count labels: %w", err)
		}
		if n >= board.MaxBoardLabels {
			return board.Label{}, "", nil, board.Errorf(board.EConflict,
				"the board has %d labels; the limit is %d", n, board.MaxBoardLabels)
		}
		if err := nameTaken(ctx, tx, boardID, noID, in.Name); err != nil {
			return board.Label{}, "", nil, err
		}
		color := in.Color
		if color == "" {
			color = board.LabelColor(in.Name)
		}
		l, err := scanLabel(tx.QueryRow(ctx, `
			INSERT INTO labels AS l (board_id, name, color) VALUES ($1, $2, $3) RETURNING `+labelCols,
			boardID, in.Name, color))
		if err != nil {
			return board.Label{}, "", nil, fmt.Errorf("insert label: %w", err)
		}
		return l, board.KindLabelCreated, l, nil
	})
}

// UpdateLabel renames or recolours a label. Cards name labels by id, so
// every card shows the change at once; the event is label.updated alone.
// EConflict when another label of the board has the new name (regardless
// of case). ifVersion > 0 makes it a compare-and-set.
func (s *Store) UpdateLabel(ctx context.Context, m board.Meta, boardID, labelID string, p board.LabelPatch, ifVersion int64) (board.Label, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Label, string, any, error) {
		if _, err := currentLabel(ctx, tx, boardID, labelID, ifVersion); err != nil {
			return board.Label{}, "", nil, err
		}
		if p.Name != nil {
			if err := nameTaken(ctx, tx, boardID, labelID, *p.Name); err != nil {
				return board.Label{}, "", nil, err
			}
		}
		l, err := scanLabel(tx.QueryRow(ctx, `
			UPDATE labels l SET name = coalesce($3, name), color = coalesce($4, color),
				version = version + 1, updated_at = now()
			WHERE id = $1 AND board_id = $2 RETURNING `+labelCols, labelID, boardID, p.Name, p.Color))
		if err != nil {
			return board.Label{}, "", nil, fmt.Errorf("update label: %w", err)
		}
		return l, board.KindLabelUpdated, l, nil
	})
}

// DeleteLabel deletes a label and removes it from every card of the board
// that has it, in one transaction with one event (label.deleted, listing
// those cards). The cards' versions do not change. ifVersion > 0 makes it a
// compare-and-set.
func (s *Store) DeleteLabel(ctx context.Context, m board.Meta, boardID, labelID string, ifVersion int64) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		var none struct{}
		if _, err := currentLabel(ctx, tx, boardID, labelID, ifVersion); err != nil {
			return none, "", nil, err
		}
		var cards []string
		err := tx.QueryRow(ctx, `
			WITH changed AS (
				UPDATE cards SET label_ids = array_remove(label_ids, $2::uuid)
				WHERE board_id = $1 AND $2::uuid = ANY (label_ids) RETURNING id)
			SELECT coalesce(array_agg(id::text ORDER BY id), '{}') FROM changed`, boardID, labelID).Scan(&cards)
		if err != nil {
			return none, "", nil, fmt.Errorf("remove label from cards: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM labels WHERE id = $1 AND board_id = $2`, labelID, boardID); err != nil {
			return none, "", nil, fmt.Errorf("delete label: %w", err)
		}
		slices.Sort(cards)
		return none, board.KindLabelDeleted, board.LabelDeleted{ID: labelID, Cards: cards}, nil
	})
	return ev, err
}
