// Package pgtest gives each test its own PostgreSQL database.
//
// A test package opts in with
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and each test that needs a database calls NewDatabase, which returns the
// URL of a fresh database cloned from a template migrated once per test
// process. The databases live on one throwaway server per test process
// (package pglocal, in a temporary directory), started on first use, so test
// binaries that never ask for a database start nothing.
//
// Environment:
//
//   - TEST_DATABASE_URL: use this existing server instead of starting one. The
//     URL's database is only used to connect as an administrator, who must be
//     allowed to create databases. The databases made here are named
//     pgtest_<random>_... and dropped again.
//   - PGTEST_DURABLE=1: keep fsync, synchronous_commit and full_page_writes on
//     in the throwaway server (they are off by default, for speed), for
//     benchmarks that must measure the durable configuration.
//
// If no server can be started or reached, tests that need one fail (never
// skip) with the reason and what to install.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corkboard/corkboard/internal/pglocal"
)

const (
	envURL     = "TEST_DATABASE_URL"
	envDurable = "PGTEST_DURABLE"

	startTimeout   = 2 * time.Minute // initdb plus server start
	migrateTimeout = 5 * time.Minute
	adminTimeout   = time.Minute
)

var (
	mainCalled atomic.Bool
	shared     cluster
)

// Main runs the tests of a package, then stops the server started for them
// (if any) and removes its data, and exits with the tests' status. Call it
// from TestMain; NewDatabase and AdminURL fail without it.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if err := shared.close(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// NewDatabase returns the URL of a new database for t, dropped (with any
// sessions still open) when t ends.
//
// The database is a copy of a template database named after name, created
// and handed to migrate the first time name is used in this test process;
// later calls with the same name reuse it and ignore migrate. migrate must
// close every connection it opened before returning (a template with
// sessions cannot be copied). If migrate fails, every test asking for that
// template fails with its error. migrate may be nil for an empty database.
//
// Safe to call from parallel tests: copies are made one at a time, as
// PostgreSQL requires.
func NewDatabase(t testing.TB, name string, migrate func(ctx context.Context, url string) error) string {
	t.Helper()
	c := mustCluster(t)
	tmpl, err := c.template(name, migrate)
	if err != nil {
		t.Fatalf("pgtest: template %q: %v", name, err)
	}
	db := fmt.Sprintf("%s_%d", c.prefix, c.seq.Add(1))
	if err := c.exec("CREATE DATABASE " + ident(db) + " TEMPLATE " + ident(tmpl) + c.cloneOpts); err != nil {
		if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "55006" { // object_in_use
			err = fmt.Errorf("%w (does migrate %q close all its connections?)", err, name)
		}
		t.Fatalf("pgtest: create database from template %q: %v", name, err)
	}
	t.Cleanup(func() {
		if err := c.exec("DROP DATABASE IF EXISTS " + ident(db) + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", db, err)
		}
	})
	return c.url(db)
}

// AdminURL returns the URL of the server's administrative database, as a
// superuser (or as the TEST_DATABASE_URL user). Benchmarks take the host and
// port from it, for example for pgbench.
func AdminURL(t testing.TB) string {
	t.Helper()
	return mustCluster(t).admin.String()
}

func mustCluster(t testing.TB) *cluster {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main(m)")
	}
	if err := shared.ensure(); err != nil {
		t.Fatalf("pgtest: no PostgreSQL for tests: %v", err)
	}
	return &shared
}

// cluster is the server the tests of this process use.
type cluster struct {
	startMu sync.Mutex
	started bool
	err     error // why the server could not be started or reached

	srv       *pglocal.Server // nil with TEST_DATABASE_URL
	dir       string          // the throwaway server's data, removed at exit
	admin     *url.URL
	prefix    string // of every database made by this process
	cloneOpts string // extra CREATE DATABASE options for copies
	seq       atomic.Int64

	adminMu   sync.Mutex // serializes administrative statements
	adminConn *pgx.Conn

	tmplMu    sync.Mutex
	templates map[string]*template
}

