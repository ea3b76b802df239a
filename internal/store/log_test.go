package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"reflect"
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

// logFixture is a board with two columns, a card and an editor, made fresh
// for each mutation of TestEveryMutationAppendsOneEvent.
type logFixture struct {
	owner, bob board.User
	carol      string // a user who is not a member, by username
	board      string
	col, col2  string
	card       string
	comment    string // on card
	checklist  string // on card, holding item
	item       string
	label      string // of the board, on card
}

func newLogFixture(t *testing.T, st *store.Store, owner, bob board.User, carol string) logFixture {
	t.Helper()
	ctx := context.Background()
	m := board.Meta{Actor: owner.ID}
	f := logFixture{owner: owner, bob: bob, carol: carol}
	f.board = must[board.Board](t)(st.CreateBoard(ctx, m, board.BoardInput{Name: "log"})).ID
	f.col = must[board.Column](t)(st.CreateColumn(ctx, m, f.board, board.ColumnInput{Name: "todo"})).ID
	f.col2 = must[board.Column](t)(st.CreateColumn(ctx, m, f.board, board.ColumnInput{Name: "done"})).ID
	f.card = must[board.Card](t)(st.CreateCard(ctx, m, f.board, board.CardInput{ColumnID: f.col, Title: "one"})).ID
	must[board.Member](t)(st.AddMember(ctx, m, f.board, bob.Username, board.RoleEditor))
	f.comment = must[board.Comment](t)(st.CreateComment(ctx, m, f.board, f.card, board.CommentInput{Text: "hi"})).ID
	f.checklist = must[board.Checklist](t)(st.CreateChecklist(ctx, m, f.board, f.card, board.ChecklistInput{Name: "steps"})).ID
	f.item = must[board.ChecklistItem](t)(st.CreateItem(ctx, m, f.board, f.card, f.checklist, board.ItemInput{Text: "first"})).ID
	f.label = must[board.Label](t)(st.CreateLabel(ctx, m, f.board, board.LabelInput{Name: "bug"})).ID
	must[board.Card](t)(st.UpdateCard(ctx, m, f.board, f.card, board.CardPatch{Labels: &[]string{f.label}}, 0))
	return f
}

// mutationCase is one kind of change the store makes: the method that makes
// it and the event kind it must append.
type mutationCase struct {
	method  string
	kind    string
	prepare func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) error // optional
	do      func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error)
}

func ev[T any](_ T, e board.Event, err error) (board.Event, error) { return e, err }

