package attachment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corkboard/corkboard/internal/board"
)

// Postgres keeps objects in the attachment_blobs table of the database (the
// default storage: every instance shares it, nothing else to run). An
// object is read into memory whole, on Put and on Open: files are bounded
// by the size limit.
type Postgres struct {
	pool *pgxpool.Pool
}

var _ Storage = (*Postgres)(nil)

// NewPostgres returns the storage in pool's database (migrated).
func NewPostgres(pool *pgxpool.Pool) *Postgres { return &Postgres{pool: pool} }

// Put stores the object in one INSERT.
func (p *Postgres) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("read object %s: %w", key, err)
	}
	if _, err := p.pool.Exec(ctx, `INSERT INTO attachment_blobs (storage_key, data) VALUES ($1, $2)`, key, data); err != nil {
		return pgError(fmt.Sprintf("store object %s", key), err)
	}
	return nil
}

// Open reads the object.
func (p *Postgres) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	var data []byte
	err := p.pool.QueryRow(ctx, `SELECT data FROM attachment_blobs WHERE storage_key = $1`, key).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, pgError(fmt.Sprintf("read object %s", key), err)
	}
	return nopCloser{bytes.NewReader(data)}, int64(len(data)), nil
}

// Delete deletes the object.
func (p *Postgres) Delete(ctx context.Context, key string) error {
	if _, err := p.pool.Exec(ctx, `DELETE FROM attachment_blobs WHERE storage_key = $1`, key); err != nil {
		return pgError(fmt.Sprintf("delete object %s", key), err)
	}
	return nil
}

// Keys lists the stored keys.
func (p *Postgres) Keys(ctx context.Context) ([]string, error) {
	rows, err := p.pool.Query(ctx, `SELECT storage_key FROM attachment_blobs ORDER BY storage_key`)
	if err != nil {
		return nil, pgError("list objects", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, pgError("list objects", err)
	}
	return keys, nil
}

// pgError wraps err; one the server did not answer (unreachable, timed
// out) is EUnavailable.
func pgError(what string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return &board.Error{Code: board.EUnavailable, Message: "the attachment storage is unreachable; try again",
		RetryAfter: time.Second, Err: fmt.Errorf("%s: %w", what, err)}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
