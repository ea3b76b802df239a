package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

func TestPresenceFrameCapsUsers(t *testing.T) {
	for _, n := range []int{0, 1, MaxPresenceUsers, MaxPresenceUsers + 50} {
		users := make([]string, n)
		for i := range users {
			users[i] = fmt.Sprintf("u%04d", i)
		}
		var f presenceFrame
		if err := json.Unmarshal(encodePresence("b", users), &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != FramePresence || f.Board != "b" || f.Count != n || f.Users == nil ||
			len(f.Users) != min(n, MaxPresenceUsers) {
			t.Errorf("%d users: got %+v", n, f)
		}
		if n > 0 && f.Users[0] != "u0000" {
			t.Errorf("%d users: the list must keep the order it was given", n)
		}
	}
}

// TestEventFrameNotHTMLEscaped: an event whose payload holds a description
// of 10,000 '<' (as jsonb gives it back, or as the store encodes it) is a
// frame of about 10 KB, not 60 KB of \u003c, and decodes to the same data.
func TestEventFrameNotHTMLEscaped(t *testing.T) {
	desc := strings.Repeat("<", 10_000)
	data, err := board.MarshalJSON(map[string]string{"description": desc, "title": "a & b > c"})
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{
		"encoded":    data,
		"from jsonb": []byte(`{"title": "a & b > c", "description": "` + desc + `"}`),
	} {
		b := EncodeEvent(board.Event{BoardID: "b", Seq: 1, Kind: board.KindCardUpdated, Data: raw, Actor: "u"})
		if len(b) > 10_000+500 {
			t.Errorf("%s: the frame is %d bytes", name, len(b))
		}
		var f struct {
			Data struct{ Description, Title string } `json:"data"`
		}
		if err := json.Unmarshal(b, &f); err != nil || f.Data.Description != desc || f.Data.Title != "a & b > c" {
			t.Errorf("%s: the frame decodes to %d bytes of description, title %q, %v", name, len(f.Data.Description), f.Data.Title, err)
		}
	}
}

// checkEncodeEvent holds EncodeEvent to board.MarshalJSON of the frame.
func checkEncodeEvent(t *testing.T, e board.Event) {
	t.Helper()
	want, err := board.MarshalJSON(eventFrame{Type: FrameEvent, Event: e})
	if err != nil {
		defer func() {
			if recover() == nil {
				t.Fatalf("EncodeEvent(%+v) did not panic where board.MarshalJSON failed: %v", e, err)
			}
		}()
	}
	if got := EncodeEvent(e); !bytes.Equal(got, want) {
		t.Fatalf("EncodeEvent(%+v)\n = %s\nwant %s", e, got, want)
	}
}

func FuzzEncodeEvent(f *testing.F) {
	f.Add("6f1c2a9e-0000-4000-8000-000000000001", int64(3), int64(0), "card.updated", []byte(`{"id":"c1","t":"<&>"}`), "u1", "op-1")
	f.Add("b", int64(1), int64(42), "k", []byte(`{ "id": "c1" }`), "a \"b\"", "")
	f.Add("b", int64(1), int64(0), "k", []byte(nil), "a", "o\u2028")
	f.Fuzz(func(t *testing.T, boardID string, seq, position int64, kind string, data []byte, actor, opID string) {
		if !json.Valid(data) && len(data) > 0 {
			data = nil // a committed event's data is JSON
		}
		checkEncodeEvent(t, board.Event{BoardID: boardID, Seq: seq, Position: position, Kind: kind, Data: data,
			Actor: actor, OpID: opID, At: time.Date(2026, 12, 3, 17, 0, 0, 123456000, time.UTC)})
	})
}

func BenchmarkEncodeEvent(b *testing.B) {
	e := board.Event{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 12345, Kind: board.KindCardUpdated,
		Data:  json.RawMessage(`{"id":"c1","title":"Write docs","labels":[],"due":null,"done":false,"rank":"a0","version":3}`),
		Actor: "6f1c2a9e-0000-4000-8000-000000000002", OpID: "op-1", At: time.Now()}
	b.Run("EncodeEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeEvent(e)
		}
	})
	b.Run("MarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			board.MarshalJSON(eventFrame{Type: FrameEvent, Event: e}) //nolint:errcheck // measured, not used
		}
	})
}
