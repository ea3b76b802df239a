package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// batchTx is a transaction that mutate began itself, sending BEGIN in one
// batch with the transaction's first statement, and commits the same way,
// with its last statements: a mutation then costs three round trips to the
// server instead of five (BEGIN and COMMIT each cost one with pgx.Tx). It
// is a pgx.Tx for the mutation's body, which runs its statements one by one
// on it; pseudo-nested transactions and large objects are not supported.
//
// The connection goes back to the pool with Release, which closes it
// instead if a transaction is still open on it (a ROLLBACK that failed).
type batchTx struct {
	conn   *pgx.Conn
	closed bool // committed or rolled back (or the attempt failed)
}

var _ pgx.Tx = (*batchTx)(nil)

var errNested = errors.New("store: nested transactions are not supported in a mutation")

// beginWith begins a transaction on conn in one round trip with b's
// statements, which run in the transaction; their callbacks run as in
// pgx.Conn.SendBatch. The returned batchTx must be rolled back (a no-op
// after commitWith) even when err is not nil.
func beginWith(ctx context.Context, conn *pgx.Conn, b *pgx.Batch) (*batchTx, error) {
	b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, b.QueuedQueries...)
	return &batchTx{conn: conn}, unavailable(conn.SendBatch(ctx, b).Close())
}

// commitWith runs b's statements and COMMIT in one round trip. If a
// statement fails, COMMIT is not run and the transaction is left to
// Rollback.
func (tx *batchTx) commitWith(ctx context.Context, b *pgx.Batch) error {
	if tx.closed {
		return pgx.ErrTxClosed
	}
	var tag pgconn.CommandTag
	committed := false
	b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error { tag, committed = ct, true; return nil })
	err := tx.conn.SendBatch(ctx, b).Close()
	if !committed {
		return unavailable(err) // the transaction is still open (or the connection gone): roll back
	}
	tx.closed = true
	if err != nil {
		return unavailable(err)
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Commit commits the transaction.
func (tx *batchTx) Commit(ctx context.Context) error { return tx.commitWith(ctx, &pgx.Batch{}) }

// Rollback rolls the transaction back; it returns pgx.ErrTxClosed after
// Commit or Rollback, so a deferred Rollback is safe.
func (tx *batchTx) Rollback(ctx context.Context) error {
	if tx.closed {
		return pgx.ErrTxClosed
	}
	tx.closed = true
	if _, err := tx.conn.Exec(ctx, "ROLLBACK"); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

func (tx *batchTx) Begin(context.Context) (pgx.Tx, error) { return nil, errNested }

func (tx *batchTx) Conn() *pgx.Conn { return tx.conn }

func (tx *batchTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} } // unsupported

func (tx *batchTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return tx.conn.CopyFrom(ctx, table, cols, src)
}

func (tx *batchTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return tx.conn.SendBatch(ctx, b)
}

// Exec, Query and QueryRow pass their errors through unavailable, like the
// pool's (see db).

func (tx *batchTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return tx.conn.Prepare(ctx, name, sql)
}

func (tx *batchTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := tx.conn.Exec(ctx, sql, args...)
	return tag, unavailable(err)
}

func (tx *batchTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rs, err := tx.conn.Query(ctx, sql, args...)
	if err != nil {
		return rs, unavailable(err)
	}
	return translatedRows{rs}, nil
}

func (tx *batchTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return translatedRow{tx.conn.QueryRow(ctx, sql, args...)}
}
