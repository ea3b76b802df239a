package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// The global log.
//
// Every event has, besides its per-board seq, a position in one log across
// all boards. A position cannot be taken inside the mutating transaction: a
// sequence value taken there orders transactions by when they took it, not
// by when they committed (T1 takes 10, T2 takes 11 and commits first; a
// reader that saw 11 and moved on never sees 10), and a global lock held
// through COMMIT would make every board's writes wait for each other's.
//
// So events are inserted with position NULL, and positions are assigned
// after commit by a sequencer (SequenceLog), which any number of instances
// run at once. One of them at a time leads, holding the row lock of the one
// log_head row (the last position assigned) for one short transaction in
// which it numbers a batch of committed unpositioned events from
// log_head.position + 1 on, and moves log_head on. This holds because:
//
//   - No position is assigned twice and none is skipped: leaders are
//     serialized by the log_head lock, and a leader reads, after it got the
//     lock, in a statement whose snapshot includes the previous leader's
//     commit (READ COMMITTED takes a snapshot per statement), so it numbers
//     only rows still unnumbered, continuing from the head the previous
//     leader left. The unique index on position would refuse a duplicate.
//   - Positions follow seq order per board: a board's seq n+1 is taken under
//     the board row lock, which seq n's transaction held until it had
//     committed, so when seq n+1 is visible so is seq n. A batch takes, per
//     board, the lowest unnumbered seqs (ORDER BY board_id, seq with the
//     limit), and numbers each board's rows in seq order.
//   - Positions become visible in order: one leader's positions all commit
//     together, and the next leader starts only after that commit. A reader
//     whose snapshot shows position P therefore shows every position below P
//     too (apart from what retention deleted, see DeleteEventsBefore), so
//     reading "after the last position seen" never misses an event.
//
// Within a batch, boards are interleaved by the time their events were
// written (each board's running latest at), so the global order is close to
// commit order; only the per-board order is a promise.

// FromHead, passed to RegisterConsumer, starts a consumer at the current
// head of the log: it sees the events numbered after it registered.
const FromHead int64 = -1

// maxConsumerName is the longest name RegisterConsumer accepts.
const maxConsumerName = 200

// SequenceLog numbers up to limit committed events that have no position
// yet, continuing the global log, and returns how many it numbered. Any
// number of callers, in any number of processes, may run it at once: they
// take turns (see the comment at the top of this file). A caller that gets
// limit back should call again.
func (s *Store) SequenceLog(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("sequence log: limit %d is not positive", limit)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("sequence log: %w", err)
	}
	defer conn.Release()
	// BEGIN, the lock and the numbering go in one round trip; the server
	// runs them one after the other, so the numbering statement's snapshot
	// is taken after the lock was granted.
	var head, n int64
	var last *int64
	b := &pgx.Batch{}
	b.Queue(`SELECT position FROM log_head FOR UPDATE`).QueryRow(func(row pgx.Row) error { return row.Scan(&head) })
	b.Queue(`
		WITH batch AS (
			SELECT board_id, seq, max(at) OVER (PARTITION BY board_id ORDER BY seq) AS run_at
			FROM (SELECT board_id, seq, at FROM events WHERE position IS NULL
			      ORDER BY board_id, seq LIMIT $1) unnumbered
		), numbered AS (
			SELECT board_id, seq,
			       (SELECT position FROM log_head) + row_number() OVER (ORDER BY run_at, board_id, seq) AS position
			FROM batch
		), assigned AS (
			UPDATE events e SET position = n.position FROM numbered n
			WHERE e.board_id = n.board_id AND e.seq = n.seq AND e.position IS NULL
			RETURNING e.position
		)
		SELECT count(*), max(position) FROM assigned`, limit).
		QueryRow(func(row pgx.Row) error { return row.Scan(&n, &last) })
	tx, err := beginWith(ctx, conn.Conn(), b)
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after the commit
	if err != nil {
		return 0, fmt.Errorf("sequence log: number events: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	if *last != head+n {
		// Under the lock every numbered row was unnumbered; refuse to leave
		// a gap if that ever fails to hold.
		return 0, fmt.Errorf("sequence log: %d events numbered up to %d from head %d", n, *last, head)
	}
	b = &pgx.Batch{}
	b.Queue(`UPDATE log_head SET position = $1`, *last)
	if err := tx.commitWith(ctx, b); err != nil {
		return 0, fmt.Errorf("sequence log: move the head to %d and commit: %w", *last, err)
	}
	return int(n), nil
}

