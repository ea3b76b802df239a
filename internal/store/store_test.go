package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
	"github.com/corkboard/corkboard/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t testing.TB) *store.Store {
	t.Helper()
	st, _ := newStoreURL(t)
	return st
}

// newStoreURL is newStore, with the URL of its database (for what a test
// must write past the store).
func newStoreURL(t testing.TB) (*store.Store, string) {
	t.Helper()
	url := pgtest.NewDatabase(t, "store", store.Migrate)
	st, err := store.Open(context.Background(), url, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, url
}

func must[T any](t testing.TB) func(T, board.Event, error) T {
	return func(v T, _ board.Event, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// allEvents reads the board's whole log, page by page.
func allEvents(t testing.TB, st *store.Store, user, boardID string) ([]board.Event, int64) {
	t.Helper()
	var all []board.Event
	var head int64
	for since := int64(0); ; {
		page, h, err := st.Events(context.Background(), user, boardID, since, board.MaxEventsPageLimit)
		if err != nil {
			t.Fatal(err)
		}
		head = h
		all = append(all, page...)
		// A page may end early (board.MaxEventsPageBytes): read up to head.
		if len(page) == 0 || page[len(page)-1].Seq >= head {
			return all, head
		}
		since = page[len(page)-1].Seq
	}
}

// normalized renders a snapshot for comparison: times in UTC, no reader's
// role, empty lists for absent ones.
func normalized(t testing.TB, s board.Snapshot) string {
	t.Helper()
	utc := func(tm *time.Time) { *tm = tm.UTC() }
	s.Board.Role = ""
	utc(&s.Board.CreatedAt)
	utc(&s.Board.UpdatedAt)
	s.Columns = slices.Clone(s.Columns)
	s.Cards = slices.Clone(s.Cards)
	s.Labels = slices.Clone(s.Labels)
	if s.Labels == nil {
		s.Labels = []board.Label{}
	}
	for i := range s.Labels {
		utc(&s.Labels[i].CreatedAt)
		utc(&s.Labels[i].UpdatedAt)
	}
	for i := range s.Columns {
		utc(&s.Columns[i].CreatedAt)
		utc(&s.Columns[i].UpdatedAt)
	}
	for i := range s.Cards {
		c := &s.Cards[i]
		utc(&c.CreatedAt)
		utc(&c.UpdatedAt)
		if c.ArchivedAt != nil {
			a := c.ArchivedAt.UTC()
			c.ArchivedAt = &a
		}
		if c.Labels == nil {
			c.Labels = []string{}
		}
		if c.Assignees == nil {
			c.Assignees = []string{}
		}
	}
	if s.Columns == nil {
		s.Columns = []board.Column{}
	}
	if s.Cards == nil {
		s.Cards = []board.Card{}
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkOrder checks that the snapshot lists columns and cards in strictly
// increasing (rank, id) order with no two equal ranks in one scope, and that
// sorting them by (rank, id) gives the snapshot's order.
func checkOrder(t testing.TB, s board.Snapshot) {
	t.Helper()
	for i := 1; i < len(s.Columns); i++ {
		if s.Columns[i-1].Rank >= s.Columns[i].Rank {
			t.Errorf("columns %d and %d: ranks %q, %q not strictly increasing", i-1, i, s.Columns[i-1].Rank, s.Columns[i].Rank)
		}
	}
	place := map[string]int{}
	for i, c := range s.Columns {
		place[c.ID] = i
	}
	for i := 1; i < len(s.Cards); i++ {
		a, b := s.Cards[i-1], s.Cards[i]
		if _, ok := place[b.ColumnID]; !ok {
			t.Errorf("card %s is in column %s, which the snapshot lacks", b.ID, b.ColumnID)
		}
		switch {
		case place[a.ColumnID] > place[b.ColumnID]:
			t.Errorf("cards %d and %d: columns out of order", i-1, i)
		case a.ColumnID == b.ColumnID && a.Rank >= b.Rank:
			t.Errorf("cards %s and %s of column %s: ranks %q, %q not strictly increasing", a.ID, b.ID, a.ColumnID, a.Rank, b.Rank)
		}
	}
	sorted := slices.Clone(s.Cards)
	board.SortCards(sorted, s.Columns)
	if !slices.EqualFunc(sorted, s.Cards, func(a, b board.Card) bool { return a.ID == b.ID }) {
		t.Error("the snapshot's card order is not the (column, rank, id) order")
	}
}

// loadWorld is what the writers of TestConcurrentWriters share: the ids they
// may name. Each writer owns the cards it creates.
type loadWorld struct {
	mu     sync.Mutex
	cols   []string
	cards  []string
	labels []string // of the board, made before the writers start (if any)
}

func (w *loadWorld) pick(rng *rand.Rand, from func(*loadWorld) []string, not string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := from(w)
	for range 4 {
		if len(list) == 0 {
			return ""
		}
		if id := list[rng.IntN(len(list))]; id != not {
			return id
		}
	}
	return ""
}

func cols(w *loadWorld) []string  { return w.cols }
func cards(w *loadWorld) []string { return w.cards }

type ownCard struct {
	id       string
	archived bool
}

// loadWriter makes mutations on one board, one at a time, as Actor.
type loadWriter struct {
	st      *store.Store
	boardID string
	w       *loadWorld
	rng     *rand.Rand
	actor   string
	mine    []ownCard
}

func (lw *loadWriter) position(self string) board.Position {
	switch lw.rng.IntN(4) {
	case 0:
		return board.Position{To: "top"}
	case 1:
		return board.Position{}
	case 2:
		if id := lw.w.pick(lw.rng, cards, self); id != "" {
			return board.Position{After: id}
		}
	case 3:
		if id := lw.w.pick(lw.rng, cards, self); id != "" {
			return board.Position{Before: id}
		}
	}
	return board.Position{To: "bottom"}
}

// step makes one random mutation. Errors the races between writers explain
// (a neighbour or column deleted or moved meanwhile) are ENotFound.
func (lw *loadWriter) step(ctx context.Context, op string) error {
	m := board.Meta{Actor: lw.actor, OpID: op}
	st, id := lw.st, lw.boardID
	r := lw.rng.IntN(100)
	if len(lw.mine) == 0 {
		r = 0
	}
	var own *ownCard
	if len(lw.mine) > 0 {
		own = &lw.mine[lw.rng.IntN(len(lw.mine))]
	}
	switch {
	case r < 25:
		col := lw.w.pick(lw.rng, cols, "")
		c, _, err := st.CreateCard(ctx, m, id, board.CardInput{ColumnID: col, Title: "card " + op,
			Labels: lw.w.labels[:min(1, len(lw.w.labels))], Position: lw.position("")})
		if err == nil {
			lw.mine = append(lw.mine, ownCard{id: c.ID})
			lw.w.mu.Lock()
			lw.w.cards = append(lw.w.cards, c.ID)
			lw.w.mu.Unlock()
		}
		return err
	case r < 45:
		var p board.CardPatch
		title, desc, done := "title "+op, "description "+op, lw.rng.IntN(2) == 0
		labels, due := slices.Clone(lw.w.labels), fmt.Sprintf("2030-%02d-%02d", 1+lw.rng.IntN(12), 1+lw.rng.IntN(28))
		for p.Empty() {
			if lw.rng.IntN(2) == 0 {
				p.Title = &title
			}
			if lw.rng.IntN(3) == 0 {
				p.Description = &desc
			}
			if lw.rng.IntN(3) == 0 {
				p.Done = &done
			}
			if lw.rng.IntN(4) == 0 {
				p.Labels = &labels
			}
			if lw.rng.IntN(4) == 0 {
				p.DueSet = true
				if lw.rng.IntN(3) > 0 {
					p.Due = &due
				}
			}
			if lw.rng.IntN(5) == 0 {
				p.Assignees = &[]string{lw.actor}
			}
		}
		_, _, err := st.UpdateCard(ctx, m, id, own.id, p, 0)
		return err
	case r < 65:
		mv := board.CardMove{Position: lw.position(own.id)}
		if lw.rng.IntN(2) == 0 {
			mv.ColumnID = lw.w.pick(lw.rng, cols, "")
		}
		_, _, err := st.MoveCard(ctx, m, id, own.id, mv, 0)
		return err
	case r < 75:
		_, _, err := st.SetArchived(ctx, m, id, own.id, !own.archived, 0)
		if err == nil {
			own.archived = !own.archived
		}
		return err
	case r < 85:
		_, err := st.DeleteCard(ctx, m, id, own.id, 0)
		if err == nil {
			gone := own.id
			lw.mine = slices.DeleteFunc(lw.mine, func(c ownCard) bool { return c.id == gone })
			lw.w.mu.Lock()
			lw.w.cards = slices.DeleteFunc(lw.w.cards, func(c string) bool { return c == gone })
			lw.w.mu.Unlock()
		}
		return err
	case r < 87:
		// The owner renames the board now and then.
		name := "board " + op
		_, _, err := st.UpdateBoard(ctx, board.Meta{Actor: "owner", OpID: op}, id, board.BoardPatch{Name: &name}, 0)
		return err
	default:
		return lw.columnStep(ctx, m, r)
	}
}

func (lw *loadWriter) columnStep(ctx context.Context, m board.Meta, r int) error {
	st, id := lw.st, lw.boardID
	w := lw.w
	switch {
	case r < 91:
		name := "column " + m.OpID
		_, _, err := st.UpdateColumn(ctx, m, id, w.pick(lw.rng, cols, ""), board.ColumnPatch{Name: &name}, 0)
		return err
	case r < 95:
		col := w.pick(lw.rng, cols, "")
		p := board.Position{To: "top"}
		if other := w.pick(lw.rng, cols, col); other != "" && lw.rng.IntN(2) == 0 {
			p = board.Position{After: other}
		}
		_, _, err := st.MoveColumn(ctx, m, id, col, p, 0)
		return err
	}
	// Add a column, or delete one moving its cards to another, keeping
	// between 3 and 6.
	w.mu.Lock()
	if len(w.cols) < 6 && (len(w.cols) <= 3 || lw.rng.IntN(2) == 0) {
		w.mu.Unlock()
		p := board.Position{To: "top"}
		if other := w.pick(lw.rng, cols, ""); other != "" && lw.rng.IntN(2) == 0 {
			p = board.Position{Before: other}
		}
		c, _, err := st.CreateColumn(ctx, m, id, board.ColumnInput{Name: "new " + m.OpID, Position: p})
		if err == nil {
			w.mu.Lock()
			w.cols = append(w.cols, c.ID)
			w.mu.Unlock()
		}
		return err
	}
	i := lw.rng.IntN(len(w.cols))
	victim := w.cols[i]
	w.cols = slices.Delete(w.cols, i, i+1)
	to := w.cols[lw.rng.IntN(len(w.cols))]
	w.mu.Unlock()
	_, err := st.DeleteColumn(ctx, m, id, victim, board.ColumnDelete{Cards: board.CardsMove, To: to}, 0)
	if err != nil {
		w.mu.Lock()
		w.cols = append(w.cols, victim)
		w.mu.Unlock()
	}
	return err
}

// Sixteen writers make a hundred mutations each on one board at once. The log
// has exactly one event per mutation, numbered without gaps or duplicates, and
// replaying it reproduces the final snapshot exactly.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	owner := board.Meta{Actor: "owner"}
	b := must[board.Board](t)(st.CreateBoard(ctx, owner, board.BoardInput{Name: "load"}))
	w := &loadWorld{}
	for i := range 4 {
		c := must[board.Column](t)(st.CreateColumn(ctx, owner, b.ID, board.ColumnInput{Name: fmt.Sprint("col ", i)}))
		w.cols = append(w.cols, c.ID)
	}
	for _, name := range []string{"x", "y"} {
		l := must[board.Label](t)(st.CreateLabel(ctx, owner, b.ID, board.LabelInput{Name: name}))
		w.labels = append(w.labels, l.ID)
	}
	const writers, perWriter, setup = 16, 100, 7
	for i := range writers {
		if _, err := st.Pool().Exec(ctx, `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, $2, 'editor')`,
			b.ID, fmt.Sprint("w", i)); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	retries := make([]int, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			lw := &loadWriter{st: st, boardID: b.ID, w: w, rng: rand.New(rand.NewPCG(uint64(i), 42)), actor: fmt.Sprint("w", i)}
			<-start
			for done := 0; done < perWriter; {
				op := fmt.Sprintf("w%d-%d", i, done)
				err := lw.step(ctx, op)
				switch board.ErrorCode(err) {
				case "":
					done++
				case board.ENotFound:
					if retries[i]++; retries[i] > 20*perWriter {
						t.Errorf("writer %d: %d retries", i, retries[i])
						return
					}
				default:
					t.Errorf("writer %d, op %s: %v", i, op, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("retries after races: %v", retries)

	events, head := allEvents(t, st, "owner", b.ID)
	const total = setup + writers*perWriter
	if head != total || len(events) != total {
		t.Fatalf("head %d and %d events, want %d", head, len(events), total)
	}
	ops := map[string]int{}
	kinds := map[string]int{}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		if i >= setup {
			ops[e.OpID]++
		}
		kinds[e.Kind]++
	}
	for i := range writers {
		for n := range perWriter {
			if op := fmt.Sprintf("w%d-%d", i, n); ops[op] != 1 {
				t.Errorf("op %s has %d events, want 1", op, ops[op])
			}
		}
	}
	t.Logf("event kinds: %v", kinds)
	for _, k := range []string{board.KindCardCreated, board.KindCardUpdated, board.KindCardMoved, board.KindCardArchived,
		board.KindCardUnarchived, board.KindCardDeleted, board.KindColumnCreated, board.KindColumnUpdated,
		board.KindColumnMoved, board.KindColumnDeleted, board.KindBoardUpdated} {
		if kinds[k] == 0 {
			t.Errorf("the mix made no %s", k)
		}
	}
	var n, distinct int
	var lo, hi int64
	if err := st.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE board_id = $1`,
		b.ID).Scan(&n, &distinct, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != total || distinct != total || lo != 1 || hi != total {
		t.Errorf("events table: %d rows, %d distinct seqs, %d..%d", n, distinct, lo, hi)
	}

	final, err := st.Snapshot(ctx, "owner", b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.Seq != total || len(final.Cards) == 0 {
		t.Fatalf("final snapshot at seq %d with %d cards", final.Seq, len(final.Cards))
	}
	checkOrder(t, final)
	var replayed board.Snapshot
	for _, e := range events {
		if err := replayed.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	// The editors were added straight in SQL, not by events.
	final.Members = replayed.Members
	if got, want := normalized(t, replayed), normalized(t, final); got != want {
		t.Errorf("replaying the log does not give the snapshot:\nreplayed %s\nsnapshot %s", got, want)
	}
	// Replaying from the middle, onto a snapshot taken there, gives the same.
	var half board.Snapshot
	for _, e := range events[:total/2] {
		if err := half.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	half, err = roundTrip(half)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events[total/2:] {
		if err := half.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := normalized(t, half), normalized(t, final); got != want {
		t.Error("replaying the second half onto a decoded snapshot of the first differs")
	}
}

// roundTrip encodes and decodes a snapshot, as a client holding it would.
func roundTrip(s board.Snapshot) (board.Snapshot, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return board.Snapshot{}, err
	}
	var out board.Snapshot
	return out, json.Unmarshal(b, &out)
}

// Many cards moved at once into the same gap end in one strict total order:
// distinct ranks, strictly increasing, the snapshot's order.
func TestConcurrentMovesIntoOneGap(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	m := board.Meta{Actor: "owner"}
	b := must[board.Board](t)(st.CreateBoard(ctx, m, board.BoardInput{Name: "gap"}))
	left := must[board.Column](t)(st.CreateColumn(ctx, m, b.ID, board.ColumnInput{Name: "left"}))
	right := must[board.Column](t)(st.CreateColumn(ctx, m, b.ID, board.ColumnInput{Name: "right"}))
	newCard := func(col, title string) board.Card {
		return must[board.Card](t)(st.CreateCard(ctx, m, b.ID, board.CardInput{ColumnID: col, Title: title}))
	}
	x, y := newCard(left.ID, "x"), newCard(left.ID, "y")
	const n = 16
	movers := make([]board.Card, n)
	for i := range movers {
		movers[i] = newCard(right.ID, fmt.Sprint("m", i))
	}

	rounds := []struct {
		name string
		mv   func(i int) board.CardMove
	}{
		{"after x from another column", func(int) board.CardMove {
			return board.CardMove{ColumnID: left.ID, Position: board.Position{After: x.ID}}
		}},
		{"before y within the column", func(int) board.CardMove { return board.CardMove{Position: board.Position{Before: y.ID}} }},
		{"after x again", func(int) board.CardMove { return board.CardMove{Position: board.Position{After: x.ID}} }},
		{"top", func(int) board.CardMove { return board.CardMove{Position: board.Position{To: "top"}} }},
		{"between x and y", func(int) board.CardMove {
			return board.CardMove{Position: board.Position{After: x.ID, Before: y.ID}}
		}},
		{"after each other", func(i int) board.CardMove {
			return board.CardMove{Position: board.Position{After: movers[(i+1)%n].ID}}
		}},
	}
	for _, round := range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				if _, _, err := st.MoveCard(ctx, m, b.ID, movers[i].ID, round.mv(i), 0); err != nil {
					t.Errorf("%s: move %d: %v", round.name, i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		snap, err := st.Snapshot(ctx, "owner", b.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, snap)
		var order []string
		for _, c := range snap.Cards {
			if c.ColumnID != left.ID {
				t.Errorf("%s: card %s left in column %s", round.name, c.Title, c.ColumnID)
			}
			order = append(order, c.Title)
		}
		if len(order) != n+2 {
			t.Fatalf("%s: %d cards", round.name, len(order))
		}
		xi, yi := slices.Index(order, "x"), slices.Index(order, "y")
		switch round.name {
		case "top":
			if xi != n || yi != n+1 {
				t.Errorf("%s: order %v", round.name, order)
			}
		case "after each other":
		default:
			if xi != 0 || yi != n+1 {
				t.Errorf("%s: order %v", round.name, order)
			}
		}
		var dup int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM cards WHERE board_id = $1
			GROUP BY column_id, rank HAVING count(*) > 1) d`, b.ID).Scan(&dup); err != nil {
			t.Fatal(err)
		}
		if dup != 0 {
			t.Errorf("%s: %d ranks shared by several cards", round.name, dup)
		}
		// The database's own order agrees.
		rows, err := st.Pool().Query(ctx, `SELECT title FROM cards WHERE column_id = $1 ORDER BY rank, id`, left.ID)
		if err != nil {
			t.Fatal(err)
		}
		dbOrder, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || !slices.Equal(dbOrder, order) {
			t.Errorf("%s: database order %v, snapshot %v (%v)", round.name, dbOrder, order, err)
		}
		if t.Failed() {
			return
		}
	}
}

// Three instances starting at once on a fresh database all migrate it, and
// each migration is applied once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t, "empty", nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			if err := store.Migrate(ctx, url); err != nil {
				t.Errorf("migrate %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	check := func(when string) {
		var n, distinct int
		if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != len(files) || distinct != len(files) {
			t.Errorf("%s: %d rows for %d versions in schema_migrations, want %d", when, n, distinct, len(files))
		}
	}
	check("after three concurrent runs")
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	check("after another run")
	// The schema works.
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.CreateBoard(ctx, board.Meta{Actor: "a"}, board.BoardInput{Name: "b"}); err != nil {
		t.Fatal(err)
	}
}
