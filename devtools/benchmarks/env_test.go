package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/commit"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/ops"
	"github.com/corkboard/corkboard/internal/pglocal"
	"github.com/corkboard/corkboard/internal/rank"
	"github.com/corkboard/corkboard/internal/store"
)

// The seeded data. Ids are fixed so that the pgbench script can name them:
// board b is boardID(b), card k (1-based) of board b is cardID(b, k). The
// benchmark user signs up over HTTP and owns every board.
const (
	benchUsername  = "bench"
	benchPassword  = "a password for the benchmarks"
	writeBoards    = 16 // boards the mutation benchmarks write to
	cardsPerBoard  = 16
	snapshotBoard  = 1000 // the board with snapshotCards cards
	snapshotCards  = 10000
	snapshotCols   = 5
	seedDescLength = 120 // characters of each card's description
	// What each card of the snapshot board carries besides its 2 labels.
	snapshotItems    = 5 // one checklist of 5 items
	snapshotComments = 3
)

func boardID(b int) string     { return fmt.Sprintf("b0000000-0000-4000-8000-%012d", b) }
func columnID(b, k int) string { return fmt.Sprintf("c0000000-0000-4000-8000-%012d", b*100+k) }
func cardID(b, k int) string   { return fmt.Sprintf("ca000000-0000-4000-8000-%012d", b*100000+k) }

// labelID is the id of label l of board b: 0 is "bench", 1–4 are "p0"–"p3".
func labelID(b, l int) string { return fmt.Sprintf("1a000000-0000-4000-8000-%012d", b*100+l) }

// env is the PostgreSQL, store and HTTP server shared by every benchmark of
// the process, started on first use and stopped by TestMain.
type env struct {
	srv    *pglocal.Server // nil with BENCH_DATABASE_URL
	dir    string
	dbURL  string
	store  *store.Store
	nats   *natsbus.Server
	bus    *natsbus.Bus
	hub    *hub.Hub
	http   *httptest.Server
	client *http.Client
	pool   int32
	load   string    // /proc/loadavg when the environment was started
	until  time.Time // the end of the time budget
	user   string    // the benchmark user's id
	cookie *http.Cookie

	// serverTime receives, when set, how long each request took inside the
	// server (from routing to the handler's return).
	serverTime chan time.Duration
	timeMu     sync.Mutex
}

var (
	sharedOnce sync.Once
	shared     *env
	sharedErr  error
)

