package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// BenchmarkSequenceLog: the cost of giving one committed event its place in
// the global log, in batches of 1000, with no writer competing. The events
// are written (unnumbered, 16 boards) before the timer starts.
func BenchmarkSequenceLog(b *testing.B) {
	st := newStore(b)
	ctx := context.Background()
	if _, err := st.Pool().Exec(ctx, `
		INSERT INTO events (board_id, seq, kind, payload, actor)
		SELECT ('00000000-0000-0000-0000-0000000000' || lpad(to_hex(i % 16), 2, '0'))::uuid, i / 16 + 1,
		       'card.updated', '{"id": "x", "title": "a title of some length"}', 'bench'
		FROM generate_series(0, $1 - 1) i`, b.N); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	done := 0
	for done < b.N {
		n, err := st.SequenceLog(ctx, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("numbered %d of %d", done, b.N)
		}
		done += n
	}
}

// BenchmarkWritesWithSequencer: mutations (a column rename) by parallel
// writers on 16 boards, with no sequencer and with one woken after every
// commit as the server runs it: what numbering the log costs the writers.
func BenchmarkWritesWithSequencer(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("sequencer=%v", on), func(b *testing.B) {
			st := newStore(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			m := board.Meta{Actor: "owner"}
			type target struct{ board, col string }
			var targets []target
			for i := range 16 {
				bd := must[board.Board](b)(st.CreateBoard(ctx, m, board.BoardInput{Name: fmt.Sprint(i)}))
				c := must[board.Column](b)(st.CreateColumn(ctx, m, bd.ID, board.ColumnInput{Name: "c"}))
				targets = append(targets, target{bd.ID, c.ID})
			}
			q := store.NewSequencer(st, store.SequencerOptions{})
			done := make(chan struct{})
			if on {
				go func() { defer close(done); q.Run(ctx) }()
			} else {
				close(done)
			}
			var next atomic.Int64
			b.SetParallelism(2) // 2 writers per CPU
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					tg := targets[i%int64(len(targets))]
					name := fmt.Sprint("c", i)
					if _, _, err := st.UpdateColumn(ctx, m, tg.board, tg.col, board.ColumnPatch{Name: &name}, 0); err != nil {
						b.Error(err)
						return
					}
					if on {
						q.Wake()
					}
				}
			})
			b.StopTimer()
			cancel()
			<-done
		})
	}
}
