package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// searchSQL finds the cards of the boards $1 is a member of (only board $3
// when it is not NULL) whose title and description (cards.search) or one
// of whose comments (comments.search) match the web-search query $2,
// ranked by ts_rank_cd (title words weigh more than description words; a
// comment's rank counts half), skipping archived cards, and returns the
// page after the cursor ($4 score, $5 card id; NULL: the first page), $6
// rows, each with its description, its best matching comment and, for the
// highlights, the words of its title, description and that comment that
// share a lexeme with the query (search_matched_words, migration 0009).
//
// The query is written out where it is used, not taken from a CTE, and the
// statement is planned with its parameters (Search runs it with
// QueryExecModeExec, never as a cached generic plan): then the planner
// folds the tsquery into a constant and estimates from the column's
// statistics how many cards have its words, and reads a common word's
// cards board by board (cards_board, comments_board) but a rare word's
// through the GIN index. With the tsquery in a CTE it guessed 500 for
// every word and read all 36,000 cards of a common one across 1,000
// boards (docs/benchmarks.md). A matched comment's card is checked (not
// archived) by its primary key, one by one (OFFSET 0 keeps that subquery
// a nested loop): as a join, the planner hashed every card of the table.
//
// Membership is joined in the same statement, so a board the user has left
// (or been removed from) before the search began is never searched.
// websearch_to_tsquery accepts any text: operators it does not know are
// taken as text, and a query of no words (punctuation, stop words only)
// matches nothing.
const searchSQL = `
	WITH visible AS (
		SELECT board_id FROM board_members WHERE user_id = $1 AND ($3::uuid IS NULL OR board_id = $3::uuid)),
	hits AS (
		SELECT c.id AS card_id, ts_rank_cd(c.search, websearch_to_tsquery('english', $2)) AS score
		FROM visible v JOIN cards c ON c.board_id = v.board_id
		WHERE c.search @@ websearch_to_tsquery('english', $2) AND c.archived_at IS NULL
		UNION ALL
		SELECT k.card_id, 0.5 * ts_rank_cd(k.search, websearch_to_tsquery('english', $2))
		FROM visible v JOIN comments k ON k.board_id = v.board_id
		CROSS JOIN LATERAL (
			SELECT FROM cards c WHERE c.id = k.card_id AND c.archived_at IS NULL OFFSET 0) live
		WHERE k.search @@ websearch_to_tsquery('english', $2)),
	ranked AS (
		SELECT card_id, max(score)::real AS score FROM hits GROUP BY card_id),
	page AS (
		SELECT card_id, score FROM ranked
		WHERE $4::real IS NULL OR score < $4::real OR (score = $4::real AND card_id > $5::uuid)
		ORDER BY score DESC, card_id LIMIT $6),
	lex AS (SELECT tsvector_to_array(to_tsvector('english', $2)) AS lex)
	SELECT c.id::text, c.board_id::text, b.name, c.column_id::text, col.name, c.title, c.done,
		to_char(c.due, 'YYYY-MM-DD'), p.score, c.description, hc.text,
		search_matched_words(c.title, lex.lex), search_matched_words(c.description, lex.lex), search_matched_words(hc.text, lex.lex)
	FROM page p
	JOIN cards c ON c.id = p.card_id
	JOIN boards b ON b.id = c.board_id
	JOIN columns col ON col.id = c.column_id
	CROSS JOIN lex
	LEFT JOIN LATERAL (
		SELECT k.text FROM comments k WHERE k.card_id = c.id AND k.search @@ websearch_to_tsquery('english', $2)
		ORDER BY ts_rank_cd(k.search, websearch_to_tsquery('english', $2)) DESC, k.created_at, k.id LIMIT 1) hc ON true
	ORDER BY p.score DESC, p.card_id`

// Search returns a page of the cards user may see that match sq (see
// board.SearchQuery; sq must have passed Check), best first. With
// sq.Board, a board user is not a member of is ENotFound.
//
// Search reads the primary, not the replica: the membership it filters by
// must be the current one (a replica behind a removal would still show
// the board).
func (s *Store) Search(ctx context.Context, user string, sq board.SearchQuery) (board.SearchPage, error) {
	var page board.SearchPage
	var score, card any
	if sq.After != nil {
		score, card = sq.After.Score, sq.After.CardID
	}
	search := func(q interface {
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}, boardArg any) error {
		rows, err := q.Query(ctx, searchSQL, pgx.QueryExecModeExec, user, sq.Text, boardArg, score, card, sq.Limit+1)
		if err != nil {
			return err
		}
		page.Results, err = pgx.CollectRows(rows, scanSearchResult)
		return err
	}
	var err error
	if sq.Board == "" {
		err = search(s.pool, nil) // one statement: one snapshot
	} else {
		// The membership check (ENotFound) and the search see one snapshot.
		err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
			func(tx pgx.Tx) error {
				if _, err := readBoard(ctx, tx, user, sq.Board); err != nil {
					return err
				}
				return search(tx, sq.Board)
			})
	}
	if err != nil {
		return board.SearchPage{}, fmt.Errorf("search: %w", err)
	}
	if len(page.Results) > sq.Limit {
		page.Results = page.Results[:sq.Limit]
		last := page.Results[sq.Limit-1]
		page.Next = &board.SearchCursor{Score: last.Score, CardID: last.CardID}
	}
	if page.Results == nil {
		page.Results = []board.SearchResult{}
	}
	return page, nil
}

func scanSearchResult(row pgx.CollectableRow) (board.SearchResult, error) {
	var r board.SearchResult
	var desc string
	var comment *string
	var inTitle, inDesc, inComment []string
	err := row.Scan(&r.CardID, &r.BoardID, &r.BoardName, &r.ColumnID, &r.ColumnName, &r.Title, &r.Done,
		&r.Due, &r.Score, &desc, &comment, &inTitle, &inDesc, &inComment)
	if err != nil {
		return r, err
	}
	parts, ok := board.MarkWords(r.Title, wordSet(inTitle), false)
	if !ok {
		parts = []board.HighlightPart{{Text: r.Title}}
	}
	r.Highlights = []board.Highlight{{Field: "title", Parts: parts}}
	if parts, ok := board.MarkWords(desc, wordSet(inDesc), true); ok {
		r.Highlights = append(r.Highlights, board.Highlight{Field: "description", Parts: parts})
	}
	if comment != nil {
		if parts, ok := board.MarkWords(*comment, wordSet(inComment), true); ok {
			r.Highlights = append(r.Highlights, board.Highlight{Field: "comment", Parts: parts})
		}
	}
	return r, nil
}

func wordSet(words []string) map[string]bool {
	set := make(map[string]bool, len(words))
	for _, w := range words {
		set[strings.ToLower(w)] = true
	}
	return set
}
