package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/rank"
)

// gapFull is rankFor's error when the gap an item must go into has no room
// left (rank.ErrTooLong): the caller respaces the scope and tries again.
type gapFull struct {
	sb    siblings
	scope string // the column (cards) or board (columns)
}

func (e *gapFull) Error() string { return fmt.Sprintf("no room left between these %ss", e.sb.what) }

// respaceAttempts bounds how often a placement respaces and tries again: a
// respaced scope has room for thousands of inserts into any gap, so a
// second failure in a row means that many writers filled it in between.
const respaceAttempts = 3

// respacing runs op, a mutation that places an item, and when the gap it
// must go into is full respaces the item's scope (see respace) and runs op
// again: the caller never sees the full gap. The respacing is a mutation of
// its own, committed before op's retry, with its own event; the event is
// not returned (subscribers get it from the log, as the gap before op's
// event).
func respacing[T any](ctx context.Context, s *Store, m board.Meta, boardID string, op func() (T, board.Event, error)) (T, board.Event, error) {
	for attempt := 1; ; attempt++ {
		v, ev, err := op()
		var full *gapFull
		if !errors.As(err, &full) {
			return v, ev, err
		}
		if attempt == respaceAttempts {
			return v, ev, board.Errorf(board.EConflict, "%s: place it elsewhere", full.Error())
		}
		if _, err := s.respace(ctx, m, boardID, full.sb, full.scope); err != nil {
			return v, board.Event{}, err
		}
	}
}

// respace gives every item of scope (the cards of a column, or the columns
// of a board) a fresh rank, short and evenly spread, keeping their order,
// in one transaction with one event (cards.respaced or columns.respaced)
// that lists the new ranks. No other field changes, versions included: a
// rank is the server's to choose. m's actor is the event's; its op_id is
// not (the event is nobody's optimistic change), nor does the idempotent
// call in ctx complete with it.
func (s *Store) respace(ctx context.Context, m board.Meta, boardID string, sb siblings, scope string) (board.Event, error) {
	ctx = board.WithIdempotentCall(ctx, nil)
	_, ev, err := mutate(ctx, s, board.Meta{Actor: m.Actor}, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		rows, err := tx.Query(ctx, sb.all, scope)
		if err != nil {
			return struct{}{}, "", nil, fmt.Errorf("read %ss to respace: %w", sb.what, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return struct{}{}, "", nil, fmt.Errorf("read %ss to respace: %w", sb.what, err)
		}
		ranks, err := spread(len(ids))
		if err != nil {
			return struct{}{}, "", nil, err
		}
		if _, err := tx.Exec(ctx, sb.respace, scope, ids, ranks); err != nil {
			return struct{}{}, "", nil, fmt.Errorf("respace %ss: %w", sb.what, err)
		}
		out := board.Respaced{Ranks: make([]board.Ranked, len(ids))}
		for i, id := range ids {
			out.Ranks[i] = board.Ranked{ID: id, Rank: ranks[i]}
		}
		kind := board.KindColumnsRespaced
		if sb.what == "card" {
			kind, out.ColumnID = board.KindCardsRespaced, scope
		}
		return struct{}{}, kind, out, nil
	})
	return ev, err
}

// spread returns n increasing rank keys spread evenly over the key space,
// of the least length that leaves at least two digits of room (62² keys)
// between neighbours and at the ends.
func spread(n int) ([]string, error) {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	length, space := 1, uint64(62)
	for space/uint64(n+1) < 62*62 {
		if length == 10 { // 62^10 is the most a uint64 holds
			return nil, fmt.Errorf("respace %d items: too many", n)
		}
		length, space = length+1, space*62
	}
	step := space / uint64(n+1)
	keys := make([]string, n)
	buf := make([]byte, length)
	for i := range keys {
		v := step * uint64(i+1)
		for d := length - 1; d >= 0; d-- {
			buf[d] = digits[v%62]
			v /= 62
		}
		k := string(buf)
		for k[len(k)-1] == '0' { // the same fraction without its trailing zeros
			k = k[:len(k)-1]
		}
		if err := rank.Valid(k); err != nil {
			return nil, fmt.Errorf("respace: key %q: %w", k, err)
		}
		keys[i] = k
	}
	return keys, nil
}
