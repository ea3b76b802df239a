package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// db is the pool as the store's queries use it: every error a statement,
// a transaction or an acquire returns passes through unavailable, so that
// an unreachable database or a busy board is EUnavailable wherever it is
// met, once, beside the query. Methods not listed are pgxpool's.
type db struct{ *pgxpool.Pool }

func (p db) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := p.Pool.Acquire(ctx)
	return c, unavailable(err)
}

func (p db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := p.Pool.Exec(ctx, sql, args...)
	return tag, unavailable(err)
}

func (p db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rs, err := p.Pool.Query(ctx, sql, args...)
	if err != nil {
		return rs, unavailable(err)
	}
	return translatedRows{rs}, nil
}

func (p db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return translatedRow{p.Pool.QueryRow(ctx, sql, args...)}
}

func (p db) Ping(ctx context.Context) error { return unavailable(p.Pool.Ping(ctx)) }

func (p db) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := p.Pool.Begin(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	return translatedTx{tx}, nil
}

func (p db) BeginTx(ctx context.Context, o pgx.TxOptions) (pgx.Tx, error) {
	tx, err := p.Pool.BeginTx(ctx, o)
	if err != nil {
		return nil, unavailable(err)
	}
	return translatedTx{tx}, nil
}

// translatedTx is a pool transaction whose errors pass through unavailable.
type translatedTx struct{ pgx.Tx }

func (t translatedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.Tx.Exec(ctx, sql, args...)
	return tag, unavailable(err)
}

func (t translatedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rs, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		return rs, unavailable(err)
	}
	return translatedRows{rs}, nil
}

func (t translatedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return translatedRow{t.Tx.QueryRow(ctx, sql, args...)}
}

func (t translatedTx) Commit(ctx context.Context) error { return unavailable(t.Tx.Commit(ctx)) }

// translatedRows and translatedRow pass the errors of reading results
// through unavailable.
type translatedRows struct{ pgx.Rows }

func (r translatedRows) Err() error             { return unavailable(r.Rows.Err()) }
func (r translatedRows) Scan(dest ...any) error { return unavailable(r.Rows.Scan(dest...)) }

type translatedRow struct{ pgx.Row }

func (r translatedRow) Scan(dest ...any) error { return unavailable(r.Row.Scan(dest...)) }
