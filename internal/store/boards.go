package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

const boardCols = `b.id::text, b.name, b.description, b.owner_id,
	coalesce((SELECT username FROM users WHERE id::text = b.owner_id), b.owner_id),
	b.version, b.seq, b.created_at, b.updated_at`

func scanBoard(row pgx.Row, extra ...any) (board.Board, error) {
	var b board.Board
	dest := append([]any{&b.ID, &b.Name, &b.Description, &b.OwnerID, &b.OwnerUsername, &b.Version, &b.Seq,
		&b.CreatedAt, &b.UpdatedAt}, extra...)
	err := row.Scan(dest...)
	return b, err
}

// beginNewBoard begins the transaction of a call that creates a board
// owned by m.Actor (locking its Idempotency-Key, see lockCall) and inserts
// the board, at seq 1, and its owner. The caller rolls tx back when it does
// not commit; on an error there is nothing to roll back.
func (s *Store) beginNewBoard(ctx context.Context, m board.Meta, name, description string) (pgx.Tx, board.Board, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, board.Board{}, fmt.Errorf("begin: %w", err)
	}
	b, err := func() (board.Board, error) {
		if err := lockCall(ctx, tx); err != nil {
			return board.Board{}, err
		}
		b, err := scanBoard(tx.QueryRow(ctx, `
			INSERT INTO boards AS b (name, description, owner_id, seq) VALUES ($1, $2, $3, 1)
			RETURNING `+boardCols, name, description, m.Actor))
		if err != nil {
			return board.Board{}, fmt.Errorf("insert board: %w", err)
		}
		b.Role = board.RoleOwner
		if _, err := tx.Exec(ctx, `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, $2, 'owner')`,
			b.ID, m.Actor); err != nil {
			return board.Board{}, fmt.Errorf("insert owner: %w", err)
		}
		return b, nil
	}()
	if err != nil {
		tx.Rollback(ctx) //nolint:errcheck // the error that made it fail is the one to report
		return nil, board.Board{}, err
	}
	return tx, b, nil
}

