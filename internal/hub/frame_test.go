package hub

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

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
