// Package store keeps Corkboard's authoritative state in PostgreSQL through
// pgx. Every mutation is one transaction that locks the board row, takes the
// board's next seq, applies the change, appends one event to the board's log
// and commits; the caller publishes the returned event only after that.
package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corkboard/corkboard/internal/board"
)

// Store is safe for concurrent use.
type Store struct {
	pool       db
	replica    *replica // nil: every read goes to pool (see OpenReplica)
	claimGrace time.Duration
}

// Options tune the connection pool and the sessions of its connections. A
// zero duration leaves PostgreSQL's (or pgx's) default, which for the
// timeouts is none.
type Options struct {
	MaxConns int32 // 0: pgxpool's default
	// ClaimGrace is how long an unfinished Idempotency-Key claim that no
	// transaction holds blocks a retry (see ClaimIdempotencyKey); 0: 5s.
	ClaimGrace time.Duration

	// ConnectTimeout bounds opening a connection (and so an acquire while
	// the database is unreachable).
	ConnectTimeout time.Duration
	// StatementTimeout ends a statement that runs longer (statement_timeout).
	StatementTimeout time.Duration
	// LockTimeout ends a statement that waits longer for a lock, as a
	// board's row lock held by a frozen instance (lock_timeout): the
	// request answers EUnavailable and can be retried.
	LockTimeout time.Duration
	// IdleInTransactionTimeout ends a session that sits idle inside a
	// transaction for longer (idle_in_transaction_session_timeout): its
	// transaction is rolled back and its locks released, so a frozen or
	// partitioned instance cannot hold a board's lock for longer.
	IdleInTransactionTimeout time.Duration
	// KeepAlive sets TCP keepalives on both ends of each connection: the
	// first probe after KeepAlive of silence, then one every KeepAlive/2,
	// and the connection is dead after 3 unanswered probes.
	KeepAlive time.Duration
}

// Open connects to the database at url. It does not migrate; call Migrate.
//
// Errors from the store's methods that say the database cannot be reached,
// did not answer in time or would not grant a lock in time are
// board.EUnavailable, with RetryAfter; the pool replaces broken connections
// as they are found, so the store works again as soon as the database does.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	configure(cfg, o)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("reach database: %w", err)
	}
	if o.ClaimGrace == 0 {
		o.ClaimGrace = defaultClaimGrace
	}
	return &Store{pool: db{pool}, claimGrace: o.ClaimGrace}, nil
}

// configure applies o to cfg.
func configure(cfg *pgxpool.Config, o Options) {
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	params := cfg.ConnConfig.RuntimeParams
	ms := func(d time.Duration) string { return strconv.FormatInt(max(1, d.Milliseconds()), 10) }
	if o.StatementTimeout > 0 {
		params["statement_timeout"] = ms(o.StatementTimeout)
	}
	if o.LockTimeout > 0 {
		params["lock_timeout"] = ms(o.LockTimeout)
	}
	if o.IdleInTransactionTimeout > 0 {
		params["idle_in_transaction_session_timeout"] = ms(o.IdleInTransactionTimeout)
	}
	if o.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	}
	if o.KeepAlive > 0 {
		secs := func(d time.Duration) string { return strconv.Itoa(max(1, int(d.Seconds()))) }
		params["tcp_keepalives_idle"] = secs(o.KeepAlive)
		params["tcp_keepalives_interval"] = secs(o.KeepAlive / 2)
		params["tcp_keepalives_count"] = "3"
		dialer := &net.Dialer{Timeout: cfg.ConnConfig.ConnectTimeout, KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: o.KeepAlive, Interval: max(time.Second, o.KeepAlive/2), Count: 3}}
		cfg.ConnConfig.DialFunc = dialer.DialContext
	}
	// Idle connections are checked every few seconds, and one idle for
	// more than a second is pinged when acquired (pgxpool's default), so
	// connections broken by a database restart are dropped, not handed out.
	cfg.HealthCheckPeriod = 5 * time.Second
}

// Close closes the pool (and the replica's), waiting for connections in use.
func (s *Store) Close() {
	if s.replica != nil {
		s.replica.pool.Close()
	}
	s.pool.Close()
}

// Ping checks that the database answers. Its error is the driver's, for
// readiness reports.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Pool.Ping(ctx) }

// Pool exposes the pool for health checks and metrics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool.Pool }

// mutation is the body of one mutating transaction on a board. It gets the
// board's new seq and returns the result for the caller, the event kind and
// the event payload.
type mutation[T any] func(ctx context.Context, tx pgx.Tx, seq int64) (result T, kind string, payload any, err error)

// mutate runs fn as m.Actor on boardID in one transaction: it locks the board
// row (the actor must be an owner or editor, or ownerOnly an owner), takes
// seq+1, runs fn, appends the event, completes the idempotent call carried by
// ctx with the result, and commits. The event is returned only when the
// commit succeeded. The idempotent call's key is locked first, in the same
// round trip as BEGIN; when the call is a replay, mutate returns its stored
// result (and no event) without a transaction.
//
// BEGIN goes to the server in one round trip with the board lock, and the
// event and the idempotent call's response in one with COMMIT (see batchTx):
// the board row stays locked for fn's statements, one round trip and the
// commit's flush.
func mutate[T any](ctx context.Context, s *Store, m board.Meta, boardID string, ownerOnly bool, fn mutation[T]) (T, board.Event, error) {
	return mutateFirst(ctx, s, m, boardID, ownerOnly, nil, fn)
}

