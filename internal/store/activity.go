package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// The SQL of the activity feed. cardKey is the card an event is about, and
// must stay exactly the expression of the events_card index
// (migrations/0011_activity.sql): the planner uses an expression index only
// for the same expression.
const (
	cardKeyOf = `(CASE WHEN %[1]s.kind LIKE 'card.%%' THEN %[1]s.payload->>'id' ELSE %[1]s.payload->'card'->>'id' END)`
	// family is the part of a kind before its dot: card, comment,
	// checklist, checklist_item, attachment, column, label, member, board.
	familyOf = `split_part(%[1]s.kind, '.', 1)`
	// entityOf is the id of the entity an event is about, within its family.
	entityOf = `(CASE split_part(%[1]s.kind, '.', 1)
		WHEN 'comment' THEN coalesce(%[1]s.payload->'comment'->>'id', %[1]s.payload->>'deleted')
		WHEN 'checklist' THEN coalesce(%[1]s.payload->'checklist'->>'id', %[1]s.payload->>'deleted')
		WHEN 'checklist_item' THEN coalesce(%[1]s.payload->'item'->>'id', %[1]s.payload->>'deleted')
		WHEN 'attachment' THEN coalesce(%[1]s.payload->'attachment'->>'id', %[1]s.payload->>'deleted')
		ELSE %[1]s.payload->>'id' END)`
	// stateOf is the entity as an event leaves it.
	stateOf = `(CASE split_part(%[1]s.kind, '.', 1)
		WHEN 'comment' THEN %[1]s.payload->'comment'
		WHEN 'checklist' THEN %[1]s.payload->'checklist'
		WHEN 'checklist_item' THEN %[1]s.payload->'item'
		WHEN 'attachment' THEN %[1]s.payload->'attachment'
		ELSE %[1]s.payload END)`
	// boardEntityKinds are the kinds of the events_board_entities index.
	boardEntityKinds = `('board.created', 'board.updated',
		'column.created', 'column.updated', 'column.moved', 'column.deleted',
		'label.created', 'label.updated', 'label.deleted')`
)

func sqlf(format, alias string) string { return fmt.Sprintf(format, alias) }

// activityPageSQL reads page (the chosen events) and, for each, the state
// its entity had before it: the latest earlier event of the same entity
// that is not a deletion, found through events_card for what is on a card
// and through events_board_entities for the board, its columns and labels.
func activityPageSQL(page string) string {
	return `
		WITH page AS (` + page + `)
		SELECT e.seq, e.kind, e.payload, e.actor, e.op_id, e.at, coalesce(cp.state, bp.state)
		FROM page e
		LEFT JOIN LATERAL (
			SELECT ` + sqlf(stateOf, "p") + ` AS state FROM events p
			WHERE ` + sqlf(familyOf, "e") + ` IN ('card', 'comment', 'checklist', 'checklist_item', 'attachment')
			  AND e.kind NOT LIKE '%.created'
			  AND p.board_id = $1 AND ` + sqlf(cardKeyOf, "p") + ` = ` + sqlf(cardKeyOf, "e") + `
			  AND p.seq < e.seq AND p.kind NOT LIKE '%.deleted'
			  AND ` + sqlf(familyOf, "p") + ` = ` + sqlf(familyOf, "e") + `
			  AND ` + sqlf(entityOf, "p") + ` = ` + sqlf(entityOf, "e") + `
			ORDER BY p.seq DESC LIMIT 1) cp ON true
		LEFT JOIN LATERAL (
			SELECT p.payload AS state FROM events p
			WHERE e.kind IN ('board.updated', 'column.updated', 'column.moved', 'column.deleted', 'label.updated', 'label.deleted')
			  AND p.board_id = $1 AND p.kind IN ` + boardEntityKinds + `
			  AND p.payload->>'id' = e.payload->>'id'
			  AND p.seq < e.seq AND p.kind NOT LIKE '%.deleted'
			ORDER BY p.seq DESC LIMIT 1) bp ON true
		ORDER BY e.seq DESC`
}

// The events of a page, newest first, one more than asked for (to tell
// whether there are older ones): $1 board, $2 before, $3 limit+1, $4 card.
var (
	boardActivitySQL = activityPageSQL(`
		SELECT seq, kind, payload, actor, op_id, at FROM events
		WHERE board_id = $1 AND seq < $2 AND kind NOT IN ('cards.respaced', 'columns.respaced')
		ORDER BY seq DESC LIMIT $3`)
	cardActivitySQL = activityPageSQL(`
		SELECT * FROM (
			(SELECT seq, kind, payload, actor, op_id, at FROM events a
			 WHERE board_id = $1 AND ` + sqlf(cardKeyOf, "a") + ` = $4 AND seq < $2
			 ORDER BY seq DESC LIMIT $3)
			UNION ALL
			(SELECT seq, kind, payload, actor, op_id, at FROM events
			 WHERE board_id = $1 AND kind IN ('column.deleted', 'label.deleted') AND seq < $2
			   AND (payload->'deleted' ? $4 OR payload->'moved' @> jsonb_build_array(jsonb_build_object('id', $4::text))
			        OR payload->'cards' ? $4)
			 ORDER BY seq DESC LIMIT $3)
		) u ORDER BY seq DESC LIMIT $3`)
)

