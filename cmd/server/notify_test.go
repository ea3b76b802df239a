package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/wsclient"
	"github.com/corkboard/corkboard/internal/board"
)

// subscribeUser starts the subscriber's user stream and waits until it is on.
func (s *subscriber) subscribeUser() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Send(ctx, map[string]string{"type": "subscribe_user"}); err != nil {
		s.t.Fatalf("%s subscribe_user: %v", s.name, err)
	}
	waitFor(s.t.(*testing.T), 10*time.Second, s.name+" user_subscribed", func() bool {
		_, ok := s.frameOf("user_subscribed", "")
		return ok
	})
}

// userFrames are the user frames of kind the subscriber got.
func (s *subscriber) userFrames(kind string) []wsclient.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []wsclient.Frame
	for _, f := range s.frames {
		if f.Type == "user" && f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func (s *subscriber) userFrameOf(kind, boardID string) bool {
	for _, f := range s.userFrames(kind) {
		if f.Board == boardID {
			return true
		}
	}
	return false
}

func (s *subscriber) notifications() []board.Notification {
	var out []board.Notification
	for _, f := range s.userFrames(board.UserNotification) {
		var n board.Notification
		if err := json.Unmarshal(f.Data, &n); err != nil {
			s.t.Errorf("%s: notification frame %s: %v", s.name, f.Data, err)
		}
		out = append(out, n)
	}
	return out
}

func (c *api) unread() int {
	c.t.Helper()
	var out struct{ Unread int }
	c.mustDo("GET", "/api/notifications/unread", nil, &out)
	return out.Unread
}

// Notifications across instances: alice works on one instance, the others
// are connected to the other. A mention reaches bob's user stream there;
// editing the comment notifies only whom it newly mentions; a non-member,
// the author, and a user who muted the board get nothing; assignment
// notifies; a user removed from the board loses its notifications and
// hears nothing more of it; renames and the deletion reach the members.
func TestNotificationsAcrossInstances(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 2, nil)
	a0, a1 := cl.apps[0], cl.apps[1]
	alice := a0.api(t, "alice")
	bob, carol, dave := a1.api(t, "bob"), a1.api(t, "carol"), a1.api(t, "dave")

	bs := dialSubscriber(t, a1, "bob", "bob")
	bs.subscribeUser()
	ds := dialSubscriber(t, a1, "dave", "dave")
	ds.subscribeUser()
	if err := bs.conn.Send(t.Context(), map[string]string{"type": "subscribe_user", "id": "again"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the refusal of a second subscribe_user", func() bool {
		f, ok := bs.frameOf("error", "")
		return ok && f.Code == "conflict" && f.ID == "again"
	})

	b, col := alice.newBoard("mentions")
	addMember(t, a0, "alice", b, "bob", board.RoleEditor)
	waitFor(t, 5*time.Second, "bob's board.added", func() bool { return bs.userFrameOf(board.UserBoardAdded, b) })

	card := alice.client().NewCard(b, col, "Write the report")
	var cm board.Comment
	alice.mustDo("POST", "/api/boards/"+b+"/cards/"+card.ID+"/comments",
		map[string]string{"text": "@bob could you look? cc @carol @alice"}, &cm)
	waitFor(t, 5*time.Second, "bob's notification on the other instance", func() bool { return len(bs.notifications()) == 1 })
	n := bs.notifications()[0]
	if n.Kind != board.NotifyMention || n.BoardID != b || n.CardID != card.ID || n.CommentID != cm.ID ||
		n.ActorUsername != "alice" || n.CardTitle != "Write the report" || n.BoardName != "mentions" || n.Seq == 0 {
		t.Errorf("notification %+v", n)
	}

	// dave joins; the comment is edited to mention him too.
	addMember(t, a0, "alice", b, "dave", board.RoleViewer)
	alice.mustDo("PATCH", "/api/boards/"+b+"/cards/"+card.ID+"/comments/"+cm.ID,
		map[string]string{"text": "@bob could you look? cc @carol @alice @dave"}, nil)
	waitFor(t, 5*time.Second, "dave's notification", func() bool { return len(ds.notifications()) == 1 })
	if got := len(bs.notifications()); got != 1 {
		t.Errorf("bob got %d notifications after the edit, want 1", got)
	}
	if got := bob.unread(); got != 1 {
		t.Errorf("bob's unread count %d, want 1", got)
	}
	if got := carol.unread(); got != 0 {
		t.Errorf("carol, no member, has %d unread", got)
	}
	if got := alice.unread(); got != 0 {
		t.Errorf("alice, the author, has %d unread", got)
	}

	// dave mutes the board: a new mention of him notifies nobody; bob is
	// assigned to the card: that notifies him.
	dave.mustDo("PUT", "/api/boards/"+b+"/mute", nil, nil)
	alice.mustDo("POST", "/api/boards/"+b+"/cards/"+card.ID+"/comments", map[string]string{"text": "@dave again"}, nil)
	alice.mustDo("PATCH", "/api/boards/"+b+"/cards/"+card.ID, map[string]any{"assignees": []string{bob.id}}, nil)
	waitFor(t, 5*time.Second, "bob's assignment", func() bool { return len(bs.notifications()) == 2 })
	if got := bs.notifications()[1]; got.Kind != board.NotifyAssigned || got.CardID != card.ID {
		t.Errorf("assignment %+v", got)
	}
	if got := dave.unread(); got != 1 {
		t.Errorf("dave muted the board but has %d unread, want 1", got)
	}
	var muted struct{ Muted bool }
	dave.mustDo("GET", "/api/boards/"+b+"/mute", nil, &muted)
	if !muted.Muted {
		t.Error("dave's mute is not shown")
	}

	// Listing and marking read.
	var page struct {
		Notifications []board.Notification
		Unread        int
	}
	bob.mustDo("GET", "/api/notifications?order=newest", nil, &page)
	if len(page.Notifications) != 2 || page.Unread != 2 || page.Notifications[0].Kind != board.NotifyAssigned {
		t.Errorf("bob's list %+v", page)
	}
	var read struct{ Read, Unread int }
	bob.mustDo("POST", "/api/notifications/read", map[string]any{"ids": []int64{page.Notifications[1].ID}}, &read)
	if read.Read != 1 || read.Unread != 1 {
		t.Errorf("mark one read: %+v", read)
	}
	bob.mustDo("GET", "/api/notifications?order=unread&limit=1", nil, &page)
	if len(page.Notifications) != 1 || page.Notifications[0].ReadAt != nil {
		t.Errorf("unread first: %+v", page)
	}
	if st := carol.do("POST", "/api/notifications/read", map[string]any{"ids": []int64{page.Notifications[0].ID}}, &read); st != 200 || read.Read != 0 {
		t.Errorf("carol marked bob's notification: %d %+v", st, read)
	}

	// bob is removed: his notifications of the board are gone from his
	// list and count, and he hears nothing more of it.
	alice.mustDo("DELETE", "/api/boards/"+b+"/members/"+bob.id, nil, nil)
	waitFor(t, 5*time.Second, "bob's board.removed", func() bool { return bs.userFrameOf(board.UserBoardRemoved, b) })
	if got := bob.unread(); got != 0 {
		t.Errorf("bob lost the board but has %d unread", got)
	}
	bob.mustDo("GET", "/api/notifications", nil, &page)
	if len(page.Notifications) != 0 {
		t.Errorf("bob lost the board but lists %+v", page.Notifications)
	}
	alice.mustDo("POST", "/api/boards/"+b+"/cards/"+card.ID+"/comments", map[string]string{"text": "@bob @dave are you there?"}, nil)
	alice.mustDo("PATCH", "/api/boards/"+b, map[string]string{"name": "renamed"}, nil)
	waitFor(t, 5*time.Second, "dave's board.updated", func() bool { return ds.userFrameOf(board.UserBoardUpdated, b) })
	if bs.userFrameOf(board.UserBoardUpdated, b) || len(bs.notifications()) != 2 {
		t.Errorf("bob, removed, still hears of the board: %d notifications", len(bs.notifications()))
	}

	alice.mustDo("DELETE", "/api/boards/"+b, nil, nil)
	waitFor(t, 5*time.Second, "dave's board.deleted", func() bool { return ds.userFrameOf(board.UserBoardDeleted, b) })
	if bs.userFrameOf(board.UserBoardDeleted, b) {
		t.Error("bob, removed before, was told of the deletion")
	}
	if got := dave.unread(); got != 0 {
		t.Errorf("dave has %d unread of a deleted board", got)
	}
}

// Bad input to the notification routes is a clear 422 and changes nothing.
func TestNotificationRoutesRefuseBadInput(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 1, nil)
	c := cl.apps[0].api(t, "erin")
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/notifications?order=oldest", nil},
		{"GET", "/api/notifications?limit=1000", nil},
		{"GET", "/api/notifications?cursor=abc", nil},
		{"POST", "/api/notifications/read", map[string]any{}},
		{"POST", "/api/notifications/read", map[string]any{"ids": []int{1}, "all": true}},
		{"POST", "/api/notifications/read", map[string]any{"ids": make([]int, 101)}},
	} {
		if st := c.do(tc.method, tc.path, tc.body, nil); st != 422 {
			t.Errorf("%s %s %v: %d, want 422", tc.method, tc.path, tc.body, st)
		}
	}
}
