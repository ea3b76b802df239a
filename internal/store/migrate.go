package store

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/migrations"
)

// migrationLock is the advisory lock key that serializes migrations, so that
// several instances starting at once apply each migration exactly once.
const migrationLock = 0x636f726b // "cork"

// Migrate applies the embedded migrations that the database at url has not
// applied yet, in order, each in its own transaction, under a session-level
// advisory lock. It is safe to run from several processes at once.
func Migrate(ctx context.Context, url string) error { return migrateTo(ctx, url, math.MaxInt) }

// migrateTo applies the migrations up to version last, as Migrate does (for
// tests of a migration on a database filled at an earlier version).
func migrateTo(ctx context.Context, url string, last int) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock) //nolint:errcheck // the session ends anyway
	if _, err := conn.Exec(ctx, `
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	files, err := migrationFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.version > last {
			break
		}
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
			f.version).Scan(&done); err != nil {
			return fmt.Errorf("migrate: read schema_migrations: %w", err)
		}
		if done {
			continue
		}
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, f.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, f.version, f.name)
			return err
		}); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", f.name, err)
		}
	}
	return nil
}

type migrationFile struct {
	version int
	name    string
	sql     string
}

func migrationFiles() ([]migrationFile, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: list migrations: %w", err)
	}
	var files []migrationFile
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migrate: %s: name must be NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", name, err)
		}
		files = append(files, migrationFile{version: v, name: name, sql: string(body)})
	}
	slices.SortFunc(files, func(a, b migrationFile) int { return a.version - b.version })
	for i := 1; i < len(files); i++ {
		if files[i].version == files[i-1].version {
			return nil, fmt.Errorf("migrate: %s and %s share a version", files[i-1].name, files[i].name)
		}
	}
	return files, nil
}
