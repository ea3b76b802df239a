package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/pglocal"
)

// ack is a write the server acknowledged, and when.
type ack struct {
	board, title string
	at           time.Time
}

// Backups taken while writers write — a base backup (pg_basebackup) and a
// logical dump (pg_dump) — restore into fresh clusters that a server runs
// on: every board's snapshot equals the replay of its log, and every write
// acknowledged before the backup started is there. A client whose since is
// past a restored board's head (it saw events the backup does not have) is
// told to resync, over the WebSocket and over REST.
func TestBackupRestoreUnderLoad(t *testing.T) {
	root, err := os.MkdirTemp("", "corkboard-backup-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil { // the postgres OS user traverses it
		t.Fatal(err)
	}
	ctx := t.Context()
	primary := startPostgres(t, filepath.Join(root, "primary"))
	a := startApp(t, testConfig(primary.URL(localDatabase), ""))
	alice := a.api(t, "alice")
	const boards = 3
	var boardIDs, colIDs []string
	for i := range boards {
		b, c := alice.newBoard(fmt.Sprint("backup ", i))
		boardIDs, colIDs = append(boardIDs, b), append(colIDs, c)
	}

	var mu sync.Mutex
	var acks []ack
	counts := make([]int, boards)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range boards {
		w := a.api(t, "alice")
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				title := fmt.Sprintf("%d/%d", i, n)
				if st := w.do("POST", "/api/boards/"+boardIDs[i]+"/cards", map[string]any{"column_id": colIDs[i], "title": title}, nil); st != http.StatusCreated {
					t.Errorf("write %s: %d", title, st)
					return
				}
				mu.Lock()
				acks = append(acks, ack{boardIDs[i], title, time.Now()})
				counts[i]++
				mu.Unlock()
			}
		})
	}
	writes := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acks)
	}
	waitFor(t, 30*time.Second, "writes before the backups", func() bool { return writes() >= 30 })

	baseStart := time.Now()
	if err := primary.BaseBackup(ctx, pglocal.BackupOptions{Dir: filepath.Join(root, "base")}); err != nil {
		t.Fatal(err)
	}
	dumpStart := time.Now()
	dump := filepath.Join(root, "corkboard.dump")
	if out, err := exec.CommandContext(ctx, primary.Bin("pg_dump"), "-Fc", "-f", dump, primary.URL(localDatabase)).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	n := writes()
	waitFor(t, 30*time.Second, "writes after the backups", func() bool { return writes() >= n+10 })
	close(stop)
	wg.Wait()
	heads := make(map[string]int64)
	for _, id := range boardIDs {
		heads[id] = alice.snapshot(id).Seq
	}
	t.Logf("%d writes acknowledged, %d of them before the base backup started", len(acks), countBefore(acks, baseStart))

	t.Run("base backup", func(t *testing.T) {
		restored := startPostgres(t, filepath.Join(root, "base"))
		b := startApp(t, testConfig(restored.URL(localDatabase), ""))
		checkRestored(t, b, alice, boardIDs, heads, acks, baseStart)
	})
	t.Run("pg_dump", func(t *testing.T) {
		fresh := startPostgres(t, filepath.Join(root, "fresh"))
		out, err := exec.CommandContext(ctx, fresh.Bin("pg_restore"), "--no-owner", "-d", fresh.URL(localDatabase), dump).CombinedOutput()
		if err != nil {
			t.Fatalf("pg_restore: %v\n%s", err, out)
		}
		b := startApp(t, testConfig(fresh.URL(localDatabase), ""))
		checkRestored(t, b, alice, boardIDs, heads, acks, dumpStart)
	})
}

func countBefore(acks []ack, t time.Time) int {
	n := 0
	for _, a := range acks {
		if a.at.Before(t) {
			n++
		}
	}
	return n
}

// startPostgres starts a private PostgreSQL on dir (making the cluster if
// dir holds none) with database corkboard, stopped when t ends.
func startPostgres(t *testing.T, dir string) *pglocal.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := s.CreateDatabase(ctx, localDatabase); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkRestored checks the boards of the restored instance b: each snapshot
// is the replay of the board's log, holds every write acknowledged before
// start, and is not ahead of the original's head; and a subscriber whose
// since is the original's head (past the restored one) gets resync.
func checkRestored(t *testing.T, b *App, user *api, boardIDs []string, heads map[string]int64, acks []ack, start time.Time) {
	c := *user // the session is in the backup too
	c.t, c.base = t, "http://"+b.Addr()
	accounts.Store(b.cfg.DatabaseURL+" "+user.user, &c)
	restoredHeads := map[string]int64{}
	for _, id := range boardIDs {
		snap := c.snapshot(id)
		restoredHeads[id] = snap.Seq
		var replay board.Snapshot
		for since := int64(0); since < snap.Seq; {
			var page struct {
				Events []board.Event `json:"events"`
				Next   int64         `json:"next"`
			}
			c.mustDo("GET", fmt.Sprintf("/api/boards/%s/events?since=%d&limit=%d", id, since, board.MaxEventsPageLimit), nil, &page)
			for _, e := range page.Events {
				if err := replay.Apply(e); err != nil {
					t.Fatalf("board %s: replay event %d: %v", id, e.Seq, err)
				}
			}
			since = page.Next
		}
		if got, want := titles(snap), titles(replay); !slices.Equal(got, want) || replay.Seq != snap.Seq {
			t.Errorf("board %s: snapshot at seq %d has cards %v; its log replayed to seq %d: %v", id, snap.Seq, got, replay.Seq, want)
		}
		if snap.Seq > heads[id] {
			t.Errorf("board %s: restored at seq %d, past the original's %d", id, snap.Seq, heads[id])
		}
		have := titles(snap)
		for _, a := range acks {
			if a.board == id && a.at.Before(start) && !slices.Contains(have, a.title) {
				t.Errorf("board %s: card %s, acknowledged before the backup started, is missing", id, a.title)
			}
		}
	}

	// A client that saw the original's later events.
	id := boardIDs[0]
	if restoredHeads[id] >= heads[id] {
		t.Fatalf("board %s: the restored head %d is not behind the original's %d: nothing to resync", id, restoredHeads[id], heads[id])
	}
	sub := dialSubscriber(t, b, user.user, "ahead")
	sub.subscribe(id, heads[id])
	waitFor(t, 10*time.Second, "resync", func() bool {
		_, ok := sub.frameOf("resync", id)
		return ok
	})
	if f, _ := sub.frameOf("resync", id); f.Reason != "since_expired" {
		t.Errorf("resync reason %q, want since_expired", f.Reason)
	}
	if f, ok := sub.frameOf("error", ""); ok {
		t.Errorf("error frame %+v", f)
	}
	if st := c.do("GET", fmt.Sprintf("/api/boards/%s/events?since=%d", id, heads[id]), nil, nil); st != http.StatusGone {
		t.Errorf("REST events since %d past the restored head %d: %d, want 410", heads[id], restoredHeads[id], st)
	}
	// From the restored head on, all is as usual.
	sub.subscribe(id, restoredHeads[id])
	if seq := sub.waitSubscribed(id); seq != restoredHeads[id] {
		t.Errorf("subscribed at %d, want %d", seq, restoredHeads[id])
	}
}

func titles(s board.Snapshot) []string {
	out := make([]string, 0, len(s.Cards))
	for _, c := range s.Cards {
		out = append(out, c.Title)
	}
	return out
}
