package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// Several derivers (instances) run at once while comments are written and
// edited: every event is derived exactly once, so each mention is one
// notification and one user message, however the derivers interleave.
func TestDeriveNotificationsConcurrently(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	if err := st.RegisterNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	owner := must[board.User](t)(withEvent(st.CreateUser(ctx, "nowner", "x")))
	bob := must[board.User](t)(withEvent(st.CreateUser(ctx, "nbob", "x")))
	must[board.User](t)(withEvent(st.CreateUser(ctx, "nstranger", "x")))
	m := board.Meta{Actor: owner.ID}
	b := must[board.Board](t)(st.CreateBoard(ctx, m, board.BoardInput{Name: "n"}))
	must[board.Member](t)(st.AddMember(ctx, m, b.ID, "nbob", board.RoleEditor))
	col := must[board.Column](t)(st.CreateColumn(ctx, m, b.ID, board.ColumnInput{Name: "c"}))
	card := must[board.Card](t)(st.CreateCard(ctx, m, b.ID, board.CardInput{ColumnID: col.ID, Title: "t"}))

	const comments = 30
	var (
		stop      atomic.Bool
		delivered atomic.Int64
		wg        sync.WaitGroup
	)
	derive := func() error {
		msgs, _, _, err := st.DeriveNotifications(ctx, 7)
		for _, msg := range msgs {
			if msg.Kind == board.UserNotification {
				delivered.Add(1)
			}
		}
		return err
	}
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				if err := derive(); err != nil {
					t.Error(err)
					return
				}
				if _, err := st.SequenceLog(ctx, 100); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range comments {
		text := fmt.Sprintf("@nbob look %d (cc @nstranger, @nowner)", i)
		c := must[board.Comment](t)(st.CreateComment(ctx, m, b.ID, card.ID, board.CommentInput{Text: text}))
		must[board.Comment](t)(st.UpdateComment(ctx, m, b.ID, card.ID, c.ID, board.CommentInput{Text: text + " edited @NBOB"}, 0))
	}
	stop.Store(true)
	wg.Wait()
	sequenceAll(t, st)
	for {
		msgs, n, busy, err := st.DeriveNotifications(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range msgs {
			if msg.Kind == board.UserNotification {
				delivered.Add(1)
			}
		}
		if n == 0 && !busy {
			break
		}
	}
	if got := delivered.Load(); got != comments {
		t.Errorf("%d notification messages, want %d: one per mention", got, comments)
	}
	n, err := st.UnreadNotifications(ctx, bob.ID)
	if err != nil || n != comments {
		t.Errorf("bob has %d unread (%v), want %d", n, err, comments)
	}
	for _, u := range []string{owner.ID} {
		if n, _ := st.UnreadNotifications(ctx, u); n != 0 {
			t.Errorf("the author has %d notifications", n)
		}
	}
	c, err := st.Consumer(ctx, store.NotificationsConsumer)
	if err != nil {
		t.Fatal(err)
	}
	if head, _, _ := st.LogHead(ctx); c.Position != head {
		t.Errorf("consumer at %d, log head %d", c.Position, head)
	}
}

// Assignment notifies whoever was not assigned before, each time; a
// description's mention is one notification however often it is edited;
// a muted board notifies nobody; paging walks the list once.
func TestDeriveAssignmentsAndDescriptions(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	if err := st.RegisterNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	owner := must[board.User](t)(withEvent(st.CreateUser(ctx, "aowner", "x")))
	bob := must[board.User](t)(withEvent(st.CreateUser(ctx, "abob", "x")))
	m := board.Meta{Actor: owner.ID}
	b := must[board.Board](t)(st.CreateBoard(ctx, m, board.BoardInput{Name: "a"}))
	must[board.Member](t)(st.AddMember(ctx, m, b.ID, "abob", board.RoleEditor))
	col := must[board.Column](t)(st.CreateColumn(ctx, m, b.ID, board.ColumnInput{Name: "c"}))
	card := must[board.Card](t)(st.CreateCard(ctx, m, b.ID, board.CardInput{ColumnID: col.ID, Title: "t",
		Assignees: []string{bob.ID}, Description: "for @abob"}))
	set := func(p board.CardPatch) { must[board.Card](t)(st.UpdateCard(ctx, m, b.ID, card.ID, p, 0)) }
	none, one := []string{}, []string{bob.ID}
	desc := "for @abob, again"
	set(board.CardPatch{Description: &desc})  // the same mention: nothing
	set(board.CardPatch{Assignees: &none})    // off
	set(board.CardPatch{Assignees: &one})     // on again: notified
	set(board.CardPatch{Title: ptr("title")}) // nothing
	drain := func() {
		sequenceAll(t, st)
		for {
			_, n, _, err := st.DeriveNotifications(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
		}
	}
	drain()
	if n, _ := st.UnreadNotifications(ctx, bob.ID); n != 3 {
		t.Errorf("bob has %d notifications, want 3 (assigned, mentioned, assigned again)", n)
	}
	if err := st.SetBoardMuted(ctx, bob.ID, b.ID, true); err != nil {
		t.Fatal(err)
	}
	set(board.CardPatch{Assignees: &none})
	set(board.CardPatch{Assignees: &one})
	drain()
	if n, _ := st.UnreadNotifications(ctx, bob.ID); n != 3 {
		t.Errorf("bob muted the board but has %d notifications, want 3", n)
	}
	seen := map[int64]bool{}
	cursor := ""
	for range 10 {
		page, next, err := st.ListNotifications(ctx, bob.ID, store.NotificationsUnread, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range page {
			if seen[n.ID] {
				t.Errorf("notification %d listed twice", n.ID)
			}
			seen[n.ID] = true
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Errorf("paging listed %d notifications, want 3", len(seen))
	}
	if _, _, err := st.ListNotifications(ctx, bob.ID, store.NotificationsNewest, "x.y", 2); board.ErrorCode(err) != board.EInvalid {
		t.Errorf("a made-up cursor: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// BenchmarkDeriveNotifications measures deriving from the log: per event,
// a mix of card edits (assignments) and comments with a mention.
func BenchmarkDeriveNotifications(b *testing.B) {
	st := newStore(b)
	ctx := context.Background()
	if err := st.RegisterNotifications(ctx); err != nil {
		b.Fatal(err)
	}
	owner := must[board.User](b)(withEvent(st.CreateUser(ctx, "bowner", "x")))
	bob := must[board.User](b)(withEvent(st.CreateUser(ctx, "bbob", "x")))
	m := board.Meta{Actor: owner.ID}
	bd := must[board.Board](b)(st.CreateBoard(ctx, m, board.BoardInput{Name: "b"}))
	must[board.Member](b)(st.AddMember(ctx, m, bd.ID, "bbob", board.RoleEditor))
	col := must[board.Column](b)(st.CreateColumn(ctx, m, bd.ID, board.ColumnInput{Name: "c"}))
	none, one := []string{}, []string{bob.ID}
	const perRound = 100
	events := 0
	for b.Loop() {
		b.StopTimer()
		card := must[board.Card](b)(st.CreateCard(ctx, m, bd.ID, board.CardInput{ColumnID: col.ID, Title: "t"}))
		for i := range perRound / 2 {
			a := &none
			if i%2 == 0 {
				a = &one
			}
			must[board.Card](b)(st.UpdateCard(ctx, m, bd.ID, card.ID, board.CardPatch{Assignees: a}, 0))
			must[board.Comment](b)(st.CreateComment(ctx, m, bd.ID, card.ID, board.CommentInput{Text: "hey @bbob"}))
		}
		sequenceAll(b, st)
		b.StartTimer()
		for {
			_, n, _, err := st.DeriveNotifications(ctx, 200)
			if err != nil {
				b.Fatal(err)
			}
			if events += n; n == 0 {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(events), "µs/event")
}