// TestMain stops the shared PostgreSQL after the benchmarks and prints the
// comparison of Go and pgbench.
func TestMain(m *testing.M) {
	if os.Getenv(loadClientEnv) != "" {
		os.Exit(runLoadClient()) // this process is a load generator
	}
	code := m.Run()
	if shared != nil {
		printComparison(os.Stdout, shared)
		if err := shared.close(); err != nil {
			fmt.Fprintln(os.Stderr, "benchmarks:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// getEnv returns the shared environment, starting it on first use.
func getEnv(b *testing.B) *env {
	b.Helper()
	sharedOnce.Do(func() {
		start := time.Now()
		load := loadAvg()
		shared, sharedErr = startEnv()
		if sharedErr == nil {
			shared.load = load
			shared.until = start.Add(budget())
			fmt.Fprintf(os.Stderr, "benchmarks: PostgreSQL up and seeded in %s (pool %d conns, GOMAXPROCS %d)\n",
				time.Since(start).Round(time.Millisecond), shared.pool, runtime.GOMAXPROCS(0))
		}
	})
	if sharedErr != nil {
		b.Fatalf("benchmark environment: %v", sharedErr)
	}
	if time.Now().After(shared.until) {
		b.Skipf("over the time budget of %s (BENCH_BUDGET): the machine is slow or busy", budget())
	}
	return shared
}

// budget is how long the benchmarks of one run may take (BENCH_BUDGET,
// default 4m): later ones are skipped, so that a busy machine cannot make a
// run take much longer.
func budget() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BENCH_BUDGET")); err == nil && d > 0 {
		return d
	}
	return 4 * time.Minute
}

// startEnv starts a durable PostgreSQL (or uses BENCH_DATABASE_URL),
// migrates and seeds it, opens the store and serves the API over HTTP.
//
// Environment:
//   - BENCH_DATABASE_URL: an existing database (it is migrated and seeded
//     with fixed ids; use a scratch database).
//   - BENCH_DIR: where to put the data directory (default: the system
//     temporary directory). It must be on a real disk: on tmpfs fsync costs
//     nothing and the figures mean little.
//   - BENCH_DB_MAX_CONNS: pool size (default: as cmd/server, max(4, CPUs)).
func startEnv() (_ *env, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := &env{}
	defer func() {
		if err != nil {
			_ = e.close()
		}
	}()
	if u := os.Getenv("BENCH_DATABASE_URL"); u != "" {
		e.dbURL = u
	} else {
		if e.dir, err = os.MkdirTemp(os.Getenv("BENCH_DIR"), "corkboard-bench-"); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		// Durable: fsync, synchronous_commit and full_page_writes stay on
		// (PostgreSQL's defaults; checkDurable makes sure).
		e.srv, err = pglocal.Start(ctx, pglocal.Options{Dir: e.dir, Fast: false})
		if err != nil {
			return nil, err
		}
		if err := e.srv.CreateDatabase(ctx, "bench"); err != nil {
			return nil, err
		}
		e.dbURL = e.srv.URL("bench")
	}
	if err := store.Migrate(ctx, e.dbURL); err != nil {
		return nil, err
	}
	if err := checkDurable(ctx, e.dbURL); err != nil {
		return nil, err
	}

	e.pool = int32(max(4, runtime.NumCPU())) // as cmd/server
	if v := os.Getenv("BENCH_DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("BENCH_DB_MAX_CONNS=%q: want a positive number", v)
		}
		e.pool = int32(n)
	}
	if e.store, err = store.Open(ctx, e.dbURL, store.Options{MaxConns: e.pool}); err != nil {
		return nil, err
	}

	// The API as cmd/server builds it, with real accounts (each request
	// is authenticated by its session cookie, read from the database at
	// most every 5 s, as cmd/server's credential cache does), behind
	// cmd/server's middleware (request ids, metrics, access log at info
	// level, security headers, cross-origin protection), publishing every
	// committed event to a hub and over an in-process NATS server (through
	// an in-process pipe) as cmd/server does without NATS_URL; but without
	// the per-user rate limit: one user makes thousands of requests a
	// second here.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if e.nats, err = natsbus.StartServer(natsbus.ServerOptions{Port: -1, Name: "bench", NoProducerStall: true}); err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	if e.bus, err = natsbus.Connect(ctx, natsbus.Options{Server: e.nats, Name: "bench", Logger: log}); err != nil {
		return nil, err
	}
	e.hub = hub.New(hub.Options{Log: e.store, Bus: e.bus, Logger: log})
	metrics := ops.NewMetrics()
	committer := commit.New(commit.Options{Bus: e.bus, Local: e.hub, Logger: log, Published: metrics.Committed})
	o := httpapi.Options{
		Store:     e.store,
		Committer: committer,
		Accounts:  auth.New(auth.Options{Store: e.store, Revoker: committer, CredentialTTL: 5 * time.Second}), // AUTH_CACHE_TTL's default
		Logger:    log,
		RateBurst: 1 << 30,
		Rate:      1e9,
	}
	csrf, err := httpapi.CrossOriginProtection(nil)
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(e.timeRequests, ops.NewRequestIDs().Middleware, metrics.Middleware, ops.AccessLog(log), httpapi.SecurityHeaders)
	r.With(csrf).Mount("/api", httpapi.New(o).Routes())
	// The same API without the snapshot cache, for what a read of a
	// changed board costs.
	o.SnapshotCacheBytes = -1
	r.With(csrf).Mount("/uncached/api", httpapi.New(o).Routes())
	e.http = httptest.NewServer(r)
	e.client = &http.Client{Transport: &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256, // keep-alive for every writer: no reconnects
		IdleConnTimeout:     time.Minute,
	}}
	if err := e.logIn(ctx); err != nil {
		return nil, err
	}
	if err := seed(ctx, e.dbURL, e.user); err != nil {
		return nil, err
	}
	return e, nil
}

