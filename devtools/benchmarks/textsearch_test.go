package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// The search fixture: searchBoards boards of searchCardsPerBoard cards
// each (one comment per card), in their own database; the searcher is a
// member of every searchEvery-th board (searchVisible of them), other users
// of the rest.
const (
	searchBoards        = 1000
	searchCardsPerBoard = 100
	searchEvery         = searchBoards / searchVisible
	searchVisible       = 50
	searcher            = "5e000000-0000-4000-8000-000000000001"
)

// searchQueries are what is searched for, from a word on about a fifth of
// the cards to one on none. Each is measured on its own and all together.
var searchQueries = []struct{ name, q string }{
	{"common", "release"}, // about 1 card in 5
	{"medium", "invoice"}, // about 1 in 50
	{"rare", "quasar"},    // about 1 in 2,000
	{"two-words", "staging numbers"},
	{"none", "xylophone"},
}

// searchAll is every query of searchQueries in turn: the overall figure.
const searchAll = "all"

// BenchmarkSearch measures a search of the cards (title, description and
// comments) of the boards one user sees — 50 of 1,000 boards of 100 cards
// each, 100,000 cards and 100,000 comments — ranked, first page of 20:
//
//   - fts: PostgreSQL full-text search, websearch_to_tsquery against the
//     tsvector columns of migration 0009 with their GIN indexes, ranked by
//     ts_rank_cd (the SQL of store.Search, without its highlights);
//   - trgm: pg_trgm, ILIKE '%word%' for each word against GIN trigram
//     indexes on title || ' ' || description and on comment text, ranked
//     by word_similarity;
//   - store: store.Search, the fts query with the page's highlights
//     (ts_headline of the 20 results) and the board names.
//
// The three take turns on one connection each, so that whatever else runs
// on the machine weighs on them alike. Reported: <method>-p50-ms and
// <method>-p99-ms per search, for each kind of query and for all of them
// in turn ("all"); hits is the number of results (at most a page of 20).
func BenchmarkSearch(b *testing.B) {
	methods := []string{"fts", "trgm", "store"}
	for _, q := range append(searchQueries, struct{ name, q string }{searchAll, ""}) {
		b.Run(q.name, func(b *testing.B) {
			f := getSearchFixture(b)
			ctx := context.Background()
			search := func(m, text string) (int, error) {
				switch m {
				case "fts":
					return f.fts(ctx, text)
				case "trgm":
					return f.trgm(ctx, text)
				}
				page, err := f.store.Search(ctx, searcher, board.SearchQuery{Text: text, Limit: 20})
				return len(page.Results), err
			}
			text := func(i int) string {
				if q.name == searchAll {
					return searchQueries[i%len(searchQueries)].q
				}
				return q.q
			}
			for _, m := range methods { // warm the cache
				for i := range searchQueries {
					if _, err := search(m, text(i)); err != nil {
						b.Fatal(err)
					}
				}
			}
			// The methods take turns, each op in a different order, so
			// that whatever else loads the machine loads them alike.
			lat := map[string][]time.Duration{}
			hits := map[string]int{}
			b.ResetTimer()
			for i := range b.N {
				for k := range methods {
					m := methods[(i+k)%len(methods)]
					t := time.Now()
					n, err := search(m, text(i))
					if err != nil {
						b.Fatalf("%s: %v", m, err)
					}
					lat[m] = append(lat[m], time.Since(t))
					hits[m] = n
				}
			}
			b.StopTimer()
			for _, m := range methods {
				p50, p99 := summarize(lat[m])
				b.ReportMetric(p50, m+"-p50-ms")
				b.ReportMetric(p99, m+"-p99-ms")
			}
			if q.name != searchAll && hits["fts"] != hits["store"] {
				b.Errorf("fts found %d cards, store.Search %d", hits["fts"], hits["store"])
			}
			b.ReportMetric(float64(hits["fts"]), "hits")
		})
	}
}

// searchFixture is the seeded search database.
type searchFixture struct {
	env   *env
	url   string
	store *store.Store
	mu    sync.Mutex
	conn  *pgx.Conn
}