var mutationCases = []mutationCase{
	{"CreateBoard", board.KindBoardCreated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.CreateBoard(ctx, m, board.BoardInput{Name: "new"}))
	}},
	{"UpdateBoard", board.KindBoardUpdated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		name := "renamed"
		return ev(st.UpdateBoard(ctx, m, f.board, board.BoardPatch{Name: &name}, 0))
	}},
	{"DeleteBoard", board.KindBoardDeleted, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.DeleteBoard(ctx, m, f.board, 0)
	}},
	{"CreateColumn", board.KindColumnCreated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.CreateColumn(ctx, m, f.board, board.ColumnInput{Name: "later"}))
	}},
	{"UpdateColumn", board.KindColumnUpdated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		name := "doing"
		return ev(st.UpdateColumn(ctx, m, f.board, f.col, board.ColumnPatch{Name: &name}, 0))
	}},
	{"MoveColumn", board.KindColumnMoved, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.MoveColumn(ctx, m, f.board, f.col, board.Position{After: f.col2}, 0))
	}},
	{"DeleteColumn", board.KindColumnDeleted, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.DeleteColumn(ctx, m, f.board, f.col, board.ColumnDelete{Cards: board.CardsMove, To: f.col2}, 0)
	}},
	{"CreateCard", board.KindCardCreated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.CreateCard(ctx, m, f.board, board.CardInput{ColumnID: f.col2, Title: "two"}))
	}},
	{"UpdateCard", board.KindCardUpdated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		title := "one, edited"
		return ev(st.UpdateCard(ctx, m, f.board, f.card, board.CardPatch{Title: &title}, 0))
	}},
	{"MoveCard", board.KindCardMoved, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.MoveCard(ctx, m, f.board, f.card, board.CardMove{ColumnID: f.col2}, 0))
	}},
	{"SetArchived", board.KindCardArchived, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.SetArchived(ctx, m, f.board, f.card, true, 0))
	}},
	{"SetArchived", board.KindCardUnarchived, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) error {
		_, _, err := st.SetArchived(ctx, m, f.board, f.card, true, 0)
		return err
	}, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.SetArchived(ctx, m, f.board, f.card, false, 0))
	}},
	{"DeleteCard", board.KindCardDeleted, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.DeleteCard(ctx, m, f.board, f.card, 0)
	}},
	{"AddMember", board.KindMemberAdded, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.AddMember(ctx, m, f.board, f.carol, board.RoleViewer))
	}},
	{"UpdateMember", board.KindMemberUpdated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.UpdateMember(ctx, m, f.board, f.bob.ID, board.RoleViewer))
	}},
	{"RemoveMember", board.KindMemberRemoved, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.RemoveMember(ctx, m, f.board, f.bob.ID)
	}},
	{"CreateComment", board.KindCommentCreated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.CreateComment(ctx, m, f.board, f.card, board.CommentInput{Text: "another"}))
	}},
	{"UpdateComment", board.KindCommentUpdated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.UpdateComment(ctx, m, f.board, f.card, f.comment, board.CommentInput{Text: "hi, edited"}, 0))
	}},
	{"DeleteComment", board.KindCommentDeleted, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.DeleteComment(ctx, m, f.board, f.card, f.comment, 0)
	}},
	{"CreateAttachment", board.KindAttachmentCreated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		const key = "00000000-0000-4000-8000-0000000000a1"
		if err := st.ReserveAttachment(ctx, key, time.Hour); err != nil {
			return board.Event{}, err
		}
		return ev(st.CreateAttachment(ctx, m, f.board, f.card, board.Attachment{ID: key, StorageKey: key, Name: "a.txt",
			ContentType: "text/plain; charset=utf-8", Size: 1, SHA256: "x"}))
	}},
	{"DeleteAttachment", board.KindAttachmentDeleted, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) error {
		const key = "00000000-0000-4000-8000-0000000000a2"
		if err := st.ReserveAttachment(ctx, key, time.Hour); err != nil {
			return err
		}
		_, _, err := st.CreateAttachment(ctx, m, f.board, f.card, board.Attachment{ID: key, StorageKey: key, Name: "b.txt",
			ContentType: "text/plain; charset=utf-8", Size: 1, SHA256: "x"})
		return err
	}, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.DeleteAttachment(ctx, m, f.board, f.card, "00000000-0000-4000-8000-0000000000a2")
	}},
	{"CreateChecklist", board.KindChecklistCreated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.CreateChecklist(ctx, m, f.board, f.card, board.ChecklistInput{Name: "more"}))
	}},
	{"RenameChecklist", board.KindChecklistUpdated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.RenameChecklist(ctx, m, f.board, f.card, f.checklist, board.ChecklistInput{Name: "renamed"}, 0))
	}},
	{"DeleteChecklist", board.KindChecklistDeleted, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.DeleteChecklist(ctx, m, f.board, f.card, f.checklist, 0)
	}},
	{"CreateItem", board.KindChecklistItemCreated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.CreateItem(ctx, m, f.board, f.card, f.checklist, board.ItemInput{Text: "second"}))
	}},
	{"UpdateItem", board.KindChecklistItemUpdated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		done := true
		return ev(st.UpdateItem(ctx, m, f.board, f.card, f.checklist, f.item, board.ItemPatch{Done: &done}, 0))
	}},
	{"MoveItem", board.KindChecklistItemMoved, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) error {
		_, _, err := st.CreateItem(ctx, m, f.board, f.card, f.checklist, board.ItemInput{Text: "second"})
		return err
	}, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.MoveItem(ctx, m, f.board, f.card, f.checklist, f.item, board.ItemMove{}, 0))
	}},
	{"DeleteItem", board.KindChecklistItemDeleted, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.DeleteItem(ctx, m, f.board, f.card, f.checklist, f.item, 0)
	}},
	{"CreateLabel", board.KindLabelCreated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return ev(st.CreateLabel(ctx, m, f.board, board.LabelInput{Name: "feature", Color: "lime"}))
	}},
	{"UpdateLabel", board.KindLabelUpdated, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		name := "Bug"
		return ev(st.UpdateLabel(ctx, m, f.board, f.label, board.LabelPatch{Name: &name}, 0))
	}},
	{"DeleteLabel", board.KindLabelDeleted, nil, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.DeleteLabel(ctx, m, f.board, f.label, 0)
	}},
	// An owner leaving: the same method, on themselves, once another owner
	// remains.
	{"RemoveMember", board.KindMemberRemoved, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) error {
		_, _, err := st.UpdateMember(ctx, m, f.board, f.bob.ID, board.RoleOwner)
		return err
	}, func(ctx context.Context, st *store.Store, m board.Meta, f logFixture) (board.Event, error) {
		return st.RemoveMember(ctx, m, f.board, f.owner.ID)
	}},
}

