package store

import "github.com/corkboard/corkboard/internal/board"

// ActivitySQL is the query of an activity page and its arguments, for
// EXPLAIN in benchmarks: before is the newest.
func ActivitySQL(boardID string, q board.ActivityQuery) (string, []any) {
	if q.Card == "" {
		return boardActivitySQL, []any{boardID, int64(1) << 62, q.Limit + 1}
	}
	return cardActivitySQL, []any{boardID, int64(1) << 62, q.Limit + 1, q.Card}
}