var (
	searchOnce sync.Once
	searchFix  *searchFixture
	searchErr  error
)

func getSearchFixture(b *testing.B) *searchFixture {
	b.Helper()
	e := getEnv(b)
	searchOnce.Do(func() { searchFix, searchErr = seedSearch(e) })
	if searchErr != nil {
		b.Fatalf("search fixture: %v", searchErr)
	}
	return searchFix
}

// seedSearch makes the search database (a database "search" on the
// benchmarks' server; with BENCH_DATABASE_URL, that database), migrates it,
// seeds it, and adds the pg_trgm indexes the trgm method needs.
func seedSearch(e *env) (*searchFixture, error) {
	ctx := context.Background()
	f := &searchFixture{env: e, url: e.dbURL}
	if e.srv != nil {
		if err := e.srv.CreateDatabase(ctx, "search"); err != nil {
			return nil, err
		}
		f.url = e.srv.URL("search")
	}
	if err := store.Migrate(ctx, f.url); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, f.url)
	if err != nil {
		return nil, err
	}
	f.conn = conn
	var seeded bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM board_members WHERE user_id = $1)`, searcher).
		Scan(&seeded); err != nil {
		return nil, err
	}
	if !seeded {
		if err := seedSearchRows(ctx, conn); err != nil {
			return nil, fmt.Errorf("seed search: %w", err)
		}
	}
	for _, sql := range []string{
		`CREATE EXTENSION IF NOT EXISTS pg_trgm`,
		`CREATE INDEX IF NOT EXISTS cards_trgm ON cards USING gin ((title || ' ' || description) gin_trgm_ops)`,
		`CREATE INDEX IF NOT EXISTS comments_trgm ON comments USING gin (text gin_trgm_ops)`,
		`VACUUM ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return nil, fmt.Errorf("search fixture: %s: %w", sql, err)
		}
	}
	if f.store, err = store.Open(ctx, f.url, store.Options{MaxConns: 4}); err != nil {
		return nil, err
	}
	return f, nil
}

// searchWords make the fixture's text: each card's title is 5 words and
// its description 16, drawn with a skewed distribution (the first words
// are the most common), and its comment 10. Some words are planted at
// known rates (see searchQueries).
var searchWords = strings.Fields(`task fix update review plan team design
	check build deploy report client page data login user server test bug
	draft email meeting notes budget sprint goal scope launch backlog api
	mobile docs style search filter board label due owner chart metric cost
	risk vendor legal audit contract hiring onboarding survey feedback
	roadmap pricing banner video podcast webinar partner support ticket`)

func searchText(rnd *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		// Squaring a uniform number favours the start of the list.
		x := rnd.Float64()
		w[i] = searchWords[int(x*x*float64(len(searchWords)))]
	}
	switch r := rnd.IntN(2000); {
	case r < 400:
		w[rnd.IntN(n)] = "release"
	case r < 440:
		w[rnd.IntN(n)] = "invoice"
	case r < 441:
		w[rnd.IntN(n)] = "quasar"
	case r < 480 && n > 3:
		i := rnd.IntN(n - 1)
		w[i], w[i+1] = "staging", "numbers"
	}
	return strings.Join(w, " ")
}