// mutateFirst is mutate with the mutation's first statement sent in the
// same round trip as BEGIN and the board lock, right after the lock: first
// queues it on b (with its own callback to keep what it returns, which fn
// then reads). The server runs it after the lock statement, so it sees the
// board as locked; but it runs even when the lock statement found no board
// the actor may change, so it must change nothing unless m.Actor holds one of
// roles on the board (the lock's membership test, repeated in its WHERE
// clause), and its callback must let a row not found pass (nil), since fn
// is what explains it. The transaction is rolled back whenever the lock
// failed. A mutation whose statements are all pipelined this way costs two
// round trips instead of three.
func mutateFirst[T any](ctx context.Context, s *Store, m board.Meta, boardID string, ownerOnly bool,
	first func(b *pgx.Batch, roles []string), fn mutation[T]) (T, board.Event, error) {
	var zero T
	if t, ok, err := replayedCall[T](ctx); ok {
		return t, board.Event{}, err
	}
	roles := []string{board.RoleOwner, board.RoleEditor}
	if ownerOnly {
		roles = roles[:1]
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return zero, board.Event{}, fmt.Errorf("begin: %w", err)
	}
	defer conn.Release()

	var seq int64
	b := &pgx.Batch{}
	queueLockCall(ctx, b)
	b.Queue(`
		UPDATE boards SET seq = seq + 1
		WHERE id = $1 AND EXISTS (
			SELECT 1 FROM board_members
			WHERE board_id = $1 AND user_id = $2 AND role = ANY ($3))
		RETURNING seq`, boardID, m.Actor, roles).QueryRow(func(row pgx.Row) error { return row.Scan(&seq) })
	if first != nil {
		first(b, roles)
	}
	tx, err := beginWith(ctx, conn.Conn(), b)
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after the commit
	if errors.Is(err, errClaimLost) {
		return zero, board.Event{}, err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		if first != nil {
			// The first statement may have failed after the lock found
			// nothing, which aborts the transaction: ask outside it.
			if err := tx.Rollback(ctx); err != nil {
				return zero, board.Event{}, err
			}
		}
		return zero, board.Event{}, accessError(ctx, tx, boardID, m.Actor)
	}
	if err != nil {
		return zero, board.Event{}, fmt.Errorf("lock board: %w", err)
	}
	result, kind, payload, err := fn(ctx, tx, seq)
	if err != nil {
		return zero, board.Event{}, err
	}
	ev, err := newEvent(boardID, seq, kind, payload, m)
	if err != nil {
		return zero, board.Event{}, err
	}
	b = &pgx.Batch{}
	queueEvent(b, &ev)
	if err := queueCompleteCall(ctx, b, result); err != nil {
		return zero, board.Event{}, err
	}
	if err := tx.commitWith(ctx, b); err != nil {
		return zero, board.Event{}, fmt.Errorf("append event %d and commit: %w", seq, err)
	}
	return result, ev, nil
}

// accessError explains why the board row could not be locked: not found for
// a stranger (who must not learn the board exists), forbidden for a member
// whose role may not make this change. q may be a transaction that was
// rolled back: batchTx then runs the query outside any.
func accessError(ctx context.Context, q pgx.Tx, boardID, user string) error {
	var role string
	err := q.QueryRow(ctx, `SELECT role FROM board_members WHERE board_id = $1 AND user_id = $2`,
		boardID, user).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Errorf(board.ENotFound, "no such board")
	}
	if err != nil {
		return fmt.Errorf("check membership: %w", err)
	}
	return board.Errorf(board.EForbidden, "a board %s may not make this change", role)
}

// appendEvent appends the event of a mutation to the board's log.
func appendEvent(ctx context.Context, tx pgx.Tx, boardID string, seq int64, kind string, payload any, m board.Meta) (board.Event, error) {
	ev, err := newEvent(boardID, seq, kind, payload, m)
	if err != nil {
		return board.Event{}, err
	}
	if err := tx.QueryRow(ctx, insertEvent, eventArgs(ev)...).Scan(&ev.At); err != nil {
		return board.Event{}, fmt.Errorf("append event %d: %w", seq, err)
	}
	return ev, nil
}

// queueEvent queues the INSERT of ev, which sets ev.At when the batch runs.
func queueEvent(b *pgx.Batch, ev *board.Event) {
	b.Queue(insertEvent, eventArgs(*ev)...).QueryRow(func(row pgx.Row) error { return row.Scan(&ev.At) })
}

const insertEvent = `
	INSERT INTO events (board_id, seq, kind, payload, actor, op_id)
	VALUES ($1, $2, $3, $4, $5, $6) RETURNING at`

func eventArgs(ev board.Event) []any {
	return []any{ev.BoardID, ev.Seq, ev.Kind, []byte(ev.Data), ev.Actor, ev.OpID}
}

// newEvent is the event of a mutation, without its time.
func newEvent(boardID string, seq int64, kind string, payload any, m board.Meta) (board.Event, error) {
	data, err := board.MarshalJSON(payload)
	if err != nil {
		return board.Event{}, fmt.Errorf("encode %s payload: %w", kind, err)
	}
	return board.Event{BoardID: boardID, Seq: seq, Kind: kind, Data: data, Actor: m.Actor, OpID: m.OpID}, nil
}

// staleError is the EVersionMismatch error of an If-Match that named version
// want while the entity is at have; cur is its current representation.
func staleError(what string, have, want int64, cur any) error {
	return &board.Error{Code: board.EVersionMismatch, Current: cur,
		Message: fmt.Sprintf("the %s is at version %d, not %d", what, have, want)}
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
