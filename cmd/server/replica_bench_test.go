package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// BenchmarkSnapshotReads: GET /api/boards/{board} of a 500-card board,
// round-robin over 3 instances on one primary, with every read on the
// primary and with the reads on a streaming replica of it (same box). The
// reads/s figure is in docs/operations.md.
//
//	go test ./cmd/server -run '^$' -bench SnapshotReads -benchtime 3000x
func BenchmarkSnapshotReads(b *testing.B) {
	rep := pgtest.NewReplicated(b, store.Migrate)
	setup := startAppB(b, testConfig(rep.PrimaryURL(), ""))
	user := signup(b, "http://"+setup.Addr(), "bench")
	st := setup.store
	m := board.Meta{Actor: user.id}
	bd, _, err := st.CreateBoard(b.Context(), m, board.BoardInput{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	col, _, err := st.CreateColumn(b.Context(), m, bd.ID, board.ColumnInput{Name: "todo"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 500 {
		if _, _, err := st.CreateCard(b.Context(), m, bd.ID, board.CardInput{ColumnID: col.ID, Title: fmt.Sprint("card ", i), Description: "a card of the benchmark board"}); err != nil {
			b.Fatal(err)
		}
	}
	rep.WaitReplay(b)

	for _, withReplica := range []bool{false, true} {
		name := "primary"
		if withReplica {
			name = "replica"
		}
		b.Run(name, func(b *testing.B) {
			var bases []string
			var apps []*App
			for range 3 {
				cfg := testConfig(rep.PrimaryURL(), "")
				if withReplica {
					cfg.DatabaseReplicaURL = rep.ReplicaURL()
				}
				a := startAppB(b, cfg)
				bases = append(bases, "http://"+a.Addr())
				apps = append(apps, a)
			}
			var next atomic.Uint64
			b.SetParallelism(4) // 8 clients on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					base := bases[next.Add(1)%3]
					req, _ := http.NewRequest("GET", base+"/api/boards/"+bd.ID, nil)
					req.Header.Set("Authorization", "Bearer "+user.secret)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("GET snapshot: %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
			var onReplica uint64
			for _, a := range apps {
				onReplica += a.store.ReplicaStats().Reads
			}
			if withReplica && onReplica < uint64(b.N) {
				b.Errorf("the replica answered %d of %d reads", onReplica, b.N)
			}
		})
	}
}

// startAppB starts an instance for a benchmark and closes it at its end.
func startAppB(b *testing.B, cfg Config) *App {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg.AdminAddr = ""
	a, err := Start(ctx, cfg, testLogger())
	if err != nil {
		b.Fatalf("start instance: %v", err)
	}
	b.Cleanup(func() { a.Close() })
	return a
}
