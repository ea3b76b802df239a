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
// of one column, the columns of one board, the checklists of a card or the
// items of a checklist. Items are ordered by (rank, id). The scope (column,
// board, card or checklist) is $1 in every query.
type siblings struct {
	what            string // "card", "column", "checklist" or "item", for messages
	table, scopeCol string // "cards" and "column_id", …
	// near reads the ranks either side of a position, excluding the item
	// being placed (see neighbours), by position: after, before, top,
	// bottom.
	near [4]string

	// For respace (cards and columns only: see respaceable).
	all     string // every item's id, in order
	respace string // $2 ids get $3 ranks
}

// Which of siblings.near a position reads.
const (
	nearAfter = iota
	nearBefore
	nearTop
	nearBottom
)

// newSiblings builds the near queries of the items of table whose scope is
// column scopeCol; scope is the SQL of the scope's id, from $1 (usually $1
// itself). One query per position: an anchor's rank and its neighbour's
// come back together (one row, or none when the anchor is not in scope).
func newSiblings(what, table, scopeCol, scope string) siblings {
	neighbour := func(cmp, order string) string {
		return `(SELECT n.rank FROM ` + table + ` n WHERE n.` + scopeCol + ` = a.` + scopeCol +
			` AND (n.rank, n.id) ` + cmp + ` (a.rank, a.id) AND n.id <> $3 ORDER BY ` + order + ` LIMIT 1)`
	}
	end := func(order string) string {
		return `(SELECT rank FROM ` + table + ` WHERE ` + scopeCol + ` = ` + scope + ` AND id <> $2 ORDER BY ` + order + ` LIMIT 1)`
	}
	anchor := ` FROM ` + table + ` a WHERE a.` + scopeCol + ` = ` + scope + ` AND a.id = $2`
	return siblings{what: what, table: table, scopeCol: scopeCol, near: [4]string{
		nearAfter:  `SELECT a.rank, ` + neighbour(">", "n.rank, n.id") + anchor,
		nearBefore: `SELECT ` + neighbour("<", "n.rank DESC, n.id DESC") + `, a.rank` + anchor,
		nearTop:    `SELECT NULL::text, ` + end("rank, id"),
		nearBottom: `SELECT ` + end("rank DESC, id DESC") + `, NULL::text`,
	}}
}

var cardSiblings = newSiblings("card", "cards", "column_id", "$1").respaceable()

// ownColumnSiblings are cardSiblings whose scope is the column of card $1:
// a move within its column reads its neighbours before the card itself is
// read. For that query only: the rank is cardSiblings' to compute (rankAt),
// which respaces a full gap.
var ownColumnSiblings = newSiblings("card", "cards", "column_id", "(SELECT column_id FROM cards WHERE id = $1)")

var columnSiblings = newSiblings("column", "columns", "board_id", "$1").respaceable()

// respaceable adds the queries that respace (see respace) the items of one
// scope, $1.
func (sb siblings) respaceable() siblings {
	sb.all = `SELECT id::text FROM ` + sb.table + ` WHERE ` + sb.scopeCol + ` = $1 ORDER BY rank, id`
	sb.respace = `UPDATE ` + sb.table + ` x SET rank = v.rank FROM unnest($2::uuid[], $3::text[]) AS v (id, rank)
		WHERE x.id = v.id AND x.` + sb.scopeCol + ` = $1`
	return sb
}

// neighbours are the ranks either side of a position ("" for an open end),
// as siblings.near reads them; anchored is false when the position's anchor
// (after or before) is not in scope.
type neighbours struct {
	lo, hi   string
	anchored bool
}

// query returns the near query of p and its arguments: the scope, the
// anchor if p has one, and self, the item being placed (noID for a new one).
func (sb siblings) query(scope, self string, p board.Position) (string, []any) {
	switch {
	case p.After != "":
		return sb.near[nearAfter], []any{scope, p.After, self}
	case p.Before != "":
		return sb.near[nearBefore], []any{scope, p.Before, self}
	case p.To == "top":
		return sb.near[nearTop], []any{scope, self}
	default:
		return sb.near[nearBottom], []any{scope, self}
	}
}

// scan reads a near query's row into n.
func (n *neighbours) scan(row pgx.Row) error {
	var lo, hi *string
	err := row.Scan(&lo, &hi)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // no anchor
	}
	if err != nil {
		return fmt.Errorf("read neighbour ranks: %w", err)
	}
	n.anchored = true
	if lo != nil {
		n.lo = *lo
	}
	if hi != nil {
		n.hi = *hi
	}
	return nil
}

// queueNeighbours queues on b the near query of p (see query), whose result
// goes to n: a mutation sends it with its BEGIN and board lock
// (mutateFirst), the lock statement having run first.
func (sb siblings) queueNeighbours(b *pgx.Batch, scope, self string, p board.Position, n *neighbours) {
	q, args := sb.query(scope, self, p)
	b.Queue(q, args...).QueryRow(n.scan)
}

// neighboursAt reads the neighbours at position p among the siblings in
// scope, excluding self, with one query.
func (sb siblings) neighboursAt(ctx context.Context, tx pgx.Tx, scope, self string, p board.Position) (neighbours, error) {
	var n neighbours
	q, args := sb.query(scope, self, p)
	err := n.scan(tx.QueryRow(ctx, q, args...))
	return n, err
}

// rankFor computes the rank of item self (noID for a new item) placed at p
// among the siblings in scope, with one query. It must run under the board
// lock, so that the neighbours it reads are the ones the rank lands between.
// Only the placed item gets a new rank: no other row is touched. When the
// gap has no room left it returns a *gapFull, for respacing to respace scope
// and try again (cards and columns), or EConflict (checklists and items,
// which are not respaced).
func (sb siblings) rankFor(ctx context.Context, tx pgx.Tx, scope, self string, p board.Position) (string, error) {
	n, err := sb.neighboursAt(ctx, tx, scope, self, p)
	if err != nil {
		return "", err
	}
	return sb.rankAt(n, scope, self, p)
}

// checkAnchor refuses to place an item after or before itself.
func (sb siblings) checkAnchor(self string, p board.Position) error {
	switch {
	case p.After != "" && p.After == self:
		return board.FieldError(board.EInvalid, "position.after", "a %s cannot go after itself", sb.what)
	case p.Before != "" && p.Before == self:
		return board.FieldError(board.EInvalid, "position.before", "a %s cannot go before itself", sb.what)
	}
	return nil
}

// rankAt is the rank between n's neighbours of item self placed at p in
// scope, after refusing an anchor that is self or not in scope (rankFor's
// checks and result, also for neighbours read in a batch).
func (sb siblings) rankAt(n neighbours, scope, self string, p board.Position) (string, error) {
	if err := sb.checkAnchor(self, p); err != nil {
		return "", err
	}
	if !n.anchored {
		field := "position.after"
		if p.After == "" {
			field = "position.before"
		}
		return "", board.FieldError(board.ENotFound, field, "no such %s here", sb.what)
	}
	r, err := rank.Between(n.lo, n.hi)
	if errors.Is(err, rank.ErrTooLong) {
		// Only thousands of inserts nested into one gap get here.
		if sb.respace == "" { // checklists and items are not respaced
			return "", board.Errorf(board.EConflict, "no room left between these %ss: place it elsewhere", sb.what)
		}
		return "", &gapFull{sb: sb, scope: scope}
	}
	if err != nil {
		return "", fmt.Errorf("rank between %q and %q: %w", n.lo, n.hi, err)
	}
	return r, nil
}