// logIn signs the benchmark user up (or, on a database seeded before, logs
// it in) over HTTP, and keeps its id and session cookie.
func (e *env) logIn(ctx context.Context) error {
	acc, err := apitest.SignUp(ctx, e.client, e.http.URL, benchUsername, benchPassword)
	if se := (*apitest.StatusError)(nil); errors.As(err, &se) && se.Status == http.StatusConflict {
		acc, err = apitest.LogIn(ctx, e.client, e.http.URL, benchUsername, benchPassword) // seeded before
	}
	if err != nil {
		return fmt.Errorf("log in as %s: %w", benchUsername, err)
	}
	e.user, e.cookie = acc.ID, &http.Cookie{Name: apitest.SessionCookie, Value: acc.Session}
	return nil
}

// timeRequests sends each request's server-side duration to e.serverTime
// when a benchmark has set it.
func (e *env) timeRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		e.timeMu.Lock()
		ch := e.serverTime
		e.timeMu.Unlock()
		if ch != nil {
			select {
			case ch <- time.Since(start):
			default:
			}
		}
	})
}

func (e *env) setServerTime(ch chan time.Duration) {
	e.timeMu.Lock()
	e.serverTime = ch
	e.timeMu.Unlock()
}

func (e *env) close() error {
	if e.http != nil {
		e.http.Close()
	}
	if e.hub != nil {
		e.hub.Close()
	}
	if e.bus != nil {
		_ = e.bus.Close(context.Background())
	}
	if e.nats != nil {
		e.nats.Shutdown()
	}
	if e.store != nil {
		e.store.Close()
	}
	var errs []error
	if e.srv != nil {
		errs = append(errs, e.srv.Stop())
	}
	if e.dir != "" {
		errs = append(errs, os.RemoveAll(e.dir))
	}
	return errors.Join(errs...)
}

// checkDurable refuses to measure a server that does not flush commits.
func checkDurable(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var fsync, syncCommit string
	if err := conn.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).
		Scan(&fsync, &syncCommit); err != nil {
		return err
	}
	if fsync != "on" || syncCommit != "on" {
		return fmt.Errorf("the server runs with fsync=%s synchronous_commit=%s: the benchmarks measure the durable configuration, both must be on", fsync, syncCommit)
	}
	return nil
}

