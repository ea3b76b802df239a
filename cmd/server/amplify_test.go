package main

import (
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// TestBigDescriptionOverWebSocket: the card.updated of a description of
// 10,000 '<' reaches a live subscriber, and one catching up from the log,
// with data of about 10 KB (not 60 KB of \u003c), over real WebSockets.
func TestBigDescriptionOverWebSocket(t *testing.T) {
	c := startCluster(t, 1, nil)
	owner := "owner"
	cl := c.apps[0].api(t, owner)
	b, col := cl.newBoard("big")
	var card board.Card
	cl.mustDo("POST", "/api/boards/"+b+"/cards", map[string]any{"column_id": col, "title": "t"}, &card)
	live := dialSubscriber(t, c.apps[0], owner, "live")
	live.subscribe(b, 0)
	live.waitSubscribed(b)
	desc := strings.Repeat("<", board.MaxDescriptionLen)
	cl.mustDo("PATCH", "/api/boards/"+b+"/cards/"+card.ID, map[string]any{"description": desc}, nil)
	head := cl.snapshot(b).Seq
	later := dialSubscriber(t, c.apps[0], owner, "from the log")
	later.subscribe(b, 0)
	for _, s := range []*subscriber{live, later} {
		waitFor(t, 10*time.Second, s.name+" has the edit", func() bool { return s.last(b) >= head })
		s.checkExactly(t, b, 1, head)
		s.mu.Lock()
		ev := s.events[b][head-1]
		s.mu.Unlock()
		if ev.Kind != board.KindCardUpdated || len(ev.Data) > board.MaxDescriptionLen+1_000 || !strings.Contains(string(ev.Data), desc) {
			t.Errorf("%s: %s with %d bytes of data, want card.updated with the description unescaped in about 10 KB", s.name, ev.Kind, len(ev.Data))
		}
	}
}
