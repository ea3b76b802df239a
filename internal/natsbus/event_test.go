package natsbus_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/natsbus"
)

// TestEventMessage: an event's message carries board.MarshalJSON's bytes
// (board.AppendEvent's, held equal to them in package board) and
// EventHandler hands on what board.ParseEvent reads from them, or nothing
// for an event that is not a board's.
func TestEventMessage(t *testing.T) {
	at := time.Date(2026, 12, 3, 17, 0, 0, 123456000, time.UTC)
	for _, e := range []board.Event{
		{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 12, Kind: "card.updated",
			Data: json.RawMessage(`{"id":"c1","title":"Write docs"}`), Actor: "u1", OpID: "op-1", At: at},
		{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 3, Position: 42, Kind: "card.created",
			Data: json.RawMessage(`{ "id": "c1" }`), Actor: "actor <&>", At: at.In(time.FixedZone("IST", 5*3600+30*60))},
		{BoardID: "not an id", Seq: 1, Kind: "k", At: at},
		{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 0, Kind: "k", At: at},
	} {
		want, err := board.MarshalJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		m, err := natsbus.EventMessage(e)
		if err != nil || !bytes.Equal(m.Payload, want) || m.Kind != natsbus.KindEvent || m.Board != e.BoardID {
			t.Fatalf("EventMessage(%+v) = %+v, %v", e, m, err)
		}
		var got board.Event
		ok := false
		natsbus.EventHandler(slog.New(slog.DiscardHandler), func(e board.Event) { got, ok = e, true })(m)
		parsed, err := board.ParseEvent(want)
		if wantOK := err == nil && board.ValidID(e.BoardID) && e.Seq >= 1; ok != wantOK || ok && !reflect.DeepEqual(got, parsed) {
			t.Fatalf("the handler got %+v (%v) from %s; want %+v (%v)", got, ok, want, parsed, wantOK)
		}
	}
}

func BenchmarkEventMessage(b *testing.B) {
	e := board.Event{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 12345, Kind: "card.updated",
		Data:  json.RawMessage(`{"id":"c1","title":"Write docs","labels":[],"due":null,"done":false,"rank":"a0","version":3}`),
		Actor: "6f1c2a9e-0000-4000-8000-000000000002", OpID: "op-1", At: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		natsbus.EventMessage(e) //nolint:errcheck // measured, not used
	}
}