// Sequencer runs SequenceLog in the background: when woken after a local
// commit, and every Interval for commits made by other instances. Run one in
// every instance.
type Sequencer struct {
	st   *Store
	o    SequencerOptions
	wake chan struct{}
}

// SequencerOptions tune a Sequencer.
type SequencerOptions struct {
	// Interval is how often the log is checked for events committed
	// elsewhere (default 250ms): with no Wake, the bound on how long an
	// event waits for its position.
	Interval time.Duration
	// Batch is how many events one transaction numbers (default 1000).
	Batch int
	// Spacing is the least time between two runs (default 50ms): under a
	// steady stream of commits, wakes within it are served by one run, which
	// numbers their events in one transaction instead of one each. Each run
	// is a transaction with its own commit, and wakes the log's consumers
	// (Numbered), which run one more each: at 600 commits a second, 5 ms
	// cost about 120 µs of the server's CPU per mutation and 30 % of
	// PostgreSQL's.
	Spacing time.Duration
	Logger  *slog.Logger
	// Numbered, when set, is called after each transaction that numbered
	// events (to wake the log's consumers); it must not block.
	Numbered func()
}

// NewSequencer returns a sequencer of st's log; start it with Run.
func NewSequencer(st *Store, o SequencerOptions) *Sequencer {
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Spacing <= 0 {
		o.Spacing = 50 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sequencer{st: st, o: o, wake: make(chan struct{}, 1)}
}

// Wake asks the sequencer to number events now: call it after a commit. It
// never blocks; wakes that come while the sequencer is busy are merged.
func (q *Sequencer) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run numbers events until ctx is done. Errors are retried at the next tick
// or wake; the first of a run of failures is logged as an error, the others
// at debug level, and the recovery again.
func (q *Sequencer) Run(ctx context.Context) {
	t := time.NewTicker(q.o.Interval)
	defer t.Stop()
	spacing := time.NewTimer(0)
	defer spacing.Stop()
	<-spacing.C
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-q.wake:
		}
		for {
			n, err := q.st.SequenceLog(ctx, q.o.Batch)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil && !failing:
				q.o.Logger.Error("number the event log", "err", err)
			case err != nil:
				q.o.Logger.Debug("number the event log", "err", err)
			case failing:
				q.o.Logger.Info("numbering the event log again")
			}
			failing = err != nil
			if n > 0 && q.o.Numbered != nil {
				q.o.Numbered()
			}
			if err != nil || n < q.o.Batch {
				break
			}
		}
		spacing.Reset(q.o.Spacing)
		select {
		case <-ctx.Done():
			return
		case <-spacing.C:
		}
	}
}