// seed writes the boards the benchmarks use, with fixed ids, straight into
// the tables (as the store would leave them, without their history): boards
// 1..writeBoards with one column of cardsPerBoard cards each, and board
// snapshotBoard with snapshotCards cards over snapshotCols columns. user
// owns them all; two other users are editors and one a viewer.
func seed(ctx context.Context, url, user string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var seeded bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM boards WHERE id = $1)`, boardID(snapshotBoard)).
		Scan(&seeded); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if seeded {
		return nil
	}
	boards := make([]int, 0, writeBoards+1)
	for b := 1; b <= writeBoards; b++ {
		boards = append(boards, b)
	}
	boards = append(boards, snapshotBoard)

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var cards [][]any
		for _, b := range boards {
			if _, err := tx.Exec(ctx, `INSERT INTO boards (id, name, description, owner_id) VALUES ($1, $2, $3, $4)`,
				boardID(b), fmt.Sprintf("Board %d", b), "A board for benchmarks", user); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO board_members (board_id, user_id, role)
				VALUES ($1, $2, 'owner'), ($1, $3, 'editor'), ($1, $4, 'editor'), ($1, $5, 'viewer')`,
				boardID(b), user, otherUsers[0], otherUsers[1], otherUsers[2]); err != nil {
				return err
			}
			for l, name := range []string{"bench", "p0", "p1", "p2", "p3"} {
				if _, err := tx.Exec(ctx, `INSERT INTO labels (id, board_id, name, color) VALUES ($1, $2, $3, $4)`,
					labelID(b, l), boardID(b), name, board.LabelColor(name)); err != nil {
					return err
				}
			}
			ncols, ncards := 1, cardsPerBoard
			if b == snapshotBoard {
				ncols, ncards = snapshotCols, snapshotCards
			}
			colRank := ""
			for c := 1; c <= ncols; c++ {
				if colRank, err = rank.Between(colRank, ""); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO columns (id, board_id, name, rank) VALUES ($1, $2, $3, $4)`,
					columnID(b, c), boardID(b), fmt.Sprintf("Column %d", c), colRank); err != nil {
					return err
				}
			}
			// Cards go to the bottom of their column, one after another,
			// with the ranks the store would give them.
			ranks := make([]string, ncols+1)
			for k := 1; k <= ncards; k++ {
				c := 1 + (k-1)*ncols/ncards
				if ranks[c], err = rank.Between(ranks[c], ""); err != nil {
					return err
				}
				labels := []string{labelID(b, 0), labelID(b, 1+k%4)}
				assignees := otherUsers[:2]
				cards = append(cards, []any{cardID(b, k), boardID(b), columnID(b, c),
					fmt.Sprintf("Card %d of board %d", k, b), description(k), labels, assignees, ranks[c], user})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cards"},
			[]string{"id", "board_id", "column_id", "title", "description", "label_ids", "assignees", "rank", "created_by"},
			pgx.CopyFromRows(cards)); err != nil {
			return err
		}
		return seedCardThings(ctx, tx, user)
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	for _, sql := range []string{`VACUUM ANALYZE`, `CHECKPOINT`} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("seed: %s: %w", sql, err)
		}
	}
	return nil
}

// seedCardThings gives every card of the snapshot board a checklist of
// snapshotItems items (two ticked) and snapshotComments comments, with the
// card's counts, as the store keeps them.
func seedCardThings(ctx context.Context, tx pgx.Tx, user string) error {
	var lists, items, comments [][]any
	itemRanks, err := rankSeq(snapshotItems)
	if err != nil {
		return err
	}
	for k := 1; k <= snapshotCards; k++ {
		card := cardID(snapshotBoard, k)
		list := fmt.Sprintf("c1000000-0000-4000-8000-%012d", k)
		lists = append(lists, []any{list, boardID(snapshotBoard), card, "Steps", "V"})
		for i := range snapshotItems {
			items = append(items, []any{card, list, fmt.Sprintf("Step %d of card %d", i+1, k), i < 2, itemRanks[i]})
		}
		for i := range snapshotComments {
			comments = append(comments, []any{boardID(snapshotBoard), card, user,
				fmt.Sprintf("Comment %d: see https://example.com/tickets/%d for the details.", i+1, k)})
		}
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"checklists", []string{"id", "board_id", "card_id", "name", "rank"}, lists},
		{"checklist_items", []string{"card_id", "checklist_id", "text", "done", "rank"}, items},
		{"comments", []string{"board_id", "card_id", "author_id", "text"}, comments},
	}
	for _, c := range copies {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return fmt.Errorf("seed %s: %w", c.table, err)
		}
	}
	_, err = tx.Exec(ctx, `UPDATE cards SET comment_count = $2, checklist_done = 2, checklist_total = $3
		WHERE board_id = $1`, boardID(snapshotBoard), snapshotComments, snapshotItems)
	return err
}

func rankSeq(n int) ([]string, error) {
	ranks := make([]string, n)
	last := ""
	for i := range ranks {
		r, err := rank.Between(last, "")
		if err != nil {
			return nil, err
		}
		ranks[i], last = r, r
	}
	return ranks, nil
}

// otherUsers are the ids of the other members of the seeded boards (no
// accounts: nobody logs in as them).
var otherUsers = []string{
	"a0000000-0000-4000-8000-000000000001",
	"a0000000-0000-4000-8000-000000000002",
	"a0000000-0000-4000-8000-000000000003",
}

// description is a card description of seedDescLength characters.
func description(k int) string {
	const words = "Follow up with the team about the release notes and check the staging numbers before Friday. "
	s := fmt.Sprintf("#%d ", k)
	for len(s) < seedDescLength {
		s += words
	}
	return s[:seedDescLength]
}

// checkpoint flushes dirty pages so that every measurement starts from the
// same state (the first change to each page after a checkpoint writes the
// whole page to the WAL).
func (e *env) checkpoint(b *testing.B) {
	b.Helper()
	if _, err := e.store.Pool().Exec(context.Background(), `CHECKPOINT`); err != nil {
		b.Fatalf("checkpoint: %v", err)
	}
}

// loadAvg returns the 1-, 5- and 15-minute load averages, or "?". Anything
// else running on the machine shows here and skews the figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
