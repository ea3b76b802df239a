package webhook_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/webhook"
)

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An owner's change of URL applies from the next event on; the new URL
// gets the rest, in order, and the old one nothing more.
func TestURLChangeAppliesMidStream(t *testing.T) {
	e := newEnv(t, 1)
	rc := newReceiver(t)
	e.start(e.options(e.st))
	b, c := e.board("move")
	h := e.hook(rc, "old", b)
	rc.register("new", h.Secret)
	var last string
	for i := range 5 {
		if err := e.change(e.st, b, c, i, &last); err != nil {
			t.Fatal(err)
		}
	}
	e.wait([]webhook.Webhook{h}, 30*time.Second)
	url := rc.url("new")
	if _, err := e.st.UpdateWebhook(context.Background(), owner, b, h.ID, webhook.Patch{URL: &url}); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 10; i++ {
		if err := e.change(e.st, b, c, i, &last); err != nil {
			t.Fatal(err)
		}
	}
	e.wait([]webhook.Webhook{h}, 30*time.Second)
	want := e.expect(h)
	checkStream(t, rc, "old", h, want[:5], nil)
	after := h
	after.Cursor = want[4].Seq
	checkStream(t, rc, "new", after, want[5:], nil)
	rc.check(t)
}

// Deleting a board ends its webhooks' streams: board.deleted, which the log
// keeps after the board row is gone, is delivered (whatever the kinds), the
// webhook turns inactive saying why, and trimming then removes it.
func TestBoardDeletedEndsStream(t *testing.T) {
	e := newEnv(t, 1)
	rc := newReceiver(t)
	e.start(e.options(e.st))
	b, c := e.board("doomed")
	h := e.hook(rc, "doomed", b, board.KindCardCreated)
	var last string
	if err := e.change(e.st, b, c, 0, &last); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.st.DeleteBoard(ctx, board.Meta{Actor: owner}, b, 0); err != nil {
		t.Fatal(err)
	}
	var active bool
	var reason string
	waitFor(t, "the webhook to end", func() bool {
		err := e.st.Pool().QueryRow(ctx, `SELECT active, disabled_reason FROM webhooks WHERE id = $1`, h.ID).
			Scan(&active, &reason)
		return err == nil && !active
	})
	if reason != "the board was deleted" {
		t.Fatalf("reason %q", reason)
	}
	got := rc.arrivals("doomed")
	if len(got) != 2 || got[0].kind != board.KindCardCreated || got[1].kind != board.KindBoardDeleted {
		t.Fatalf("received %+v", got)
	}
	rc.check(t)
	if _, err := e.st.DeleteWebhookDeliveriesBefore(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM webhooks WHERE id = $1`, h.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the ended webhook of a deleted board is still there (%d, %v)", n, err)
	}
}

// Events deleted by retention before a (disabled) webhook delivered them:
// re-enabled, it says so in its log and goes on with what remains.
func TestRetentionGapIsLogged(t *testing.T) {
	e := newEnv(t, 1)
	rc := newReceiver(t)
	b, c := e.board("gap")
	h := e.hook(rc, "gap", b)
	off := false
	if _, err := e.st.UpdateWebhook(context.Background(), owner, b, h.ID, webhook.Patch{Active: &off}); err != nil {
		t.Fatal(err)
	}
	var last string
	for i := range 6 {
		if err := e.change(e.st, b, c, i, &last); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.Pool().Exec(context.Background(), `DELETE FROM events WHERE board_id = $1 AND seq <= $2`, b, h.Cursor+3); err != nil {
		t.Fatal(err)
	}
	e.start(e.options(e.st))
	on := true
	if _, err := e.st.UpdateWebhook(context.Background(), owner, b, h.ID, webhook.Patch{Active: &on}); err != nil {
		t.Fatal(err)
	}
	e.wait([]webhook.Webhook{h}, 30*time.Second)
	rest := h
	rest.Cursor += 3
	checkStream(t, rc, "gap", rest, e.expect(rest), nil)
	ds := waitLog(t, e, h, 4)
	lost := ds[len(ds)-1]
	if lost.OK || !strings.Contains(lost.Error, "deleted by retention") || lost.Seq != h.Cursor+1 {
		t.Fatalf("the gap's log entry: %+v", lost)
	}
}