// ReadLog returns up to limit events of every board with a position after
// after, in position order, each with its Position set. Reading on from the
// last position returned never misses an event (see the comment at the top
// of this file). Events are readable by position shortly after their commit,
// once a sequencer has numbered them.
//
// ESinceExpired says that retention has deleted events after after: the
// reader fell behind. A registered consumer reading from its own cursor never
// gets it. EInvalid for a negative after or limit.
func (s *Store) ReadLog(ctx context.Context, after int64, limit int) ([]board.Event, error) {
	if after < 0 {
		return nil, board.FieldError(board.EInvalid, "after", "is negative")
	}
	if limit < 0 {
		return nil, board.FieldError(board.EInvalid, "limit", "is negative")
	}
	events := []board.Event{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var trimmed int64
			if err := tx.QueryRow(ctx, `SELECT trimmed_to FROM log_retention`).Scan(&trimmed); err != nil {
				return fmt.Errorf("read retention: %w", err)
			}
			if after < trimmed {
				return board.Errorf(board.ESinceExpired,
					"events after position %d are no longer kept (retention deleted up to %d)", after, trimmed)
			}
			rows, err := tx.Query(ctx, `
				SELECT board_id::text, seq, position, kind, payload, actor, op_id, at FROM events
				WHERE position > $1 ORDER BY position LIMIT $2`, after, limit)
			if err != nil {
				return fmt.Errorf("read events: %w", err)
			}
			for rows.Next() {
				var e board.Event
				var data []byte
				if err := rows.Scan(&e.BoardID, &e.Seq, &e.Position, &e.Kind, &data, &e.Actor, &e.OpID, &e.At); err != nil {
					return fmt.Errorf("read events: %w", err)
				}
				e.Data = data
				events = append(events, e)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("read events: %w", err)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	return events, nil
}

// LogHead returns the last position assigned and the highest position
// retention has deleted (reading after a position below it gets
// ESinceExpired).
func (s *Store) LogHead(ctx context.Context) (head, trimmed int64, err error) {
	err = s.pool.QueryRow(ctx, `SELECT h.position, r.trimmed_to FROM log_head h, log_retention r`).Scan(&head, &trimmed)
	if err != nil {
		return 0, 0, fmt.Errorf("read log head: %w", err)
	}
	return head, trimmed, nil
}

const consumerCols = `name, position, registered_at, updated_at`

func scanConsumer(row pgx.Row) (board.LogConsumer, error) {
	var c board.LogConsumer
	err := row.Scan(&c.Name, &c.Position, &c.RegisteredAt, &c.UpdatedAt)
	return c, err
}

// RegisterConsumer registers a consumer of the global log named name, with
// its cursor at from (the last position it has processed; FromHead for the
// current head), and returns it. Registering a name again returns the
// consumer as it is, cursor unchanged, so an instance may register at every
// start. From then on retention keeps every event after the cursor.
//
// EInvalid for an empty or long name or a from beyond the head;
// ESinceExpired when retention has already deleted events after from.
func (s *Store) RegisterConsumer(ctx context.Context, name string, from int64) (board.LogConsumer, error) {
	if name == "" || len(name) > maxConsumerName {
		return board.LogConsumer{}, board.FieldError(board.EInvalid, "name", "must have 1 to %d bytes", maxConsumerName)
	}
	if from < FromHead {
		return board.LogConsumer{}, board.FieldError(board.EInvalid, "from", "is negative")
	}
	var c board.LogConsumer
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Retention holds this row's lock while it deletes: a consumer is
		// registered either before (and retention keeps its events) or
		// after (and sees what retention deleted).
		var head, trimmed int64
		err := tx.QueryRow(ctx, `
			SELECT h.position, r.trimmed_to FROM log_head h, (SELECT trimmed_to FROM log_retention FOR SHARE) r`).
			Scan(&head, &trimmed)
		if err != nil {
			return fmt.Errorf("read log head: %w", err)
		}
		c, err = scanConsumer(tx.QueryRow(ctx, `SELECT `+consumerCols+` FROM log_consumers WHERE name = $1`, name))
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read consumer: %w", err)
		}
		if from == FromHead {
			from = head
		}
		if from > head {
			return board.FieldError(board.EInvalid, "from", "is %d, but the log is at %d", from, head)
		}
		if from < trimmed {
			return board.Errorf(board.ESinceExpired,
				"events after position %d are no longer kept (retention deleted up to %d)", from, trimmed)
		}
		// A concurrent registration of the same name wins; the next
		// statement reads whichever did.
		if _, err := tx.Exec(ctx, `INSERT INTO log_consumers (name, position) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, name, from); err != nil {
			return fmt.Errorf("insert consumer: %w", err)
		}
		c, err = scanConsumer(tx.QueryRow(ctx, `SELECT `+consumerCols+` FROM log_consumers WHERE name = $1`, name))
		if err != nil {
			return fmt.Errorf("read consumer: %w", err)
		}
		return nil
	})
	if err != nil {
		return board.LogConsumer{}, fmt.Errorf("register log consumer %q: %w", name, err)
	}
	return c, nil
}

// Consumer returns the registered consumer named name; ENotFound if none.
func (s *Store) Consumer(ctx context.Context, name string) (board.LogConsumer, error) {
	c, err := scanConsumer(s.pool.QueryRow(ctx, `SELECT `+consumerCols+` FROM log_consumers WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return board.LogConsumer{}, board.Errorf(board.ENotFound, "no log consumer %q", name)
	}
	if err != nil {
		return board.LogConsumer{}, fmt.Errorf("read log consumer %q: %w", name, err)
	}
	return c, nil
}

// ListConsumers returns every registered consumer, by name.
func (s *Store) ListConsumers(ctx context.Context) ([]board.LogConsumer, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+consumerCols+` FROM log_consumers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list log consumers: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.LogConsumer, error) { return scanConsumer(r) })
	if err != nil {
		return nil, fmt.Errorf("list log consumers: %w", err)
	}
	return cs, nil
}

// AdvanceConsumer moves the consumer's cursor to position, the last position
// it has processed, and returns it. A cursor never moves back: a position
// at or before the cursor leaves it where it is. ENotFound for no such
// consumer; EInvalid for a position beyond the log's head.
func (s *Store) AdvanceConsumer(ctx context.Context, name string, position int64) (board.LogConsumer, error) {
	c, err := scanConsumer(s.pool.QueryRow(ctx, `
		UPDATE log_consumers SET position = $2, updated_at = now()
		WHERE name = $1 AND position < $2 AND $2 <= (SELECT position FROM log_head)
		RETURNING `+consumerCols, name, position))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return board.LogConsumer{}, fmt.Errorf("advance log consumer %q: %w", name, err)
	}
	c, err = s.Consumer(ctx, name)
	if err != nil {
		return board.LogConsumer{}, err
	}
	if position > c.Position {
		return board.LogConsumer{}, board.FieldError(board.EInvalid, "position", "is beyond the head of the log")
	}
	return c, nil
}

// UnregisterConsumer removes the consumer named name: retention no longer
// keeps events for it. ENotFound if there is none.
func (s *Store) UnregisterConsumer(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM log_consumers WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("unregister log consumer %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return board.Errorf(board.ENotFound, "no log consumer %q", name)
	}
	return nil
}

// retentionBatch is how many events one retention transaction deletes.
const retentionBatch = 10000

// DeleteEventsBefore removes events written before cutoff and says how many
// it removed. It keeps
//
//   - each existing board's last event (its head, for the hub's head check);
//   - every event a registered consumer has not processed (position after
//     the lowest cursor), and every event not yet numbered.
//
// A deleted board's events, board.deleted included, go once they are older
// than cutoff. Clients resuming a board from before what remains are told to
// reload the snapshot; readers of the global log from before the highest
// deleted position get ESinceExpired.
//
// A consumer that stops advancing holds every later event: unregister a
// consumer that is gone for good.
func (s *Store) DeleteEventsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.trimLog(ctx, cutoff, retentionBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("delete old events: %w", err)
		}
		if n < retentionBatch {
			return total, nil
		}
	}
}

// trimLog deletes up to limit events of DeleteEventsBefore in one
// transaction, under the log_retention row lock.
func (s *Store) trimLog(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT FROM log_retention FOR UPDATE`); err != nil {
			return fmt.Errorf("lock retention: %w", err)
		}
		// A new statement, with a snapshot taken after the lock was granted:
		// it sees every consumer registered before.
		var last *int64
		err := tx.QueryRow(ctx, `
			WITH doomed AS (
				SELECT e.board_id, e.seq FROM events e
				LEFT JOIN boards b ON b.id = e.board_id
				WHERE e.at < $1 AND e.position IS NOT NULL
				  AND e.position <= coalesce((SELECT min(position) FROM log_consumers), e.position)
				  AND (b.id IS NULL OR e.seq < b.seq)
				LIMIT $2
			), gone AS (
				DELETE FROM events e USING doomed d
				WHERE e.board_id = d.board_id AND e.seq = d.seq
				RETURNING e.position
			)
			SELECT count(*), max(position) FROM gone`, cutoff, limit).Scan(&n, &last)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE log_retention SET trimmed_to = greatest(trimmed_to, $1)`, *last)
		return err
	})
	return n, err
}
