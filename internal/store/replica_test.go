package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// replicatedStore is a store on a private primary that reads from a
// streaming replica of it, and a board of owner's with one column.
func replicatedStore(t *testing.T) (*pgtest.Replicated, *store.Store, *bytes.Buffer) {
	t.Helper()
	rep := pgtest.NewReplicated(t, store.Migrate)
	st, err := store.Open(t.Context(), rep.PrimaryURL(), store.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	if err := st.OpenReplica(t.Context(), rep.ReplicaURL(), store.ReplicaOptions{MaxConns: 8, Logger: log}); err != nil {
		t.Fatal(err)
	}
	return rep, st, &logs
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func setupBoard(t *testing.T, st *store.Store, name string) (board.Meta, string, string) {
	t.Helper()
	ctx := t.Context()
	u, err := st.CreateUser(ctx, name, "x")
	if err != nil {
		t.Fatal(err)
	}
	m := board.Meta{Actor: u.ID}
	b := must[board.Board](t)(st.CreateBoard(ctx, m, board.BoardInput{Name: "replicated"}))
	col := must[board.Column](t)(st.CreateColumn(ctx, m, b.ID, board.ColumnInput{Name: "todo"}))
	return m, b.ID, col.ID
}

// onReplica runs sql on the replica's database.
func onReplica(t *testing.T, rep *pgtest.Replicated, sql string, dst ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), rep.ReplicaURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if len(dst) == 0 {
		_, err = conn.Exec(t.Context(), sql)
	} else {
		err = conn.QueryRow(t.Context(), sql).Scan(dst...)
	}
	if err != nil {
		t.Fatalf("%s on the replica: %v", sql, err)
	}
}

// With the replica's replay paused, it is behind the primary by a known
// amount: reads that it can answer come from it (and show its older
// state), and reads that need more are answered by the primary: a min_seq
// it has not reached, a since past its head, events past its head, a board
// it does not have.
func TestReplicaBehind(t *testing.T) {
	rep, st, _ := replicatedStore(t)
	ctx := t.Context()
	m, boardID, colID := setupBoard(t, st, "behind")
	rep.WaitReplay(t)
	old, err := st.Snapshot(ctx, m.Actor, boardID)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.ReplicaStats(); !got.Configured || !got.Up || got.Reads != 1 {
		t.Fatalf("stats after one snapshot: %+v, want 1 replica read", got)
	}

	onReplica(t, rep, `SELECT pg_wal_replay_pause()`)
	var ev board.Event
	for i := range 5 {
		_, ev, err = st.CreateCard(ctx, m, boardID, board.CardInput{ColumnID: colID, Title: fmt.Sprint("card ", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	b2 := must[board.Board](t)(st.CreateBoard(ctx, m, board.BoardInput{Name: "new"}))

	// Plain reads come from the paused replica: the old state.
	snap, err := st.Snapshot(ctx, m.Actor, boardID)
	if err != nil || snap.Seq != old.Seq {
		t.Fatalf("snapshot from the paused replica: seq %d, %v; want %d", snap.Seq, err, old.Seq)
	}
	// Reading one's own write: the primary.
	snap, err = st.Snapshot(board.WithMinSeq(ctx, ev.Seq), m.Actor, boardID)
	if err != nil || snap.Seq != ev.Seq || len(snap.Cards) != 5 {
		t.Fatalf("snapshot with min_seq %d: seq %d, %d cards, %v", ev.Seq, snap.Seq, len(snap.Cards), err)
	}
	events, head, err := st.Events(board.WithMinSeq(ctx, ev.Seq), m.Actor, boardID, old.Seq, 100)
	if err != nil || head != ev.Seq || len(events) != 5 {
		t.Fatalf("events with min_seq %d: head %d, %d events, %v", ev.Seq, head, len(events), err)
	}
	// since past the replica's head, but not the primary's.
	events, head, err = st.Events(ctx, m.Actor, boardID, old.Seq+2, 100)
	if err != nil || head != ev.Seq || len(events) != 3 || events[0].Seq != old.Seq+3 {
		t.Fatalf("events since %d: head %d, %d events, %v", old.Seq+2, head, len(events), err)
	}
	// The hub's catch-up asks for the events up to a head it knows: all
	// of them, the replica's part and the rest from the primary.
	log, err := st.LogEvents(ctx, boardID, 0, int(ev.Seq))
	if err != nil || int64(len(log)) != ev.Seq {
		t.Fatalf("LogEvents up to %d: %d events, %v", ev.Seq, len(log), err)
	}
	for i, e := range log {
		if e.Seq != int64(i)+1 {
			t.Fatalf("LogEvents: event %d has seq %d", i, e.Seq)
		}
	}
	// A board the replica has not seen yet.
	if snap, err := st.Snapshot(ctx, m.Actor, b2.ID); err != nil || snap.Board.Name != "new" {
		t.Fatalf("snapshot of a board only the primary has: %+v, %v", snap.Board, err)
	}
	// since past the primary's head too: the board was restored from an
	// older backup; the client must reload.
	if _, _, err := st.Events(ctx, m.Actor, boardID, ev.Seq+10, 100); board.ErrorCode(err) != board.ESinceExpired {
		t.Fatalf("events since past the head: %v, want %s", err, board.ESinceExpired)
	}
	got := st.ReplicaStats()
	if got.Reads < 2 || got.Behind < 5 || got.Fallbacks != 0 {
		t.Errorf("stats %+v: want reads ≥ 2, behind ≥ 5, no fallbacks", got)
	}

	onReplica(t, rep, `SELECT pg_wal_replay_resume()`)
	rep.WaitReplay(t)
	before := st.ReplicaStats().Reads
	snap, err = st.Snapshot(board.WithMinSeq(ctx, ev.Seq), m.Actor, boardID)
	if err != nil || snap.Seq != ev.Seq || st.ReplicaStats().Reads != before+1 {
		t.Fatalf("after replay: seq %d, %v, stats %+v; want the replica to answer", snap.Seq, err, st.ReplicaStats())
	}
}

// Under write load on the primary, the replica serves the reads (counted
// by the store and by the replica's own statistics), every snapshot equals
// the replay of the log up to its seq, and every catch-up read up to the
// primary's head is complete.
func TestReplicaServesReadsUnderLoad(t *testing.T) {
	rep, st, _ := replicatedStore(t)
	ctx := t.Context()
	m, boardID, colID := setupBoard(t, st, "load")
	rep.WaitReplay(t)
	var commits0 int64
	onReplica(t, rep, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`, &commits0)

	const writers, writes, readers, reads = 2, 60, 2, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				if _, _, err := st.CreateCard(ctx, m, boardID, board.CardInput{ColumnID: colID, Title: fmt.Sprint(w, "/", i)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for range reads {
				snap, err := st.Snapshot(ctx, m.Actor, boardID)
				if err != nil {
					errs <- err
					return
				}
				log, err := st.LogEvents(ctx, boardID, 0, int(snap.Seq))
				if err != nil {
					errs <- err
					return
				}
				var replay board.Snapshot
				for _, e := range log {
					if err := replay.Apply(e); err != nil {
						errs <- err
						return
					}
				}
				if a, b := cardTitles(snap), cardTitles(replay); a != b {
					errs <- fmt.Errorf("snapshot at seq %d: cards %s, the log replayed: %s", snap.Seq, a, b)
					return
				}
				heads, err := st.Heads(ctx, []string{boardID})
				if err != nil {
					errs <- err
					return
				}
				log, err = st.LogEvents(ctx, boardID, 0, int(heads[boardID]))
				if err != nil || int64(len(log)) < heads[boardID] {
					errs <- fmt.Errorf("catch-up to the head %d: %d events, %v", heads[boardID], len(log), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := st.ReplicaStats()
	if got.Reads < readers*reads || got.Fallbacks != 0 {
		t.Errorf("stats %+v: want at least %d reads answered by the replica, no fallbacks", got, readers*reads)
	}
	// The replica's own count: its backends report their statistics when
	// they end (or every second or so while they run).
	st.Close()
	var commits int64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		onReplica(t, rep, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`, &commits)
		if commits-commits0 >= int64(got.Reads) || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("replica: %+v; transactions committed on the replica during the load: %d", got, commits-commits0)
	if commits-commits0 < int64(got.Reads) {
		t.Errorf("the replica committed %d transactions, fewer than the %d reads the store counted there", commits-commits0, got.Reads)
	}
}

func cardTitles(s board.Snapshot) string {
	titles := make([]string, 0, len(s.Cards))
	for _, c := range s.Cards {
		titles = append(titles, c.Title)
	}
	b, _ := json.Marshal(titles)
	return string(b)
}

// A replica that stops: reads go on, from the primary, with no error; the
// replica is marked down, with a log line and a fallback count.
func TestReplicaStopped(t *testing.T) {
	rep, st, logs := replicatedStore(t)
	ctx := t.Context()
	m, boardID, colID := setupBoard(t, st, "stopped")
	rep.WaitReplay(t)
	if _, err := st.Snapshot(ctx, m.Actor, boardID); err != nil {
		t.Fatal(err)
	}
	if err := rep.Replica.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		_, ev, err := st.CreateCard(ctx, m, boardID, board.CardInput{ColumnID: colID, Title: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := st.Snapshot(ctx, m.Actor, boardID)
		if err != nil {
			t.Fatalf("snapshot %d with the replica stopped: %v", i, err)
		}
		if _, _, err := st.Events(ctx, m.Actor, boardID, 0, 10); err != nil {
			t.Fatalf("events %d with the replica stopped: %v", i, err)
		}
		if log, err := st.LogEvents(ctx, boardID, 0, int(ev.Seq)); err != nil || int64(len(log)) != ev.Seq {
			t.Fatalf("log %d with the replica stopped: %d events, %v", i, len(log), err)
		}
		if snap.Seq != ev.Seq { // the primary answers: it is up to date
			t.Fatalf("snapshot seq %d, want %d", snap.Seq, ev.Seq)
		}
	}
	got := st.ReplicaStats()
	if got.Up || got.Fallbacks == 0 {
		t.Errorf("stats %+v: want the replica down and fallbacks counted", got)
	}
	if !bytes.Contains([]byte(logs.String()), []byte("read replica failed")) {
		t.Errorf("no log line about the replica: %q", logs.String())
	}
}

// A replica that accepts connections and never answers (a partition, a
// frozen host): each read waits at most the replica timeout, then the
// primary answers; after the first, reads skip the replica.
func TestReplicaHung(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	st := newStore(t)
	url := fmt.Sprintf("postgres://postgres@%s/corkboard?sslmode=disable", ln.Addr())
	var logs bytes.Buffer
	var lmu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&lmu, &logs}, nil))
	if err := st.OpenReplica(t.Context(), url, store.ReplicaOptions{Timeout: 200 * time.Millisecond, Logger: log}); err != nil {
		t.Fatal(err)
	}
	m, boardID, _ := setupBoard(t, st, "hung")
	for i := range 10 {
		if _, err := st.Snapshot(t.Context(), m.Actor, boardID); err != nil {
			t.Fatalf("snapshot %d with a hung replica: %v", i, err)
		}
		if _, err := st.LogEvents(t.Context(), boardID, 0, 2); err != nil {
			t.Fatalf("log %d with a hung replica: %v", i, err)
		}
	}
	got := st.ReplicaStats()
	if got.Up || got.Reads != 0 || got.Fallbacks < 20 {
		t.Errorf("stats %+v: want down, no replica reads, every read a fallback", got)
	}
	lmu.Lock()
	defer lmu.Unlock()
	if !strings.Contains(logs.String(), "read replica failed") {
		t.Errorf("no log line about the replica: %q", logs.String())
	}
}
