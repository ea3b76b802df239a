//go:build linux

package rawws

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/hub"
)

// TestParseEvent checks the fast path against the hub's own encoder and a
// full decode.
func TestParseEvent(t *testing.T) {
	for i, e := range []board.Event{
		{BoardID: "3f1c2d4e-0000-4000-8000-000000000001", Seq: 1, Kind: board.KindCardUpdated, Actor: "u",
			OpID: "lgabc123-7", Data: json.RawMessage(`{"id":"x","title":"a \"op_id\":\"fake\" title","op_id":"nested"}`),
			At: time.Now()},
		{BoardID: "3f1c2d4e-0000-4000-8000-000000000002", Seq: 1234567890123, Kind: board.KindCardMoved,
			Data: json.RawMessage(`{}`), At: time.Now()},
	} {
		frame := hub.EncodeEvent(e)
		got, ok := ParseEvent(frame)
		if !ok {
			t.Fatalf("%d: ParseEvent(%s) failed", i, frame)
		}
		var want struct {
			Board string `json:"board"`
			Seq   *int64 `json:"seq"`
			OpID  string `json:"op_id"`
		}
		if err := json.Unmarshal(frame, &want); err != nil {
			t.Fatal(err)
		}
		if string(got.Board) != want.Board || got.Seq != *want.Seq || string(got.Op) != want.OpID {
			t.Errorf("%d: ParseEvent(%s) = %s %d %q, want %s %d %q", i, frame, got.Board, got.Seq, got.Op,
				want.Board, *want.Seq, want.OpID)
		}
	}
	for _, bad := range []string{`{"type":"subscribed","board":"b","seq":1}`, `{"type":"event","board":"b","seq":x}`,
		`{"type":"event","board":"b\"","seq":1,"op_id":""}`, `{"type":"event","board":"b","seq":1}`} {
		if _, ok := ParseEvent([]byte(bad)); ok {
			t.Errorf("ParseEvent(%s) succeeded", bad)
		}
	}
}

// TestIsPresence checks the presence fast path against the frame as the hub
// encodes it.
func TestIsPresence(t *testing.T) {
	frame := []byte(`{"type":"` + hub.FramePresence + `","board":"3f1c2d4e-0000-4000-8000-000000000001","users":["a","b"],"count":2}`)
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(frame, &f); err != nil || f.Type != hub.FramePresence {
		t.Fatalf("%s: %v", frame, err)
	}
	if !IsPresence(frame) {
		t.Errorf("IsPresence(%s) = false", frame)
	}
	for _, bad := range []string{`{"type":"subscribed","board":"b","seq":1}`, `{"type":"presence","board":"b"`,
		`{"type":"event","board":"b","seq":1,"op_id":"x"}`} {
		if IsPresence([]byte(bad)) {
			t.Errorf("IsPresence(%s) = true", bad)
		}
	}
}
