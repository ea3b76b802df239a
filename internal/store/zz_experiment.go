package store

// TEMPORARY (benchmark A/B experiment; to be removed).

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// Variant: 0 original (SELECT + 5 round trips), 1 no SELECT, 2 no SELECT + pipelined.
var Variant = 2

func mutateOld[T any](ctx context.Context, s *Store, m board.Meta, boardID string, ownerOnly bool, fn mutation[T]) (T, board.Event, error) {
	var zero T
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return zero, board.Event{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	roles := []string{board.RoleOwner, board.RoleEditor}
	if ownerOnly {
		roles = roles[:1]
	}
	var seq int64
	err = tx.QueryRow(ctx, `
		UPDATE boards SET seq = seq + 1
		WHERE id = $1 AND EXISTS (
			SELECT 1 FROM board_members
			WHERE board_id = $1 AND user_id = $2 AND role = ANY ($3))
		RETURNING seq`, boardID, m.Actor, roles).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, board.Event{}, accessError(ctx, tx, boardID, m.Actor)
	}
	if err != nil {
		return zero, board.Event{}, fmt.Errorf("lock board: %w", err)
	}
	result, kind, payload, err := fn(ctx, tx, seq)
	if err != nil {
		return zero, board.Event{}, err
	}
	ev, err := appendEvent(ctx, tx, boardID, seq, kind, payload, m)
	if err != nil {
		return zero, board.Event{}, err
	}
	if err := completeCall(ctx, tx, result); err != nil {
		return zero, board.Event{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return zero, board.Event{}, fmt.Errorf("commit: %w", err)
	}
	return result, ev, nil
}