func seedSearchRows(ctx context.Context, conn *pgx.Conn) error {
	rnd := rand.New(rand.NewPCG(1, 2))
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var boards, members, cols, cards, comments [][]any
		for bi := range searchBoards {
			bid := fmt.Sprintf("5b000000-0000-4000-8000-%012d", bi)
			col := fmt.Sprintf("5c000000-0000-4000-8000-%012d", bi)
			owner := fmt.Sprintf("5e000000-0000-4000-8001-%012d", bi%200)
			boards = append(boards, []any{bid, fmt.Sprintf("Board %d", bi), owner})
			members = append(members, []any{bid, owner, "owner"})
			if bi%searchEvery == 0 {
				members = append(members, []any{bid, searcher, "editor"})
			}
			cols = append(cols, []any{col, bid, "Todo", "V"})
			ranks, err := rankSeq(searchCardsPerBoard)
			if err != nil {
				return err
			}
			for k := range searchCardsPerBoard {
				card := fmt.Sprintf("5ca00000-0000-4000-8000-%012d", bi*searchCardsPerBoard+k)
				cards = append(cards, []any{card, bid, col, searchText(rnd, 5), searchText(rnd, 16), ranks[k], owner, 1})
				comments = append(comments, []any{bid, card, owner, searchText(rnd, 10)})
			}
		}
		copies := []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"boards", []string{"id", "name", "owner_id"}, boards},
			{"board_members", []string{"board_id", "user_id", "role"}, members},
			{"columns", []string{"id", "board_id", "name", "rank"}, cols},
			{"cards", []string{"id", "board_id", "column_id", "title", "description", "rank", "created_by", "comment_count"}, cards},
			{"comments", []string{"board_id", "card_id", "author_id", "text"}, comments},
		}
		for _, c := range copies {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("%s: %w", c.table, err)
			}
		}
		return nil
	})
}

// fts is the full-text query of store.Search without highlights, planned
// with its parameters as store.Search does.
func (f *searchFixture) fts(ctx context.Context, q string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rows, err := f.conn.Query(ctx, `
		WITH hits AS (
			SELECT c.id AS card_id, ts_rank_cd(c.search, websearch_to_tsquery('english', $2)) AS score
			FROM board_members m JOIN cards c ON c.board_id = m.board_id
			WHERE m.user_id = $1 AND c.search @@ websearch_to_tsquery('english', $2) AND c.archived_at IS NULL
			UNION ALL
			SELECT k.card_id, 0.5 * ts_rank_cd(k.search, websearch_to_tsquery('english', $2))
			FROM board_members m JOIN comments k ON k.board_id = m.board_id
			CROSS JOIN LATERAL (
				SELECT FROM cards c WHERE c.id = k.card_id AND c.archived_at IS NULL OFFSET 0) live
			WHERE m.user_id = $1 AND k.search @@ websearch_to_tsquery('english', $2))
		SELECT card_id, max(score)::real AS score FROM hits
		GROUP BY card_id ORDER BY score DESC, card_id LIMIT 20`, pgx.QueryExecModeExec, searcher, q)
	return countRows(rows, err)
}

// trgm is the same search with pg_trgm: every word a substring of the
// card's title or description, or of one of its comments; planned with
// its parameters too.
func (f *searchFixture) trgm(ctx context.Context, q string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	args := []any{pgx.QueryExecModeExec, searcher, q}
	var cardWhere, commentWhere []string
	for _, w := range strings.Fields(q) {
		args = append(args, "%"+likeEscape(w)+"%")
		n := len(args) - 1 // the first is the mode
		cardWhere = append(cardWhere, fmt.Sprintf(`(c.title || ' ' || c.description) ILIKE $%d`, n))
		commentWhere = append(commentWhere, fmt.Sprintf(`k.text ILIKE $%d`, n))
	}
	rows, err := f.conn.Query(ctx, `
		WITH hits AS (
			SELECT c.id AS card_id, word_similarity($2, c.title || ' ' || c.description) AS score
			FROM board_members m JOIN cards c ON c.board_id = m.board_id
			WHERE m.user_id = $1 AND c.archived_at IS NULL AND `+strings.Join(cardWhere, " AND ")+`
			UNION ALL
			SELECT k.card_id, 0.5 * word_similarity($2, k.text)
			FROM board_members m JOIN comments k ON k.board_id = m.board_id
			CROSS JOIN LATERAL (
				SELECT FROM cards c WHERE c.id = k.card_id AND c.archived_at IS NULL OFFSET 0) live
			WHERE m.user_id = $1 AND `+strings.Join(commentWhere, " AND ")+`)
		SELECT card_id, max(score)::real AS score FROM hits
		GROUP BY card_id ORDER BY score DESC, card_id LIMIT 20`, args...)
	return countRows(rows, err)
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func countRows(rows pgx.Rows, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
