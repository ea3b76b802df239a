package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// mutationConfig is a number of concurrent writers, each of whose
// operations picks one of the first `boards` boards at random (and one of
// its cards at random), as the pgbench script does.
type mutationConfig struct{ boards, writers int }

func (c mutationConfig) name() string {
	return fmt.Sprintf("boards=%d/writers=%d", c.boards, c.writers)
}

// mutationConfigs: one writer; sixteen on one board, where they serialize
// on the board's row lock by design; sixteen spread over sixteen boards.
var mutationConfigs = []mutationConfig{{1, 1}, {1, 16}, {16, 16}}

// BenchmarkCardPatch measures one card PATCH (a title change) per op, from
// the HTTP request to the durable commit, against pgbench running the same
// SQL on the same server:
//
//   - pgbench: scripts/pgbench/mutation.sql, the statements of the store's
//     mutation, one per round trip, with as many clients as writers (the
//     ceiling of this box);
//   - store: store.UpdateCard called directly (the store without HTTP);
//   - http: PATCH /api/boards/{board}/cards/{card} through a real HTTP server
//     on loopback, from a load generator in another process, the API and the
//     store;
//   - http-idem (16 writers on 16 boards only): the same with an
//     Idempotency-Key on every request, as the browser client sends (its
//     claim and completion are SQL that pgbench's script does not run);
//   - http-floor (16 writers on 16 boards only): the same requests to a
//     bare net/http handler that decodes the title and calls the store, as
//     store does: what net/http and the store cost without Corkboard's
//     middleware, authentication, API and publishing.
//
// Reported: ops/s (whole run), p50-ms and p99-ms of the per-op latencies.
func BenchmarkCardPatch(b *testing.B) {
	for _, cfg := range mutationConfigs {
		b.Run(cfg.name(), func(b *testing.B) {
			b.Run("pgbench", func(b *testing.B) { benchPgbench(b, cfg) })
			b.Run("store", func(b *testing.B) { benchStorePatch(b, cfg) })
			b.Run("http", func(b *testing.B) { benchHTTPPatch(b, cfg, false) })
			if cfg == (mutationConfig{16, 16}) {
				b.Run("http-idem", func(b *testing.B) { benchHTTPPatch(b, cfg, true) })
				b.Run("http-floor", func(b *testing.B) { benchFloorPatch(b, cfg) })
			}
		})
	}
}

// BenchmarkCardMove measures one card move per op through the store
// (store.MoveCard called directly, as the store path of BenchmarkCardPatch):
// a random card of a random board to the top or the bottom of its column,
// alternately, as cmd/loadgen's moves. A move reads the card and its new
// neighbours and writes the card and the event: its round trips, and the
// Go and PostgreSQL CPU they cost, are what it shows.
func BenchmarkCardMove(b *testing.B) {
	for _, cfg := range []mutationConfig{{1, 1}, {16, 16}} {
		b.Run(cfg.name()+"/store", func(b *testing.B) {
			e := getEnv(b)
			e.checkpoint(b)
			op := func(ctx context.Context, rnd *rand.Rand, i int) error {
				bd, k := 1+rnd.IntN(cfg.boards), 1+rnd.IntN(cardsPerBoard)
				to := "top"
				if i%2 == 1 {
					to = "bottom"
				}
				m := board.Meta{Actor: e.user, OpID: fmt.Sprintf("go-%d", i)}
				_, _, err := e.store.MoveCard(ctx, m, boardID(bd), cardID(bd, k), board.CardMove{Position: board.Position{To: to}}, 0)
				return err
			}
			lat, elapsed, cpu := runWriters(b, e, cfg.writers, op)
			p50, p99 := summarize(lat)
			record(b, result{config: cfg.name(), impl: "store-move", ops: float64(len(lat)) / elapsed.Seconds(), p50: p50, p99: p99, extra: cpu})
		})
	}
}

// opFunc does operation i as writer w, with the writer's own random source.
type opFunc func(ctx context.Context, rnd *rand.Rand, i int) error