// CreateBoard creates a board owned by m.Actor, with its first event
// (board.created, seq 1).
func (s *Store) CreateBoard(ctx context.Context, m board.Meta, in board.BoardInput) (board.Board, board.Event, error) {
	if b, ok, err := replayedCall[board.Board](ctx); ok {
		return b, board.Event{}, err
	}
	tx, b, err := s.beginNewBoard(ctx, m, in.Name, in.Description)
	if err != nil {
		return board.Board{}, board.Event{}, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	ev, err := appendEvent(ctx, tx, b.ID, 1, board.KindBoardCreated, boardPayload(b), m)
	if err != nil {
		return board.Board{}, board.Event{}, err
	}
	if err := completeCall(ctx, tx, b); err != nil {
		return board.Board{}, board.Event{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return board.Board{}, board.Event{}, fmt.Errorf("commit: %w", err)
	}
	return b, ev, nil
}

// boardPayload is a board as events carry it: without the role, which is
// each reader's own.
func boardPayload(b board.Board) board.Board {
	b.Role = ""
	return b
}

// ListBoards returns the boards user is a member of, oldest first, each with
// the user's role.
func (s *Store) ListBoards(ctx context.Context, user string) ([]board.Board, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+boardCols+`, m.role FROM boards b
		JOIN board_members m ON m.board_id = b.id
		WHERE m.user_id = $1 ORDER BY b.created_at, b.id`, user)
	if err != nil {
		return nil, fmt.Errorf("list boards: %w", err)
	}
	boards := []board.Board{}
	for rows.Next() {
		var role string
		b, err := scanBoard(rows, &role)
		if err != nil {
			return nil, fmt.Errorf("list boards: %w", err)
		}
		b.Role = role
		boards = append(boards, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list boards: %w", err)
	}
	return boards, nil
}

// UpdateBoard changes the board's fields set in p. ifVersion > 0 makes it a
// compare-and-set: EVersionMismatch (with the current board) when stale.
func (s *Store) UpdateBoard(ctx context.Context, m board.Meta, boardID string, p board.BoardPatch, ifVersion int64) (board.Board, board.Event, error) {
	return mutate(ctx, s, m, boardID, true, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Board, string, any, error) {
		b, err := scanBoard(tx.QueryRow(ctx, `
			UPDATE boards b SET name = coalesce($2, name), description = coalesce($3, description),
				version = version + 1, updated_at = now()
			WHERE id = $1 AND ($4 = 0 OR version = $4) RETURNING `+boardCols,
			boardID, p.Name, p.Description, ifVersion))
		if errors.Is(err, pgx.ErrNoRows) {
			cur, err := readBoard(ctx, tx, m.Actor, boardID)
			if err != nil {
				return board.Board{}, "", nil, err
			}
			cur.Seq = seq - 1 // as committed, before this transaction
			return board.Board{}, "", nil, staleError("board", cur.Version, ifVersion, cur)
		}
		if err != nil {
			return board.Board{}, "", nil, fmt.Errorf("update board: %w", err)
		}
		b.Role = board.RoleOwner
		return b, board.KindBoardUpdated, boardPayload(b), nil
	})
}

// DeleteBoard deletes the board with everything on it; only the owner may.
// Its last event, board.deleted (seq = the previous seq + 1), is appended in
// the same transaction: the board's log stays, readable by the server
// (LogEvents, ReadLog) until retention removes it, but no member remains to
// read it through Events.
func (s *Store) DeleteBoard(ctx context.Context, m board.Meta, boardID string, ifVersion int64) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, true, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		var version int64
		if err := tx.QueryRow(ctx, `SELECT version FROM boards WHERE id = $1`, boardID).Scan(&version); err != nil {
			return struct{}{}, "", nil, fmt.Errorf("read board version: %w", err)
		}
		if ifVersion > 0 && version != ifVersion {
			cur, err := readBoard(ctx, tx, m.Actor, boardID)
			if err != nil {
				return struct{}{}, "", nil, err
			}
			cur.Seq = seq - 1 // as committed, before this transaction
			return struct{}{}, "", nil, staleError("board", version, ifVersion, cur)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM boards WHERE id = $1`, boardID); err != nil {
			return struct{}{}, "", nil, fmt.Errorf("delete board: %w", err)
		}
		return struct{}{}, board.KindBoardDeleted, board.Deleted{ID: boardID}, nil
	})
	return ev, err
}

// Snapshot returns the board with its columns and cards in order, as of one
// consistent point in its log (Seq), if user is a member.
//
// With a replica (OpenReplica) the snapshot is read there, unless the
// replica has not replayed the board yet or is behind the seq that
// board.WithMinSeq put in ctx: then the primary answers.
func (s *Store) Snapshot(ctx context.Context, user, boardID string) (board.Snapshot, error) {
	minSeq := board.MinSeqFrom(ctx)
	var snap board.Snapshot
	err := s.read(ctx, func(ctx context.Context, q db, onReplica bool) (bool, error) {
		var err error
		snap, err = readSnapshot(ctx, q, user, boardID)
		return err == nil && snap.Seq < minSeq, err
	})
	if err != nil {
		return board.Snapshot{}, fmt.Errorf("snapshot of board %s: %w", boardID, err)
	}
	return snap, nil
}

// BoardHead returns the board's seq and the user's role on it in one
// indexed read: what a cached snapshot is checked against (a snapshot is
// fully determined by its board, its seq and the reader's role). ENotFound
// unless user is a member. With board.WithMinSeq it never answers a seq
// below that, like Snapshot.
func (s *Store) BoardHead(ctx context.Context, user, boardID string) (seq int64, role string, err error) {
	minSeq := board.MinSeqFrom(ctx)
	err = s.read(ctx, func(ctx context.Context, q db, _ bool) (bool, error) {
		err := q.QueryRow(ctx, `
			SELECT b.seq, m.role FROM boards b
			JOIN board_members m ON m.board_id = b.id AND m.user_id = $2
			WHERE b.id = $1`, boardID, user).Scan(&seq, &role)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, board.Errorf(board.ENotFound, "no such board")
		}
		return err == nil && seq < minSeq, err
	})
	if err != nil {
		return 0, "", fmt.Errorf("head of board %s: %w", boardID, err)
	}
	return seq, role, nil
}

func readSnapshot(ctx context.Context, q db, user, boardID string) (board.Snapshot, error) {
	var snap board.Snapshot
	err := pgx.BeginTxFunc(ctx, q, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var err error
			snap.Board, err = readBoard(ctx, tx, user, boardID)
			if err != nil {
				return err
			}
			snap.Seq = snap.Board.Seq
			if snap.Columns, err = readColumns(ctx, tx, boardID); err != nil {
				return err
			}
			if snap.Members, err = readMembers(ctx, tx, boardID); err != nil {
				return err
			}
			// The number of cards comes in the same round trip, ahead of
			// them, to size the slice (see scanCards).
			var n int
			b := &pgx.Batch{}
			b.Queue(`SELECT count(*) FROM cards WHERE board_id = $1`, boardID).
				QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
			b.Queue(`SELECT `+labelCols+` FROM labels l WHERE l.board_id = $1`, boardID).
				Query(func(rows pgx.Rows) (err error) { snap.Labels, err = collectLabels(rows); return err })
			b.Queue(`
				SELECT `+cardCols+` FROM cards c JOIN columns col ON col.id = c.column_id
				WHERE c.board_id = $1 ORDER BY col.rank, col.id, c.rank, c.id`, boardID).
				Query(func(rows pgx.Rows) (err error) { snap.Cards, err = scanCards(rows, n); return err })
			return tx.SendBatch(ctx, b).Close()
		})
	return snap, err
}

// readBoard reads the board if user is a member; ENotFound otherwise.
func readBoard(ctx context.Context, q pgx.Tx, user, boardID string) (board.Board, error) {
	var role string
	b, err := scanBoard(q.QueryRow(ctx, `
		SELECT `+boardCols+`, m.role FROM boards b
		JOIN board_members m ON m.board_id = b.id AND m.user_id = $2
		WHERE b.id = $1`, boardID, user), &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Board{}, board.Errorf(board.ENotFound, "no such board")
	}
	if err != nil {
		return board.Board{}, fmt.Errorf("read board: %w", err)
	}
	b.Role = role
	return b, nil
}

// Events returns up to limit events of the board after seq since, in seq
// order, no more than board.MaxEventsPageBytes of them but at least one if
// there is one, and the board's current seq, if user is a member (ENotFound
// otherwise). ESinceExpired says that events after since are no longer all
// in the log (retention removed them), or that since is ahead of the board
// (the database was restored from a backup taken before since): either way
// the client must reload the snapshot. limit 0 returns just the head.
//
// With a replica (OpenReplica) the page is read there, unless the replica's
// head is behind since or behind the seq board.WithMinSeq put in ctx: then
// the primary answers. A page from the replica ends at the replica's head,
// which the caller continues from (see LogEvents).
func (s *Store) Events(ctx context.Context, user, boardID string, since int64, limit int) ([]board.Event, int64, error) {
	minSeq := board.MinSeqFrom(ctx)
	var events []board.Event
	var head int64
	err := s.read(ctx, func(ctx context.Context, q db, onReplica bool) (bool, error) {
		var err error
		events, head, err = readEventsPage(ctx, q, user, boardID, since, limit)
		return err == nil && head < minSeq, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("events of board %s: %w", boardID, err)
	}
	return events, head, nil
}

func readEventsPage(ctx context.Context, q db, user, boardID string, since int64, limit int) ([]board.Event, int64, error) {
	var events []board.Event
	var head int64
	err := pgx.BeginTxFunc(ctx, q, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			b, err := readBoard(ctx, tx, user, boardID)
			if err != nil {
				return err
			}
			head = b.Seq
			if since > head {
				return board.Errorf(board.ESinceExpired,
					"the board is at seq %d, before %d (it was restored from a backup): reload the board and continue from its seq", head, since)
			}
			if limit == 0 {
				events = []board.Event{}
				return nil
			}
			events, err = readEvents(ctx, tx, boardID, since, limit, board.MaxEventsPageBytes)
			if err == nil && since < head && (len(events) == 0 || events[0].Seq != since+1) {
				return board.Errorf(board.ESinceExpired,
					"events after %d are no longer kept: reload the board and continue from its seq", since)
			}
			return err
		})
	return events, head, err
}

// LogEvents returns up to limit events of the board after since, in seq
// order, for the server's own use (no membership check). Fewer than limit
// means the log holds no more (up to the primary's head).
//
// With a replica (OpenReplica) the events are read there first, and when
// the replica returns fewer than limit (it may not have replayed the newest
// ones), the rest are read from the primary: a caller that asks for the
// events up to a head it knows of gets them all, whatever the replica's lag.
func (s *Store) LogEvents(ctx context.Context, boardID string, since int64, limit int) ([]board.Event, error) {
	var events []board.Event
	err := s.read(ctx, func(ctx context.Context, q db, onReplica bool) (bool, error) {
		from, want := since, limit
		if !onReplica && len(events) > 0 { // the replica's answer was short: continue it
			from, want = events[len(events)-1].Seq, limit-len(events)
		} else {
			events = nil
		}
		more, err := readLog(ctx, q, boardID, from, want)
		if err != nil {
			return false, err
		}
		events = append(events, more...)
		return len(events) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("log of board %s: %w", boardID, err)
	}
	return events, nil
}

func readLog(ctx context.Context, q db, boardID string, since int64, limit int) ([]board.Event, error) {
	var events []board.Event
	err := pgx.BeginTxFunc(ctx, q, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		events, err = readEvents(ctx, tx, boardID, since, limit, 0)
		return err
	})
	return events, err
}

// Heads returns the current seq of each listed board that exists, and of
// each deleted board whose log is still kept: the seq of its board.deleted
// event, so that a hub that missed it reads it from the log. A board that is
// in neither is not in the map.
func (s *Store) Heads(ctx context.Context, boardIDs []string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id::text, seq FROM boards WHERE id = ANY ($1::uuid[])
		UNION ALL
		SELECT e.board_id::text, max(e.seq) FROM events e
		WHERE e.board_id = ANY ($1::uuid[]) AND NOT EXISTS (SELECT 1 FROM boards b WHERE b.id = e.board_id)
		GROUP BY e.board_id`, boardIDs)
	if err != nil {
		return nil, fmt.Errorf("board heads: %w", err)
	}
	heads := make(map[string]int64, len(boardIDs))
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, fmt.Errorf("board heads: %w", err)
		}
		heads[id] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("board heads: %w", err)
	}
	return heads, nil
}