// Every kind of change the store makes appends exactly one stored event, the
// one it returns, at the board's next seq; board.deleted and member changes
// included. Every method of the Store that returns an event must have a case
// here: a new mutation without one fails this test.
func TestEveryMutationAppendsOneEvent(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()

	// ImportBoard builds a whole board: it appends one event per imported
	// thing (its log replays to the snapshot: TestExportImportRoundTrip,
	// TestImportTrello), not one.
	covered := map[string]bool{"ImportBoard": true}
	for _, c := range mutationCases {
		covered[c.method] = true
	}
	eventType := reflect.TypeFor[board.Event]()
	storeType := reflect.TypeFor[*store.Store]()
	for i := range storeType.NumMethod() {
		meth := storeType.Method(i)
		returnsEvent := false
		for j := range meth.Type.NumOut() {
			returnsEvent = returnsEvent || meth.Type.Out(j) == eventType
		}
		if returnsEvent && !covered[meth.Name] {
			t.Errorf("Store.%s returns an event but has no case in mutationCases", meth.Name)
		}
	}

	owner := must[board.User](t)(withEvent(st.CreateUser(ctx, "logowner", "x")))
	bob := must[board.User](t)(withEvent(st.CreateUser(ctx, "logbob", "x")))
	must[board.User](t)(withEvent(st.CreateUser(ctx, "logcarol", "x")))

	for _, c := range mutationCases {
		t.Run(c.kind+"/"+c.method, func(t *testing.T) {
			f := newLogFixture(t, st, owner, bob, "logcarol")
			m := board.Meta{Actor: owner.ID, OpID: "op-" + c.kind}
			if c.prepare != nil {
				if err := c.prepare(ctx, st, board.Meta{Actor: owner.ID}, f); err != nil {
					t.Fatal(err)
				}
			}
			before, err := st.LogEvents(ctx, f.board, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.do(ctx, st, m, f)
			if err != nil {
				t.Fatal(err)
			}
			if got.BoardID != f.board { // CreateBoard: a board of its own
				before = nil
			}
			after, err := st.LogEvents(ctx, got.BoardID, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before)+1 {
				t.Fatalf("the log had %d events and has %d, want one more", len(before), len(after))
			}
			for i, e := range after {
				if e.Seq != int64(i+1) {
					t.Fatalf("event %d of the log has seq %d", i, e.Seq)
				}
			}
			stored := after[len(after)-1]
			if got.Kind != c.kind || got.Seq != stored.Seq || got.OpID != m.OpID || got.Actor != owner.ID {
				t.Errorf("returned event %s seq %d op %q actor %q; want %s seq %d op %q", got.Kind, got.Seq,
					got.OpID, got.Actor, c.kind, stored.Seq, m.OpID)
			}
			if stored.Kind != got.Kind || stored.OpID != got.OpID || stored.Actor != got.Actor ||
				!sameJSON(t, stored.Data, got.Data) || !stored.At.Equal(got.At) {
				t.Errorf("stored event %+v\nreturned   %+v", stored, got)
			}
		})
	}

	// Every event of every board, the deleted ones' included, gets exactly
	// one position.
	sequenceAll(t, st)
	var total int64
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	read := readAll(t, st, 0)
	if int64(len(read)) != total {
		t.Errorf("read %d events by position of %d stored", len(read), total)
	}
	deleted := 0
	for _, e := range read {
		if e.Kind == board.KindBoardDeleted {
			deleted++
		}
	}
	if deleted != 1 {
		t.Errorf("%d board.deleted events in the global log, want 1", deleted)
	}
}

func withEvent[T any](v T, err error) (T, board.Event, error) { return v, board.Event{}, err }

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// sequenceAll numbers every event written so far.
func sequenceAll(t testing.TB, st *store.Store) {
	t.Helper()
	for {
		n, err := st.SequenceLog(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// readAll reads the global log after position after to its end, checking
// that positions follow on from each other.
func readAll(t testing.TB, st *store.Store, after int64) []board.Event {
	t.Helper()
	var all []board.Event
	for {
		page, err := st.ReadLog(context.Background(), after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if e.Position != after+1 {
				t.Fatalf("position %d follows %d", e.Position, after)
			}
			after = e.Position
		}
		all = append(all, page...)
		if len(page) < 100 {
			return all
		}
	}
}

// A deleted board's log stays whole, board.deleted last, for the server's
// own reads (the hub's gap fill), while nobody can read it through Events
// any more and its head is gone.
func TestDeletedBoardKeepsItsLog(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	owner := board.Meta{Actor: "owner"}
	b := must[board.Board](t)(st.CreateBoard(ctx, owner, board.BoardInput{Name: "doomed"}))
	col := must[board.Column](t)(st.CreateColumn(ctx, owner, b.ID, board.ColumnInput{Name: "todo"}))
	must[board.Card](t)(st.CreateCard(ctx, owner, b.ID, board.CardInput{ColumnID: col.ID, Title: "x"}))
	// A stale If-Match changes nothing.
	if _, err := st.DeleteBoard(ctx, owner, b.ID, 7); board.ErrorCode(err) != board.EVersionMismatch {
		t.Fatalf("stale delete: %v", err)
	}
	if _, err := st.DeleteBoard(ctx, board.Meta{Actor: "stranger"}, b.ID, 0); board.ErrorCode(err) != board.ENotFound {
		t.Fatalf("a stranger's delete: %v", err)
	}
	del, err := st.DeleteBoard(ctx, owner, b.ID, b.Version)
	if err != nil {
		t.Fatal(err)
	}
	if del.Seq != 4 || del.Kind != board.KindBoardDeleted {
		t.Fatalf("delete returned %s seq %d", del.Kind, del.Seq)
	}
	log, err := st.LogEvents(ctx, b.ID, 2, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[1].Seq != 4 || log[1].Kind != board.KindBoardDeleted || !sameJSON(t, log[1].Data, del.Data) {
		t.Fatalf("the log after seq 2: %+v", log)
	}
	if _, _, err := st.Events(ctx, "owner", b.ID, 0, 100); board.ErrorCode(err) != board.ENotFound {
		t.Errorf("Events of a deleted board: %v", err)
	}
	// Its head is its board.deleted, for a hub that missed it.
	heads, err := st.Heads(ctx, []string{b.ID})
	if err != nil || len(heads) != 1 || heads[b.ID] != 4 {
		t.Errorf("heads of a deleted board: %v, %v", heads, err)
	}
	if _, err := st.DeleteBoard(ctx, owner, b.ID, 0); board.ErrorCode(err) != board.ENotFound {
		t.Errorf("deleting again: %v", err)
	}
}

// logWriters makes n boards and has one writer per board make perWriter
// random changes on it, calling after each commit. It returns the boards.
func logWriters(t *testing.T, st *store.Store, n, perWriter int, after func()) ([]string, *sync.WaitGroup) {
	t.Helper()
	ctx := context.Background()
	owner := board.Meta{Actor: "owner"}
	boards := make([]string, n)
	worlds := make([]*loadWorld, n)
	for i := range n {
		b := must[board.Board](t)(st.CreateBoard(ctx, owner, board.BoardInput{Name: fmt.Sprint("board ", i)}))
		boards[i], worlds[i] = b.ID, &loadWorld{}
		for j := range 3 {
			c := must[board.Column](t)(st.CreateColumn(ctx, owner, b.ID, board.ColumnInput{Name: fmt.Sprint("col ", j)}))
			worlds[i].cols = append(worlds[i].cols, c.ID)
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			lw := &loadWriter{st: st, boardID: boards[i], w: worlds[i], rng: rand.New(rand.NewPCG(uint64(i), 7)), actor: "owner"}
			for done, misses := 0, 0; done < perWriter; {
				op := fmt.Sprintf("b%d-%d", i, done)
				switch err := lw.step(ctx, op); board.ErrorCode(err) {
				case "":
					done++
					after()
				case board.ENotFound: // a pick that found nothing: try another
					if misses++; misses > 20*perWriter {
						t.Errorf("writer %d: %d misses", i, misses)
						return
					}
				default:
					t.Errorf("writer %d, op %s: %v", i, op, err)
					return
				}
			}
		})
	}
	return boards, &wg
}

// Sixteen writers change sixteen boards at once while three instances'
// sequencers number the log and a reader follows it by position. The reader
// sees every event exactly once, positions one after another, each board's
// events in seq order, with nothing missed for having read while the writers
// wrote.
func TestReadLogWhileSixteenBoardsAreWritten(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Three instances: three pools, three sequencers, each woken after
	// the commits of some writers, all polling for the others'.
	var seqs []*store.Sequencer
	var running sync.WaitGroup
	for range 3 {
		other, err := store.Open(ctx, urlOf(t, st), store.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(other.Close)
		q := store.NewSequencer(other, store.SequencerOptions{Interval: 20 * time.Millisecond, Batch: 16})
		seqs = append(seqs, q)
		running.Go(func() { q.Run(ctx) })
	}
	defer running.Wait()
	defer cancel()

	const writers, perWriter = 16, 60
	var woken sync.Mutex
	next := 0
	boards, wg := logWriters(t, st, writers, perWriter, func() {
		woken.Lock()
		q := seqs[next%len(seqs)]
		next++
		woken.Unlock()
		q.Wake()
	})

	// The reader follows the log from the start while the writers write.
	type seen struct {
		events      []board.Event
		duringWrite int
	}
	writing := make(chan struct{})
	done := make(chan seen)
	total := make(chan int, 1)
	go func() {
		var s seen
		var after int64
		want := -1
		deadline := time.After(2 * time.Minute)
		for {
			select {
			case n := <-total:
				want = n
			case <-deadline:
				t.Errorf("the reader saw %d events of %d", len(s.events), want)
				done <- s
				return
			default:
			}
			if want >= 0 && len(s.events) >= want {
				done <- s
				return
			}
			page, err := st.ReadLog(ctx, after, 50)
			if err != nil {
				t.Error(err)
				done <- s
				return
			}
			for _, e := range page {
				if e.Position != after+1 {
					t.Errorf("position %d after %d", e.Position, after)
				}
				after = e.Position
			}
			s.events = append(s.events, page...)
			select {
			case <-writing:
			default:
				s.duringWrite = len(s.events)
			}
			if len(page) == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(writing)
	if t.Failed() {
		cancel()
		<-done
		t.FailNow()
	}
	heads, err := st.Heads(context.Background(), boards)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, h := range heads {
		n += int(h)
	}
	total <- n
	s := <-done
	t.Logf("%d events, %d of them read while the writers wrote", len(s.events), s.duringWrite)
	if len(s.events) != n {
		t.Fatalf("read %d events, the boards have %d", len(s.events), n)
	}
	last := map[string]int64{}
	for _, e := range s.events {
		if e.Seq != last[e.BoardID]+1 {
			t.Fatalf("board %s: seq %d after %d", e.BoardID, e.Seq, last[e.BoardID])
		}
		last[e.BoardID] = e.Seq
	}
	for _, id := range boards {
		if last[id] != heads[id] {
			t.Errorf("board %s: read up to seq %d of %d", id, last[id], heads[id])
		}
	}
	// What the reader saw is what the log holds.
	stored := readAll(t, st, 0)
	if !slices.EqualFunc(stored, s.events, func(a, b board.Event) bool {
		return a.Position == b.Position && a.BoardID == b.BoardID && a.Seq == b.Seq
	}) {
		t.Error("the log read again differs from what the reader saw")
	}
}

// Many sequencers on several pools, racing each other and the writers in
// small batches, never number an event twice and leave no gap: positions are
// exactly 1..N, in seq order per board.
func TestConcurrentSequencers(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	var pools []*store.Store
	for range 3 {
		other, err := store.Open(ctx, urlOf(t, st), store.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(other.Close)
		pools = append(pools, other)
	}
	stop := make(chan struct{})
	var sequencers sync.WaitGroup
	numbered := make([]int, 8)
	for i := range numbered {
		sequencers.Go(func() {
			for {
				n, err := pools[i%len(pools)].SequenceLog(ctx, 1+i)
				if err != nil {
					t.Errorf("sequencer %d: %v", i, err)
					return
				}
				numbered[i] += n
				if n == 0 {
					time.Sleep(time.Millisecond)
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	_, wg := logWriters(t, st, 8, 40, func() {})
	wg.Wait()
	close(stop)
	sequencers.Wait()
	if t.Failed() {
		t.FailNow()
	}
	sequenceAll(t, st)
	t.Logf("numbered by each sequencer: %v", numbered)

	var count, distinct, lo, hi, unnumbered int64
	err := st.Pool().QueryRow(ctx, `
		SELECT count(*), count(DISTINCT position), coalesce(min(position), 0), coalesce(max(position), 0),
		       count(*) FILTER (WHERE position IS NULL)
		FROM events`).Scan(&count, &distinct, &lo, &hi, &unnumbered)
	if err != nil {
		t.Fatal(err)
	}
	if unnumbered != 0 || distinct != count || lo != 1 || hi != count {
		t.Fatalf("%d events, %d distinct positions from %d to %d, %d unnumbered", count, distinct, lo, hi, unnumbered)
	}
	var disorder int64
	err = st.Pool().QueryRow(ctx, `
		SELECT count(*) FROM (
			SELECT position < lag(position) OVER (PARTITION BY board_id ORDER BY seq) AS back FROM events) x
		WHERE back`).Scan(&disorder)
	if err != nil {
		t.Fatal(err)
	}
	if disorder != 0 {
		t.Errorf("%d events numbered before an earlier event of their board", disorder)
	}
	head, _, err := st.LogHead(ctx)
	if err != nil || head != count {
		t.Errorf("log head %d (%v), want %d", head, err, count)
	}
}

// urlOf is the URL of st's database, for a second pool on it.
func urlOf(t testing.TB, st *store.Store) string {
	t.Helper()
	return st.Pool().Config().ConnString()
}

// Retention keeps what a registered consumer has not processed, and a reader
// from before what retention deleted is told it fell behind.
func TestRetentionAndConsumers(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	owner := board.Meta{Actor: "owner"}
	a := must[board.Board](t)(st.CreateBoard(ctx, owner, board.BoardInput{Name: "kept"}))
	gone := must[board.Board](t)(st.CreateBoard(ctx, owner, board.BoardInput{Name: "gone"}))
	for i := range 5 {
		must[board.Column](t)(st.CreateColumn(ctx, owner, a.ID, board.ColumnInput{Name: fmt.Sprint(i)}))
		must[board.Column](t)(st.CreateColumn(ctx, owner, gone.ID, board.ColumnInput{Name: fmt.Sprint(i)}))
	}
	if _, err := st.DeleteBoard(ctx, owner, gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	sequenceAll(t, st)
	all := readAll(t, st, 0)
	if len(all) != 13 {
		t.Fatalf("%d events in the log, want 13", len(all))
	}

	// Bad registrations change nothing.
	for _, bad := range []struct {
		name string
		from int64
		code string
	}{{"", 0, board.EInvalid}, {"x", -2, board.EInvalid}, {"x", 14, board.EInvalid}} {
		if _, err := st.RegisterConsumer(ctx, bad.name, bad.from); board.ErrorCode(err) != bad.code {
			t.Errorf("register %q from %d: %v, want %s", bad.name, bad.from, err, bad.code)
		}
	}
	c, err := st.RegisterConsumer(ctx, "hooks", 4)
	if err != nil || c.Position != 4 || c.Name != "hooks" {
		t.Fatalf("register: %+v, %v", c, err)
	}
	if again, err := st.RegisterConsumer(ctx, "hooks", 0); err != nil || again.Position != 4 {
		t.Fatalf("registering again: %+v, %v", again, err)
	}
	if c, err := st.RegisterConsumer(ctx, "tail", store.FromHead); err != nil || c.Position != 13 {
		t.Fatalf("register from the head: %+v, %v", c, err)
	}

	// Everything is past retention; the consumers hold what they have not
	// processed.
	future := time.Now().Add(time.Hour)
	n, err := st.DeleteEventsBefore(ctx, future)
	if err != nil || n != 4 {
		t.Fatalf("retention deleted %d (%v), want 4", n, err)
	}
	if got := readAll(t, st, 4); len(got) != 9 || got[0].Position != 5 {
		t.Fatalf("after the consumer's cursor: %d events", len(got))
	}
	if _, err := st.ReadLog(ctx, 3, 10); board.ErrorCode(err) != board.ESinceExpired {
		t.Errorf("reading from before retention: %v", err)
	}
	if _, err := st.RegisterConsumer(ctx, "late", 0); board.ErrorCode(err) != board.ESinceExpired {
		t.Errorf("registering from before retention: %v", err)
	}
	if _, trimmed, err := st.LogHead(ctx); err != nil || trimmed != 4 {
		t.Errorf("trimmed to %d (%v), want 4", trimmed, err)
	}

	// Cursors only move forward, and never past the head.
	if c, err := st.AdvanceConsumer(ctx, "hooks", 2); err != nil || c.Position != 4 {
		t.Errorf("advance backwards: %+v, %v", c, err)
	}
	if _, err := st.AdvanceConsumer(ctx, "hooks", 14); board.ErrorCode(err) != board.EInvalid {
		t.Errorf("advance past the head: %v", err)
	}
	if _, err := st.AdvanceConsumer(ctx, "nobody", 1); board.ErrorCode(err) != board.ENotFound {
		t.Errorf("advance an unknown consumer: %v", err)
	}
	if c, err := st.AdvanceConsumer(ctx, "hooks", 13); err != nil || c.Position != 13 {
		t.Fatalf("advance: %+v, %v", c, err)
	}

	// An event not yet numbered is kept whatever its age.
	must[board.Column](t)(st.CreateColumn(ctx, owner, a.ID, board.ColumnInput{Name: "late"}))
	n, err = st.DeleteEventsBefore(ctx, future)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: board a's last event, not numbered yet. Gone: the deleted
	// board's whole log, board.deleted included, and a's older events.
	var left []string
	rows, err := st.Pool().Query(ctx, `SELECT board_id::text || ':' || seq FROM events ORDER BY board_id, seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		left = append(left, s)
	}
	if want := []string{a.ID + ":7"}; n != 9 || !slices.Equal(left, want) {
		t.Errorf("retention deleted %d, left %v; want 9 deleted, %v left", n, left, want)
	}

	// The consumers see the rest.
	sequenceAll(t, st)
	if got := readAll(t, st, 13); len(got) != 1 || got[0].Seq != 7 || got[0].BoardID != a.ID {
		t.Errorf("after 13: %+v", got)
	}
	cs, err := st.ListConsumers(ctx)
	if err != nil || len(cs) != 2 || cs[0].Name != "hooks" || cs[1].Name != "tail" {
		t.Errorf("consumers: %+v, %v", cs, err)
	}
	if err := st.UnregisterConsumer(ctx, "tail"); err != nil {
		t.Fatal(err)
	}
	if err := st.UnregisterConsumer(ctx, "tail"); board.ErrorCode(err) != board.ENotFound {
		t.Errorf("unregister twice: %v", err)
	}
	if _, err := st.Consumer(ctx, "tail"); board.ErrorCode(err) != board.ENotFound {
		t.Errorf("an unregistered consumer: %v", err)
	}
}

// Retention and registration race: a consumer registered while retention
// runs either holds its events or is refused, never left with a cursor
// before what was deleted.
func TestRegisterDuringRetention(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	owner := board.Meta{Actor: "owner"}
	b := must[board.Board](t)(st.CreateBoard(ctx, owner, board.BoardInput{Name: "many"}))
	for i := range 200 {
		must[board.Column](t)(st.CreateColumn(ctx, owner, b.ID, board.ColumnInput{Name: fmt.Sprint(i)}))
	}
	sequenceAll(t, st)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = st.RegisterConsumer(ctx, fmt.Sprint("c", i), int64(20*i)) })
	}
	wg.Go(func() {
		if _, err := st.DeleteEventsBefore(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	_, trimmed, err := st.LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		switch board.ErrorCode(err) {
		case "":
			c, err := st.Consumer(ctx, fmt.Sprint("c", i))
			if err != nil {
				t.Fatal(err)
			}
			if c.Position < trimmed {
				t.Errorf("consumer %d at %d, but retention deleted up to %d", i, c.Position, trimmed)
			}
			if _, err := st.ReadLog(ctx, c.Position, 10); err != nil {
				t.Errorf("consumer %d reads: %v", i, err)
			}
		case board.ESinceExpired:
		default:
			t.Errorf("register c%d: %v", i, err)
		}
	}
}

// Upgrading a database that already has events numbers them: positions 1..N,
// each board's events in seq order (even where a later seq was written with
// an earlier time), boards interleaved by time; the head follows, and the
// sequencer goes on from there.
func TestMigrationNumbersExistingEvents(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t, "empty", nil)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The schema as it was before the log migration.
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for v, name := range map[int]string{1: "0001_init.sql", 2: "0002_accounts.sql"} {
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, name); err != nil {
			t.Fatal(err)
		}
	}
	const a, b = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
	if _, err := conn.Exec(ctx, `INSERT INTO boards (id, name, owner_id, seq) VALUES ($1, 'a', 'o', 3), ($2, 'b', 'o', 2)`,
		a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `
		INSERT INTO events (board_id, seq, kind, payload, actor, at) VALUES
			($1, 1, 'board.created', '{}', 'o', '2026-01-01T00:00:01Z'),
			($2, 1, 'board.created', '{}', 'o', '2026-01-01T00:00:02Z'),
			($1, 2, 'board.updated', '{}', 'o', '2026-01-01T00:00:04Z'),
			($1, 3, 'board.updated', '{}', 'o', '2026-01-01T00:00:03Z'),
			($2, 2, 'board.updated', '{}', 'o', '2026-01-01T00:00:05Z')`, a, b); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []string
	for _, e := range readAll(t, st, 0) {
		got = append(got, fmt.Sprintf("%d %s:%d", e.Position, e.BoardID[len(e.BoardID)-1:], e.Seq))
	}
	if want := []string{"1 a:1", "2 b:1", "3 a:2", "4 a:3", "5 b:2"}; !slices.Equal(got, want) {
		t.Errorf("numbered %v, want %v", got, want)
	}
	if _, _, err := st.UpdateBoard(ctx, board.Meta{Actor: "o"}, b, board.BoardPatch{}, 0); board.ErrorCode(err) != board.ENotFound {
		t.Fatalf("a stranger's update: %v", err) // o is not a member: no row, no event
	}
	if _, err := conn.Exec(ctx, `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, 'o', 'owner')`, b); err != nil {
		t.Fatal(err)
	}
	name := "b2"
	must[board.Board](t)(st.UpdateBoard(ctx, board.Meta{Actor: "o"}, b, board.BoardPatch{Name: &name}, 0))
	sequenceAll(t, st)
	if got := readAll(t, st, 5); len(got) != 1 || got[0].Position != 6 || got[0].Seq != 3 {
		t.Errorf("after the migration: %+v", got)
	}
}
