package hub

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// BenchmarkFanout measures one Publish to a board with 1,000 or 10,000 local
// subscribers: the event is encoded once and queued to every subscriber. The
// queues are drained outside the timed region (every drainEvery events, few
// enough that no queue comes near its limit), so the figures are the hub's
// cost alone: ns/op is one event to all subscribers, ns/delivery and
// allocs/delivery are per subscriber reached.
func BenchmarkFanout(b *testing.B) {
	for _, nsubs := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("subscribers=%d", nsubs), func(b *testing.B) {
			lg := newFakeLog()
			lg.create("b")
			h := New(Options{Log: lg, HeadInterval: time.Hour, PresenceInterval: time.Hour,
				QueueBytes: 64 << 20, Logger: testLogger})
			defer h.Close()
			clients := make([]*Client, nsubs)
			for i := range clients {
				clients[i] = h.Connect(userName(i, 100))
				if err := clients[i].Subscribe(b.Context(), "b", nil); err != nil {
					b.Fatal(err)
				}
			}
			var frames [][]byte
			drainAll := func() {
				for _, c := range clients {
					frames = c.Take(frames[:0])
				}
			}
			drainAll()
			drainEvery := max(1, 1_000_000/nsubs) // at most 1M frames queued between drains
			e := board.Event{BoardID: "b", Kind: board.KindCardUpdated, Actor: "writer", OpID: "op",
				Data: []byte(`{"id":"3f1c2d4e-0000-4000-8000-000000000000","title":"Write the benchmark","rank":"V"}`)}

			// The events are in the log, as committed events are: the hub
			// checks those that come by the bus against it.
			for i := range b.N {
				e.Seq = int64(i) + 1
				lg.append(e)
			}

			var mallocs uint64
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before := ms.Mallocs
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				e.Seq = int64(i) + 1
				h.Publish(e)
				if (i+1)%drainEvery == 0 {
					b.StopTimer()
					runtime.ReadMemStats(&ms)
					mallocs += ms.Mallocs - before
					drainAll()
					runtime.ReadMemStats(&ms)
					before = ms.Mallocs
					b.StartTimer()
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms)
			mallocs += ms.Mallocs - before

			deliveries := float64(b.N) * float64(nsubs)
			if got := h.Stats().Delivered; got != uint64(deliveries) {
				b.Fatalf("Delivered = %d, want %.0f", got, deliveries)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
			b.ReportMetric(float64(mallocs)/deliveries, "allocs/delivery")
			drainAll()
			for _, c := range clients {
				c.Close(nil)
			}
		})
	}
}