// Activity returns a page of the board's activity (see board.ActivityPage),
// newest first: at most q.Limit entries and, like an events page, no more
// than board.MaxEventsPageBytes of payloads and prevs (but at least one
// entry), if user is a member of the board (any role): ENotFound
// otherwise, and ENotFound when q.Card is not a card of the board (a card
// since deleted included). EInvalid for a limit outside 1 to
// board.MaxActivityLimit or a negative before.
//
// A page is read in one snapshot; paging on with Next never repeats or
// skips an entry, whatever is written meanwhile (new events come after
// the first page's). With a replica the page is read there.
func (s *Store) Activity(ctx context.Context, user, boardID string, q board.ActivityQuery) (board.ActivityPage, error) {
	if q.Limit < 1 || q.Limit > board.MaxActivityLimit {
		return board.ActivityPage{}, board.FieldError(board.EInvalid, "limit", "must be from 1 to %d", board.MaxActivityLimit)
	}
	if q.Before < 0 {
		return board.ActivityPage{}, board.FieldError(board.EInvalid, "before", "is negative")
	}
	var page board.ActivityPage
	err := s.read(ctx, func(ctx context.Context, conn db, _ bool) (bool, error) {
		var err error
		page, err = readActivity(ctx, conn, user, boardID, q)
		return false, err
	})
	if err != nil {
		return board.ActivityPage{}, fmt.Errorf("activity of board %s: %w", boardID, err)
	}
	return page, nil
}

func readActivity(ctx context.Context, q db, user, boardID string, aq board.ActivityQuery) (board.ActivityPage, error) {
	page := board.ActivityPage{Entries: []board.ActivityEntry{}, Users: map[string]string{}}
	err := pgx.BeginTxFunc(ctx, q, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			b, err := readBoard(ctx, tx, user, boardID)
			if err != nil {
				return err
			}
			before := aq.Before
			if before == 0 || before > b.Seq {
				before = b.Seq + 1
			}
			query, args := boardActivitySQL, []any{boardID, before, aq.Limit + 1}
			if aq.Card != "" {
				var ok bool
				err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cards WHERE board_id = $1 AND id = $2)`,
					boardID, aq.Card).Scan(&ok)
				if err != nil {
					return fmt.Errorf("read card: %w", err)
				}
				if !ok {
					return board.FieldError(board.ENotFound, "card", "no such card on this board")
				}
				query, args = cardActivitySQL, append(args, aq.Card)
			}
			rows, err := tx.Query(ctx, query, args...)
			if err != nil {
				return fmt.Errorf("read activity: %w", err)
			}
			size := 0
			for rows.Next() {
				e := board.ActivityEntry{Event: board.Event{BoardID: boardID}}
				var data, prev []byte
				if err := rows.Scan(&e.Seq, &e.Kind, &data, &e.Actor, &e.OpID, &e.At, &prev); err != nil {
					return fmt.Errorf("read activity: %w", err)
				}
				e.Data, e.Prev = data, prev
				size += len(data) + len(prev) + board.EventOverheadBytes
				if len(page.Entries) == aq.Limit || (len(page.Entries) > 0 && size > board.MaxEventsPageBytes) {
					page.More = true // an older entry exists beyond the page
					break
				}
				page.Entries = append(page.Entries, e)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("read activity: %w", err)
			}
			page.Next = before
			if n := len(page.Entries); n > 0 {
				page.Next = page.Entries[n-1].Seq
			}
			return readActors(ctx, tx, page)
		})
	return page, err
}

// readActors fills page.Users with the username of every entry's actor.
func readActors(ctx context.Context, tx pgx.Tx, page board.ActivityPage) error {
	seen := map[string]bool{}
	ids := []string{}
	for _, e := range page.Entries {
		if !seen[e.Actor] && board.ValidID(e.Actor) {
			seen[e.Actor] = true
			ids = append(ids, e.Actor)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id::text, username FROM users WHERE id = ANY ($1::uuid[])`, ids)
	if err != nil {
		return fmt.Errorf("read actors: %w", err)
	}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("read actors: %w", err)
		}
		page.Users[id] = name
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read actors: %w", err)
	}
	return nil
}