// readEvents reads up to limit events after since and, with maxBytes > 0,
// no more than fit in maxBytes (board.MaxEventsPageBytes), but at least one:
// PostgreSQL sums the sizes and sends only the events of the page.
func readEvents(ctx context.Context, q pgx.Tx, boardID string, since int64, limit, maxBytes int) ([]board.Event, error) {
	query := `
		SELECT seq, kind, payload, actor, op_id, at FROM events
		WHERE board_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	args := []any{boardID, since, limit}
	if maxBytes > 0 {
		query = `
		SELECT seq, kind, payload, actor, op_id, at FROM (
			SELECT *, sum(size) OVER (ORDER BY seq) AS total, row_number() OVER (ORDER BY seq) AS n FROM (
				SELECT seq, kind, payload, actor, op_id, at, octet_length(payload::text) + $5 AS size FROM events
				WHERE board_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) page) sized
		WHERE total <= $4 OR n = 1 ORDER BY seq`
		args = append(args, maxBytes, board.EventOverheadBytes)
	}
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	events := []board.Event{}
	for rows.Next() {
		e := board.Event{BoardID: boardID}
		var data []byte
		if err := rows.Scan(&e.Seq, &e.Kind, &data, &e.Actor, &e.OpID, &e.At); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		e.Data = data
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return events, nil
}
