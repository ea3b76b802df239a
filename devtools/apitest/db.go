package apitest

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is the database a test reads directly (a *pgxpool.Pool).
type DB interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Count runs a count(*) query.
func Count(t testing.TB, db DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Exec runs a statement.
func Exec(t testing.TB, db DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Fingerprint digests the state a refused request must not change: boards
// (seq, version), members, columns, cards, comments, checklists and their
// items, the event log, users (with their password hashes), sessions and
// API tokens (which exist; not when they were last used), webhooks, their
// delivery logs and pending jobs.
func Fingerprint(t testing.TB, db DB) string {
	t.Helper()
	var fp string
	err := db.QueryRow(context.Background(), `
		SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
			SELECT 'b:' || id || ':' || seq || ':' || version || ':' || name FROM boards
			UNION ALL SELECT 'm:' || board_id || ':' || user_id || ':' || role FROM board_members
			UNION ALL SELECT 'l:' || id || ':' || version || ':' || rank FROM columns
			UNION ALL SELECT 'c:' || id || ':' || version || ':' || rank || ':' || column_id FROM cards
			UNION ALL SELECT 'e:' || board_id || ':' || seq FROM events
			UNION ALL SELECT 'k:' || id || ':' || version || ':' || text FROM comments
			UNION ALL SELECT 'h:' || id || ':' || version || ':' || name FROM checklists
			UNION ALL SELECT 'i:' || id || ':' || version || ':' || rank || ':' || done FROM checklist_items
			UNION ALL SELECT 'u:' || id || ':' || username || ':' || password_hash FROM users
			UNION ALL SELECT 's:' || id || ':' || expires_at FROM sessions
			UNION ALL SELECT 't:' || id || ':' || coalesce(expires_at::text, '') FROM api_tokens
			UNION ALL SELECT 'w:' || id || ':' || url || ':' || active || ':' || kinds::text || ':' || md5(secret) || ':' || updated_at FROM webhooks
			UNION ALL SELECT 'wd:' || id || ':' || webhook_id FROM webhook_deliveries
			UNION ALL SELECT 'wj:' || id FROM webhook_jobs
		) f(x)`).Scan(&fp)
	if err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	return fp
}

// Seq reads a board's seq straight from the database.
func Seq(t testing.TB, db DB, boardID string) int64 {
	t.Helper()
	var seq int64
	if err := db.QueryRow(context.Background(), `SELECT seq FROM boards WHERE id = $1`, boardID).Scan(&seq); err != nil {
		t.Fatalf("seq of board %s: %v", boardID, err)
	}
	return seq
}

// Frozen is the state of some boards (seq, and the snapshot's bytes as a
// reader sees them), recorded to check later that nothing changed.
type Frozen struct {
	c     *Client
	db    DB
	seqs  map[string]int64
	snaps map[string][]byte
}

// Freeze records the boards' state, reading the snapshots with c.
func Freeze(c *Client, db DB, boardIDs ...string) *Frozen {
	c.T.Helper()
	f := &Frozen{c: c, db: db, seqs: map[string]int64{}, snaps: map[string][]byte{}}
	for _, id := range boardIDs {
		f.seqs[id] = Seq(c.T, db, id)
		r := c.Do("GET", "/api/boards/"+id, nil)
		if r.Status != http.StatusOK {
			c.T.Fatalf("snapshot of %s: %v", id, r)
		}
		f.snaps[id] = r.Body
	}
	return f
}

// Check reports every board whose seq or snapshot changed since Freeze.
func (f *Frozen) Check(t testing.TB, what string) {
	t.Helper()
	c := f.c.With(t)
	for id, seq := range f.seqs {
		if got := Seq(t, f.db, id); got != seq {
			t.Errorf("%s: board %s seq %d, want %d (unchanged)", what, id, got, seq)
		}
		r := c.Do("GET", "/api/boards/"+id, nil)
		if !bytes.Equal(r.Body, f.snaps[id]) {
			t.Errorf("%s: board %s snapshot changed:\n was %s\n now %s", what, id, f.snaps[id], r.Body)
		}
	}
}

// Forget stops checking a board (one the test changed on purpose).
func (f *Frozen) Forget(boardID string) {
	delete(f.seqs, boardID)
	delete(f.snaps, boardID)
}
