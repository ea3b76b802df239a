package pgtest_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/devtools/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var migrations atomic.Int32

// migrate is a stand-in for the store's migrations.
func migrate(ctx context.Context, url string) error {
	migrations.Add(1)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE TABLE items (id int PRIMARY KEY, owner text NOT NULL)")
	return err
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Many parallel tests each get their own migrated database: what one writes
// the others do not see, and the template is migrated once.
func TestIndependentDatabases(t *testing.T) {
	t.Parallel()
	urls := make(chan string, 16)
	t.Run("group", func(t *testing.T) {
		for i := range cap(urls) {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				u := pgtest.NewDatabase(t, "items", migrate)
				urls <- u
				conn := connect(t, u)
				ctx := t.Context()
				// Leave this session open: the cleanup must drop the
				// database anyway.
				if _, err := conn.Exec(ctx, "INSERT INTO items VALUES (1, $1)", t.Name()); err != nil {
					t.Fatal(err)
				}
				var n int
				var owner string
				if err := conn.QueryRow(ctx, "SELECT count(*), min(owner) FROM items").Scan(&n, &owner); err != nil {
					t.Fatal(err)
				}
				if n != 1 || owner != t.Name() {
					t.Errorf("items: %d rows, owner %q; want 1 row of %q", n, owner, t.Name())
				}
			})
		}
	})
	close(urls)
	seen := map[string]bool{}
	for u := range urls {
		if seen[u] {
			t.Errorf("database %s handed out twice", u)
		}
		seen[u] = true
	}
	if n := migrations.Load(); n != 1 {
		t.Errorf("migrate ran %d times; want 1", n)
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	t.Parallel()
	var db string
	t.Run("uses", func(t *testing.T) {
		u, err := url.Parse(pgtest.NewDatabase(t, "items", migrate))
		if err != nil {
			t.Fatal(err)
		}
		db = strings.TrimPrefix(u.Path, "/")
	})
	var exists bool
	err := connect(t, pgtest.AdminURL(t)).QueryRow(t.Context(),
		"SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", db).Scan(&exists)
	if err != nil || exists {
		t.Errorf("database %s exists after its test: %v, %v", db, exists, err)
	}
}

func TestEmptyDatabase(t *testing.T) {
	t.Parallel()
	conn := connect(t, pgtest.NewDatabase(t, "empty", nil))
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
		t.Errorf("public tables: %d, %v; want 0", n, err)
	}
}

// fatalTB records a Fatal instead of failing the real test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

var failingRuns atomic.Int32

func TestMigrateErrorFails(t *testing.T) {
	t.Parallel()
	// Templates live as long as the process: a new name per run (-count).
	name := fmt.Sprintf("failing%d", failingRuns.Add(1))
	var calls atomic.Int32
	failing := func(context.Context, string) error {
		calls.Add(1)
		return fmt.Errorf("boom")
	}
	for range 2 {
		f := &fatalTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			pgtest.NewDatabase(f, name, failing)
			t.Error("NewDatabase returned despite a failed migration")
		}()
		<-done
		if !strings.Contains(f.msg, fmt.Sprintf("template %q: migrate: boom", name)) {
			t.Errorf("Fatal message %q", f.msg)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("failing migrate ran %d times; want 1", n)
	}
}

func TestAdminURL(t *testing.T) {
	t.Parallel()
	admin := pgtest.AdminURL(t)
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host == "" || cfg.Port == 0 {
		t.Errorf("AdminURL %s: host %q port %d", admin, cfg.Host, cfg.Port)
	}
	var fsync string
	if err := connect(t, admin).QueryRow(t.Context(), "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("TEST_DATABASE_URL") == "" {
		want := "off"
		if os.Getenv("PGTEST_DURABLE") == "1" {
			want = "on"
		}
		if fsync != want {
			t.Errorf("fsync = %s; want %s", fsync, want)
		}
	}
}