// runWriters runs b.N operations on cfg.writers goroutines and returns the
// latency of each operation, the wall time of the whole run and the CPU
// spent per operation.
func runWriters(b *testing.B, e *env, writers int, op opFunc) ([]time.Duration, time.Duration, map[string]float64) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var failed atomic.Bool
	var firstErr error
	var errOnce sync.Once
	lats := make([][]time.Duration, writers)
	var wg sync.WaitGroup
	cpu := e.startCPU(b.Name())
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(b.N)))
			l := make([]time.Duration, 0, b.N/writers+1)
			for !failed.Load() {
				i := next.Add(1)
				if i > int64(b.N) {
					break
				}
				t := time.Now()
				if err := op(ctx, rnd, int(i)); err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					break
				}
				l = append(l, time.Since(t))
			}
			lats[w] = l
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpuPerOp := cpu.stop(b.N, 0)
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return all, elapsed, cpuPerOp
}

// benchHTTPPatch sends the PATCHes from a load generator in another process
// (loadclient_test.go), so that this process's CPU is the server's.
func benchHTTPPatch(b *testing.B, cfg mutationConfig, idempotencyKeys bool) {
	e := getEnv(b)
	impl := "http"
	if idempotencyKeys {
		impl = "http-idem"
	}
	benchLoadClient(b, e, cfg, impl, loadConfig{Addr: e.http.Listener.Addr().String(),
		Cookie: e.cookie.Name + "=" + e.cookie.Value, IdempotencyKeys: idempotencyKeys})
}

// benchFloorPatch sends the load client's PATCHes to floorHandler.
func benchFloorPatch(b *testing.B, cfg mutationConfig) {
	e := getEnv(b)
	srv := httptest.NewServer(floorHandler(e))
	defer srv.Close()
	benchLoadClient(b, e, cfg, "http-floor", loadConfig{Addr: srv.Listener.Addr().String()})
}

// benchLoadClient runs b.N PATCHes of cfg from the load client to lc.Addr (as
// lc.Cookie, with lc.IdempotencyKeys), and records them as impl.
func benchLoadClient(b *testing.B, e *env, cfg mutationConfig, impl string, lc loadConfig) {
	e.checkpoint(b)
	lc.Boards, lc.Cards, lc.Writers, lc.Ops, lc.Seed = cfg.boards, cardsPerBoard, cfg.writers, b.N, uint64(b.N)
	client, err := startLoadClient(lc)
	if err != nil {
		b.Fatal(err)
	}
	cpu := e.startCPU(b.Name())
	b.ResetTimer()
	run, err := client.run(func() { b.StopTimer(); cpu.end() })
	if err != nil {
		b.Fatal(err)
	}
	if n := len(run.lat); n != b.N {
		b.Fatalf("the load client made %d requests, want %d", n, b.N)
	}
	p50, p99 := summarize(run.lat)
	record(b, result{config: cfg.name(), impl: impl, ops: float64(b.N) / run.wall.Seconds(), p50: p50, p99: p99,
		extra: cpu.result(b.N, run.cpu)})
}

// floorHandler is the least an HTTP server can do for the load client's
// PATCH: net/http's router, the title decoded with encoding/json, the
// store's UpdateCard as the benchmark user (no session, no middleware, no
// publishing), the card answered as JSON.
func floorHandler(e *env) http.Handler {
	var ops atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /api/boards/{board}/cards/{card}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Title *string `json:"title"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == nil {
			http.Error(w, "want {\"title\": ...}", http.StatusBadRequest)
			return
		}
		m := board.Meta{Actor: e.user, OpID: "floor-" + strconv.FormatInt(ops.Add(1), 10)}
		c, _, err := e.store.UpdateCard(r.Context(), m, r.PathValue("board"), r.PathValue("card"), board.CardPatch{Title: in.Title}, 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body, err := c.AppendJSON(nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body) //nolint:errcheck // the client sees a short answer
	})
	return mux
}

func benchStorePatch(b *testing.B, cfg mutationConfig) {
	e := getEnv(b)
	e.checkpoint(b)
	op := func(ctx context.Context, rnd *rand.Rand, i int) error {
		bd, k := 1+rnd.IntN(cfg.boards), 1+rnd.IntN(cardsPerBoard)
		title := fmt.Sprintf("Card %d of board %d, edit %d", k, bd, i)
		m := board.Meta{Actor: e.user, OpID: fmt.Sprintf("go-%d", i)}
		_, _, err := e.store.UpdateCard(ctx, m, boardID(bd), cardID(bd, k), board.CardPatch{Title: &title}, 0)
		return err
	}
	lat, elapsed, cpu := runWriters(b, e, cfg.writers, op)
	p50, p99 := summarize(lat)
	record(b, result{config: cfg.name(), impl: "store", ops: float64(len(lat)) / elapsed.Seconds(), p50: p50, p99: p99, extra: cpu})
}
