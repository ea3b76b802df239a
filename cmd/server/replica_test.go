package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// raw sends a request as c and returns the status, the headers and the body.
func (c *api) raw(method, path string, body any) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

// replicaExec runs sql on the replica's database.
func replicaExec(t *testing.T, rep *pgtest.Replicated, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), rep.ReplicaURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s on the replica: %v", sql, err)
	}
}

// An instance with a read replica: 200 times in a row a write on the
// primary, then at once a read with ?min_seq= the write's Board-Seq: the
// read always shows the write (the first half with the replica's replay
// paused, so the primary must answer; the second half with it running).
// Plain reads meanwhile come from the replica. A WebSocket subscriber
// gets every event exactly once throughout, its catch-up and gap fills read
// from a replica that lags. Then the replica stops: reads go on, from the
// primary, without an error.
func TestReplicaReadYourWrites(t *testing.T) {
	rep := pgtest.NewReplicated(t, store.Migrate)
	cfg := testConfig(rep.PrimaryURL(), "")
	cfg.DatabaseReplicaURL = rep.ReplicaURL()
	cfg.ReplicaTimeout = time.Second
	cfg.AdminAddr = "127.0.0.1:0"
	a := startApp(t, cfg)
	alice := a.api(t, "alice")
	boardID, colID := alice.newBoard("ryw")
	var card board.Card
	alice.mustDo("POST", "/api/boards/"+boardID+"/cards", map[string]any{"column_id": colID, "title": "v0"}, &card)
	rep.WaitReplay(t)

	sub := dialSubscriber(t, a, "alice", "sub")
	sub.subscribe(boardID, -1)
	first := sub.waitSubscribed(boardID)

	const rounds = 200
	replicaExec(t, rep, `SELECT pg_wal_replay_pause()`)
	paused := true
	var last int64
	for i := range rounds {
		if i == rounds/2 {
			replicaExec(t, rep, `SELECT pg_wal_replay_resume()`)
			paused = false
		}
		title := fmt.Sprint("v", i+1)
		st, h, body := alice.raw("PATCH", "/api/boards/"+boardID+"/cards/"+card.ID, map[string]any{"title": title})
		seq, err := strconv.ParseInt(h.Get("Board-Seq"), 10, 64)
		if st != http.StatusOK || err != nil || seq <= last {
			t.Fatalf("round %d: PATCH %d %s, Board-Seq %q after %d", i, st, body, h.Get("Board-Seq"), last)
		}
		last = seq
		st, _, body = alice.raw("GET", fmt.Sprintf("/api/boards/%s?min_seq=%d", boardID, seq), nil)
		var snap board.Snapshot
		if st != http.StatusOK || json.Unmarshal(body, &snap) != nil {
			t.Fatalf("round %d: GET with min_seq %d: %d %s", i, seq, st, body)
		}
		if snap.Seq < seq || len(snap.Cards) != 1 || snap.Cards[0].Title != title {
			t.Fatalf("round %d (replay paused: %v): read at seq %d with card %+v, after writing %q at seq %d",
				i, paused, snap.Seq, snap.Cards, title, seq)
		}
		if st, _, _ := alice.raw("GET", "/api/boards/"+boardID, nil); st != http.StatusOK {
			t.Fatalf("round %d: plain GET: %d", i, st)
		}
	}
	stats := a.store.ReplicaStats()
	t.Logf("replica after %d writes and reads: %+v", rounds, stats)
	if stats.Behind < rounds/2 || stats.Reads < rounds/2 || stats.Fallbacks != 0 {
		t.Errorf("stats %+v: want ≥ %d reads answered by the primary for min_seq (replay paused), ≥ %d by the replica, no fallbacks",
			stats, rounds/2, rounds/2)
	}
	waitFor(t, 10*time.Second, "every event at the subscriber", func() bool { return sub.last(boardID) == last })
	sub.checkExactly(t, boardID, first+1, last)

	// A late subscriber resumes from the start: its catch-up reads the
	// replica and, for what it lacks, the primary.
	late := dialSubscriber(t, a, "alice", "late")
	late.subscribe(boardID, 1)
	late.waitSubscribed(boardID)
	waitFor(t, 10*time.Second, "the late subscriber's catch-up", func() bool { return late.last(boardID) == last })
	late.checkExactly(t, boardID, 2, last)

	if err := rep.Replica.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		st, h, _ := alice.raw("PATCH", "/api/boards/"+boardID+"/cards/"+card.ID, map[string]any{"title": fmt.Sprint("down ", i)})
		if st != http.StatusOK {
			t.Fatalf("PATCH with the replica down: %d", st)
		}
		seq, _ := strconv.ParseInt(h.Get("Board-Seq"), 10, 64)
		var snap board.Snapshot
		alice.mustDo("GET", "/api/boards/"+boardID, nil, &snap)
		if snap.Seq != seq {
			t.Fatalf("GET with the replica down: seq %d, want %d (the primary's)", snap.Seq, seq)
		}
		if st := alice.do("GET", fmt.Sprintf("/api/boards/%s/events?since=%d", boardID, seq-1), nil, nil); st != http.StatusOK {
			t.Fatalf("events with the replica down: %d", st)
		}
		last = seq
	}
	if stats := a.store.ReplicaStats(); stats.Up || stats.Fallbacks == 0 {
		t.Errorf("stats with the replica stopped: %+v, want down with fallbacks", stats)
	}
	m := scrape(t, a.AdminAddr())
	if m["corkboard_db_replica_up"] != 0 || m["corkboard_db_replica_fallbacks_total"] < 1 ||
		m["corkboard_db_replica_reads_total"] < rounds/2 || m["corkboard_db_replica_behind_total"] < rounds/2 {
		t.Errorf("replica metrics with the replica stopped: up %v, fallbacks %v, reads %v, behind %v",
			m["corkboard_db_replica_up"], m["corkboard_db_replica_fallbacks_total"],
			m["corkboard_db_replica_reads_total"], m["corkboard_db_replica_behind_total"])
	}
	waitFor(t, 10*time.Second, "every event at the subscriber", func() bool { return sub.last(boardID) == last })
	sub.checkExactly(t, boardID, first+1, last)
}

// -local-replica starts a streaming replica of the private PostgreSQL next
// to it, reads go there, and Close stops both; a second start reuses the
// replica's data directory, which catches up.
func TestLocalReplica(t *testing.T) {
	dir, err := os.MkdirTemp("", "corkboard-local-replica-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) //nolint:errcheck // the postgres user must traverse it
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := testConfig("", "")
	cfg.LocalPostgres = filepath.Join(dir, "pg")
	cfg.LocalReplica = true
	var boardID string
	var alice *api
	for round := range 2 {
		a := startApp(t, cfg)
		if a.db.localReplica == nil || a.db.replicaURL == "" {
			t.Fatal("no local replica")
		}
		if round == 0 {
			alice = signup(t, "http://"+a.Addr(), "alice")
			boardID, _ = alice.newBoard("local")
		}
		c := *alice
		c.t, c.base = t, "http://"+a.Addr()
		waitFor(t, 10*time.Second, "a snapshot read on the replica", func() bool {
			c.snapshot(boardID)
			return a.store.ReplicaStats().Reads > 0
		})
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{cfg.LocalPostgres, cfg.LocalPostgres + "-replica"} {
			if _, err := os.Stat(filepath.Join(d, "postmaster.pid")); !os.IsNotExist(err) {
				t.Fatalf("PostgreSQL in %s still running after Close (postmaster.pid: %v)", d, err)
			}
		}
	}
}
