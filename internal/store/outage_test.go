package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// outageOptions are the pool settings of the outage tests: the defaults of
// cmd/server scaled down, so that the tests wait less.
var outageOptions = store.Options{MaxConns: 4, ConnectTimeout: 2 * time.Second,
	StatementTimeout: 10 * time.Second, LockTimeout: 300 * time.Millisecond,
	IdleInTransactionTimeout: 2 * time.Second, KeepAlive: 10 * time.Second}

// TestFrozenLockHolderIsCut: an instance frozen in the middle of a
// mutation — its connection holds the board's row lock, idle in
// transaction, as under SIGSTOP or a partition from PostgreSQL — stalls the
// board's writers on every other instance only until
// idle_in_transaction_session_timeout ends its session. Meanwhile the others'
// writes answer EUnavailable with a Retry-After (not an error of their own);
// afterwards they succeed while the frozen instance is still frozen, and the
// frozen one's half-made change is rolled back: the log stays gap-free.
//
// Bound: a write to the board succeeds at most IdleInTransactionTimeout
// (2 s here; 5 s by default) after the holder froze.
// The test measures and logs it; it fails only if writes never recover
// while the holder stays frozen (without the session settings they do not:
// the lock is held for as long as the frozen process lives).
func TestFrozenLockHolderIsCut(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t, "store", store.Migrate)
	ctx := context.Background()
	open := func() *store.Store {
		st, err := store.Open(ctx, url, outageOptions)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		return st
	}
	frozen, other := open(), open()
	m := board.Meta{Actor: "owner"}
	b := must[board.Board](t)(other.CreateBoard(ctx, m, board.BoardInput{Name: "frozen"}))
	col := must[board.Column](t)(other.CreateColumn(ctx, m, b.ID, board.ColumnInput{Name: "todo"}))

	// The frozen instance's mutation: board row locked, seq taken, a card
	// inserted, then nothing more from the client.
	conn, err := frozen.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := tx.QueryRow(ctx, `UPDATE boards SET seq = seq + 1 WHERE id = $1 RETURNING seq`, b.ID).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cards (board_id, column_id, title, rank, created_by)
		VALUES ($1, $2, 'half-made', 'U', 'owner')`, b.ID, col.ID); err != nil {
		t.Fatal(err)
	}
	froze := time.Now()

	var busy int
	deadline := froze.Add(30 * outageOptions.IdleInTransactionTimeout)
	for {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, _, err := other.CreateCard(wctx, m, b.ID, board.CardInput{ColumnID: col.ID, Title: "after the freeze"})
		cancel()
		if err == nil {
			break
		}
		var be *board.Error
		if !errors.As(err, &be) || be.Code != board.EUnavailable || be.RetryAfter <= 0 {
			t.Fatalf("a write while the board's lock holder is frozen: %v; want unavailable with a Retry-After", err)
		}
		busy++
		if time.Now().After(deadline) {
			t.Fatalf("writes to the board did not recover within %s while its lock holder stayed frozen", deadline.Sub(froze))
		}
	}
	t.Logf("writes recovered %s after the lock holder froze (%d busy answers in between)", time.Since(froze).Round(time.Millisecond), busy)
	if busy == 0 {
		t.Error("no write met the frozen lock: the test tested nothing")
	}

	// The frozen instance wakes up: its session is gone, its change too.
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("the frozen transaction committed after its session was ended")
	}
	snap, err := other.Snapshot(ctx, "owner", b.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range snap.Cards {
		if c.Title == "half-made" {
			t.Error("the frozen instance's half-made card is in the board")
		}
	}
	events, head := allEvents(t, other, "owner", b.ID)
	if int64(len(events)) != head || head != snap.Seq {
		t.Fatalf("log of %d events, head %d, snapshot at %d: not gap-free", len(events), head, snap.Seq)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	// The frozen instance's pool recovers too: its next write succeeds.
	must[board.Card](t)(frozen.CreateCard(ctx, m, b.ID, board.CardInput{ColumnID: col.ID, Title: "thawed"}))
}