type template struct {
	once sync.Once
	db   string
	err  error
}

// ensure starts or reaches the server once; later calls return the first
// result.
func (c *cluster) ensure() error {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if !c.started {
		c.started = true
		c.err = c.start()
	}
	return c.err
}

func (c *cluster) start() error {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	c.prefix = "pgtest_" + hex.EncodeToString(rnd[:])
	c.templates = make(map[string]*template)

	if raw := os.Getenv(envURL); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return fmt.Errorf("%s must be a postgres:// URL, got %q", envURL, raw)
		}
		c.admin = u
	} else {
		durable, _ := strconv.ParseBool(os.Getenv(envDurable))
		dir, err := os.MkdirTemp("", "pgtest-")
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		srv, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Fast: !durable})
		if err != nil {
			os.RemoveAll(dir)
			return err
		}
		c.srv, c.dir = srv, dir
		c.admin, _ = url.Parse(srv.URL("postgres"))
	}
	// Reach the server now, so that a bad TEST_DATABASE_URL is reported as
	// such rather than as a failed CREATE DATABASE.
	var version int
	err := c.withAdmin(func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version)
	})
	if err != nil {
		return fmt.Errorf("connect to %s: %w", c.admin.Redacted(), err)
	}
	if version >= 150000 {
		// For small databases a file copy takes about half the time of
		// the default WAL_LOG strategy.
		c.cloneOpts = " STRATEGY FILE_COPY"
	}
	return nil
}

// template returns the name of the template database for name, creating and
// migrating it on first use.
func (c *cluster) template(name string, migrate func(ctx context.Context, url string) error) (string, error) {
	c.tmplMu.Lock()
	tp := c.templates[name]
	if tp == nil {
		tp = &template{db: fmt.Sprintf("%s_tmpl%d_%s", c.prefix, len(c.templates)+1, slug(name))}
		c.templates[name] = tp
	}
	c.tmplMu.Unlock()

	tp.once.Do(func() {
		if err := c.exec("CREATE DATABASE " + ident(tp.db)); err != nil {
			tp.err = err
			return
		}
		if migrate == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout)
		defer cancel()
		if err := migrate(ctx, c.url(tp.db)); err != nil {
			tp.err = fmt.Errorf("migrate: %w", err)
		}
	})
	return tp.db, tp.err
}

// exec runs one administrative statement.
func (c *cluster) exec(sql string) error {
	return c.withAdmin(func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sql)
		return err
	})
}

// withAdmin calls f with the shared admin connection, reconnecting if it was
// lost. Calls are serialized.
func (c *cluster) withAdmin(f func(ctx context.Context, conn *pgx.Conn) error) error {
	c.adminMu.Lock()
	defer c.adminMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if c.adminConn == nil || c.adminConn.IsClosed() {
		conn, err := pgx.Connect(ctx, c.admin.String())
		if err != nil {
			return err
		}
		c.adminConn = conn
	}
	return f(ctx, c.adminConn)
}

func (c *cluster) url(db string) string {
	u := *c.admin
	u.Path, u.RawPath = "/"+db, ""
	return u.String()
}

// close drops the templates (databases of tests were dropped by their
// cleanups), stops the throwaway server and removes its data.
func (c *cluster) close() error {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if !c.started {
		return nil
	}
	var errs []error
	if c.srv == nil { // a server that outlives us: clean up after ourselves
		for _, tp := range c.templates {
			if err := c.exec("DROP DATABASE IF EXISTS " + ident(tp.db) + " WITH (FORCE)"); err != nil {
				errs = append(errs, fmt.Errorf("drop template %s: %w", tp.db, err))
			}
		}
	}
	if c.adminConn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		_ = c.adminConn.Close(ctx)
	}
	if c.srv != nil {
		if err := c.srv.Stop(); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// slug keeps a readable part of a template's name for its database name.
func slug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if b.Len() == 20 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
