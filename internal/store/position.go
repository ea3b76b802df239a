package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/rank"
)

// noID stands for "no item" where a query excludes the item being placed.
const noID = "00000000-0000-0000-0000-000000000000"

// siblings are the queries that find a rank among ordered siblings: the cards
// of one column, or the columns of one board. $1 is the scope (column or
// board id). Items are ordered by (rank, id); every query excludes the item
// being placed.
type siblings struct {
	what  string // "card" or "column", for messages
	find  string // $2 id → rank
	next  string // first after ($2 rank, $3 id), excluding $4
	prev  string // last before ($2 rank, $3 id), excluding $4
	first string // excluding $2
	last  string // excluding $2

	all     string // every item's id, in order
	respace string // $2 ids get $3 ranks
}

var cardSiblings = siblings{
	what:  "card",
	find:  `SELECT rank FROM cards WHERE column_id = $1 AND id = $2`,
	next:  `SELECT rank FROM cards WHERE column_id = $1 AND (rank, id) > ($2, $3::uuid) AND id <> $4 ORDER BY rank, id LIMIT 1`,
	prev:  `SELECT rank FROM cards WHERE column_id = $1 AND (rank, id) < ($2, $3::uuid) AND id <> $4 ORDER BY rank DESC, id DESC LIMIT 1`,
	first: `SELECT rank FROM cards WHERE column_id = $1 AND id <> $2 ORDER BY rank, id LIMIT 1`,
	last:  `SELECT rank FROM cards WHERE column_id = $1 AND id <> $2 ORDER BY rank DESC, id DESC LIMIT 1`,

	all: `SELECT id::text FROM cards WHERE column_id = $1 ORDER BY rank, id`,
	respace: `UPDATE cards c SET rank = v.rank FROM unnest($2::uuid[], $3::text[]) AS v (id, rank)
		WHERE c.id = v.id AND c.column_id = $1`,
}

var columnSiblings = siblings{
	what:  "column",
	find:  `SELECT rank FROM columns WHERE board_id = $1 AND id = $2`,
	next:  `SELECT rank FROM columns WHERE board_id = $1 AND (rank, id) > ($2, $3::uuid) AND id <> $4 ORDER BY rank, id LIMIT 1`,
	prev:  `SELECT rank FROM columns WHERE board_id = $1 AND (rank, id) < ($2, $3::uuid) AND id <> $4 ORDER BY rank DESC, id DESC LIMIT 1`,
	first: `SELECT rank FROM columns WHERE board_id = $1 AND id <> $2 ORDER BY rank, id LIMIT 1`,
	last:  `SELECT rank FROM columns WHERE board_id = $1 AND id <> $2 ORDER BY rank DESC, id DESC LIMIT 1`,

	all: `SELECT id::text FROM columns WHERE board_id = $1 ORDER BY rank, id`,
	respace: `UPDATE columns l SET rank = v.rank FROM unnest($2::uuid[], $3::text[]) AS v (id, rank)
		WHERE l.id = v.id AND l.board_id = $1`,
}

// rankFor computes the rank of item self (noID for a new item) placed at p
// among the siblings in scope. It must run under the board lock, so that the
// neighbours it reads are the ones the rank lands between. Only the placed
// item gets a new rank: no other row is touched. When the gap has no room
// left it returns a *gapFull, for respacing to respace scope and try again.
func (sb siblings) rankFor(ctx context.Context, tx pgx.Tx, scope, self string, p board.Position) (string, error) {
	var lo, hi string
	var err error
	switch {
	case p.After != "":
		if p.After == self {
			return "", board.FieldError(board.EInvalid, "position.after", "a %s cannot go after itself", sb.what)
		}
		if lo, err = sb.rankOf(ctx, tx, scope, p.After, "position.after"); err != nil {
			return "", err
		}
		hi, err = optionalRank(tx.QueryRow(ctx, sb.next, scope, lo, p.After, self))
	case p.Before != "":
		if p.Before == self {
			return "", board.FieldError(board.EInvalid, "position.before", "a %s cannot go before itself", sb.what)
		}
		if hi, err = sb.rankOf(ctx, tx, scope, p.Before, "position.before"); err != nil {
			return "", err
		}
		lo, err = optionalRank(tx.QueryRow(ctx, sb.prev, scope, hi, p.Before, self))
	case p.To == "top":
		hi, err = optionalRank(tx.QueryRow(ctx, sb.first, scope, self))
	default:
		lo, err = optionalRank(tx.QueryRow(ctx, sb.last, scope, self))
	}
	if err != nil {
		return "", fmt.Errorf("read neighbour ranks: %w", err)
	}
	r, err := rank.Between(lo, hi)
	if errors.Is(err, rank.ErrTooLong) {
		// Only thousands of inserts nested into one gap get here.
		return "", &gapFull{sb: sb, scope: scope}
	}
	if err != nil {
		return "", fmt.Errorf("rank between %q and %q: %w", lo, hi, err)
	}
	return r, nil
}

func (sb siblings) rankOf(ctx context.Context, tx pgx.Tx, scope, id, field string) (string, error) {
	var r string
	err := tx.QueryRow(ctx, sb.find, scope, id).Scan(&r)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", board.FieldError(board.ENotFound, field, "no such %s here", sb.what)
	}
	if err != nil {
		return "", fmt.Errorf("read rank of %s %s: %w", sb.what, id, err)
	}
	return r, nil
}

// optionalRank scans a rank that may not exist ("" then: an open end).
func optionalRank(row pgx.Row) (string, error) {
	var r string
	err := row.Scan(&r)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return r, err
}
