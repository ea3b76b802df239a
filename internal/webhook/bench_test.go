package webhook_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/webhook"
)

// BenchmarkDeliveryLag: three instances' workers on one database, four
// boards with one webhook each, writers committing 200 events/s in all for
// 5s, on the instances in turn, against a receiver on loopback that answers
// 200 at once. Lag is from the commit's return to the receiver's arrival.
//
//	notify: the committing instance wakes its worker (the commit hook)
//	poll:   nobody is woken; workers find events by polling (1s)
//
// Run: go test -run '^$' -bench DeliveryLag -benchtime 1x ./internal/webhook/
func BenchmarkDeliveryLag(b *testing.B) {
	for _, notify := range []bool{true, false} {
		name := map[bool]string{true: "notify", false: "poll"}[notify]
		b.Run(name, func(b *testing.B) {
			for range b.N {
				lagRun(b, notify, 200, 5*time.Second)
			}
		})
	}
}

func lagRun(b *testing.B, notify bool, rate int, dur time.Duration) {
	e := newEnv(b, 3)
	rc := newReceiver(b)
	var workers []*running
	for _, st := range e.stores {
		o := e.options(st)
		o.PollInterval = time.Second
		workers = append(workers, e.start(o))
	}
	const boards = 4
	type tgt struct{ board, col string }
	var ts []tgt
	var hooks []webhook.Webhook
	for i := range boards {
		bd, c := e.board(fmt.Sprint("lag ", i))
		ts = append(ts, tgt{bd, c})
		hooks = append(hooks, e.hook(rc, fmt.Sprint("lag", i), bd))
	}
	var mu sync.Mutex
	committed := map[string]time.Time{} // webhook-id → commit returned
	var wg sync.WaitGroup
	start := time.Now()
	per := time.Second * time.Duration(boards) / time.Duration(rate)
	for i := range boards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(per)
			defer tick.Stop()
			n := 0
			for time.Since(start) < dur {
				<-tick.C
				inst := (i + n) % len(e.stores)
				c, ev, err := e.stores[inst].CreateCard(context.Background(), board.Meta{Actor: owner},
					ts[i].board, board.CardInput{ColumnID: ts[i].col, Title: fmt.Sprint("c", n)})
				_ = c
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				committed[webhook.MessageID(hooks[i].ID, ts[i].board, ev.Seq)] = time.Now()
				mu.Unlock()
				if notify {
					workers[inst].w.Notify(ts[i].board)
				}
				n++
			}
		}()
	}
	wg.Wait()
	e.wait(hooks, 2*time.Minute)
	b.StopTimer()
	var lags []time.Duration
	var last time.Time
	total := 0
	for i := range boards {
		for _, a := range rc.arrivals(fmt.Sprint("lag", i)) {
			mu.Lock()
			c, ok := committed[a.id]
			mu.Unlock()
			if !ok {
				continue
			}
			total++
			lags = append(lags, max(0, a.at.Sub(c)))
			if a.at.After(last) {
				last = a.at
			}
		}
	}
	rc.check(b)
	slices.Sort(lags)
	if len(lags) == 0 {
		b.Fatal("nothing delivered")
	}
	q := func(p float64) float64 { return float64(lags[int(p*float64(len(lags)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(total)/last.Sub(start).Seconds(), "delivered/s")
	b.ReportMetric(float64(total), "events")
}

// BenchmarkDeliveryBacklog: how fast a backlog drains. 2,000 events wait
// on four boards (one webhook each) before three workers start; the
// throughput is events delivered per second in all (each webhook's events
// go one at a time, in order: one request and one transaction each).
func BenchmarkDeliveryBacklog(b *testing.B) {
	for range b.N {
		e := newEnv(b, 3)
		rc := newReceiver(b)
		var hooks []webhook.Webhook
		for i := range 4 {
			bd, c := e.board(fmt.Sprint("backlog ", i))
			hooks = append(hooks, e.hook(rc, fmt.Sprint("backlog", i), bd))
			for n := range 500 {
				if _, _, err := e.st.CreateCard(context.Background(), board.Meta{Actor: owner}, bd,
					board.CardInput{ColumnID: c, Title: fmt.Sprint("c", n)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		start := time.Now()
		for _, st := range e.stores {
			e.start(e.options(st))
		}
		e.wait(hooks, 5*time.Minute)
		b.ReportMetric(2000/time.Since(start).Seconds(), "delivered/s")
		rc.check(b)
	}
}

// BenchmarkMutationWhileReceiverSleeps: the latency of a mutation (a new
// card, on a board without webhooks) on an instance whose pool (4
// connections) its webhook worker shares, with 16 webhooks of other boards
// idle, and with all 16 of their deliveries hanging on a receiver that does
// not answer.
func BenchmarkMutationWhileReceiverSleeps(b *testing.B) {
	for _, sleeping := range []bool{false, true} {
		name := map[bool]string{false: "receiver-idle", true: "receiver-sleeping"}[sleeping]
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, 1)
			st := e.open(4)
			rc := newReceiver(b)
			release := make(chan struct{})
			defer close(release)
			var hanging sync.WaitGroup
			if sleeping {
				hanging.Add(16)
				var once [16]sync.Once
				rc.onArrive = func(name string, n int) {
					var i int
					fmt.Sscanf(name, "s%d", &i)
					once[i].Do(hanging.Done)
					<-release
				}
			}
			o := e.options(st)
			o.Timeout = time.Hour
			e.start(o)
			target, col := e.board("no webhooks")
			for i := range 16 {
				bd, c := e.board(fmt.Sprint("s ", i))
				e.hook(rc, fmt.Sprint("s", i), bd)
				if sleeping {
					if _, _, err := st.CreateCard(context.Background(), board.Meta{Actor: owner}, bd, board.CardInput{ColumnID: c, Title: "wake"}); err != nil {
						b.Fatal(err)
					}
				}
			}
			hanging.Wait()
			if !sleeping {
				time.Sleep(200 * time.Millisecond) // let the worker settle
			}
			b.ResetTimer()
			for i := range b.N {
				if _, _, err := st.CreateCard(context.Background(), board.Meta{Actor: owner}, target, board.CardInput{ColumnID: col, Title: fmt.Sprint("c", i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
