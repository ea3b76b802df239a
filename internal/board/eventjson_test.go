package board_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// eventSeeds are events whose encoding is easy to get wrong: Data compact or
// not, valid or not, strings that need escaping, times RFC 3339 cannot
// express.
var eventSeeds = []struct {
	data, kind, actor, opID string
	position                int64
	at                      time.Time
}{
	{`{"id":"c1","title":"Write docs","labels":[],"due":null,"done":false,"rank":"a0","version":3}`, "card.updated", "u1", "op-1", 0,
		time.Date(2026, 12, 3, 17, 0, 0, 123456000, time.UTC)},
	{`{"id":"c1"}`, "card.created", "u1", "", 42, time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 5*3600+30*60))},
	{`{ "id": "c1" }`, "card.created", "u1", "", 0, time.Time{}},
	{`{"t":"<script>&amp;</script>","u":"line\u2028sep"}`, "card.updated", "u1", "x", 0, time.Unix(0, 1)},
	{"{\"t\":\"\u2028 raw \xff\xfe invalid\"}", "card.updated", "u1", "x", 0, time.Unix(1, 0)},
	{`[1,-0.5e+10,0,-0,1E3,true,false,null,"\"\\\/\b\f\n\r\t\u00e9"]`, "k", "a", "o", -7, time.Unix(2, 0)},
	{`{"a":01}`, "k", "a", "o", 0, time.Unix(3, 0)},
	{`{"a":1,}`, "k", "a", "o", 0, time.Unix(3, 0)},
	{`{"a":"\x"}`, "k", "a", "o", 0, time.Unix(3, 0)},
	{"\"tab\there\"", "k", "a", "o", 0, time.Unix(3, 0)},
	{``, "k", "a", "o", 0, time.Unix(3, 0)},
	{`null`, "kind with \"quotes\"", "actor <&>", "op\x00\u2028é", 0, time.Unix(3, 0)},
	{strings.Repeat("[", 100) + strings.Repeat("]", 100), "k", "a", "o", 0, time.Unix(3, 0)},
	{`{"a":1}`, "k", "a", "o", 0, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{`{"a":1}`, "k", "a", "o", 0, time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 25*3600))},
}

// checkEventEncoding holds AppendEvent to board.MarshalJSON, byte for byte
// and error for error, and ParseEvent of its bytes to json.Unmarshal.
func checkEventEncoding(t *testing.T, e board.Event) {
	t.Helper()
	want, wantErr := board.MarshalJSON(e)
	prefix := []byte("prefix")
	got, err := board.AppendEvent(bytes.Clone(prefix), e)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("AppendEvent(%+v): error %v, board.MarshalJSON's %v", e, err, wantErr)
	}
	if err != nil {
		if !bytes.Equal(got, prefix) {
			t.Fatalf("AppendEvent failed but changed dst to %q", got)
		}
		return
	}
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("AppendEvent(%+v)\n = %q\nwant %q", e, got[len(prefix):], want)
	}
	checkParseEvent(t, got[len(prefix):])
}

func TestAppendEventIsMarshalJSON(t *testing.T) {
	for _, s := range eventSeeds {
		checkEventEncoding(t, board.Event{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 12, Position: s.position,
			Kind: s.kind, Data: json.RawMessage(s.data), Actor: s.actor, OpID: s.opID, At: s.at})
	}
	// nil Data is null; a board id that is no id is encoded all the same.
	checkEventEncoding(t, board.Event{BoardID: "not an id", Seq: 1, Kind: "k", At: time.Unix(0, 0).UTC()})
}

func FuzzAppendEvent(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add("6f1c2a9e-0000-4000-8000-000000000001", int64(12), s.position, s.kind, []byte(s.data), s.actor, s.opID,
			s.at.UnixNano(), 0)
	}
	f.Add("", int64(-1), int64(0), "", []byte(nil), "", "", int64(0), 19800)
	f.Fuzz(func(t *testing.T, boardID string, seq, position int64, kind string, data []byte, actor, opID string,
		at int64, offset int) {
		loc := time.UTC
		if offset != 0 {
			loc = time.FixedZone("z", offset%(30*3600))
		}
		checkEventEncoding(t, board.Event{BoardID: boardID, Seq: seq, Position: position, Kind: kind,
			Data: data, Actor: actor, OpID: opID, At: time.Unix(0, at).In(loc)})
	})
}

// checkParseEvent holds board.ParseEvent to json.Unmarshal: the same
// event, or an error from both.
func checkParseEvent(t *testing.T, payload []byte) {
	t.Helper()
	var want board.Event
	wantErr := json.Unmarshal(payload, &want)
	got, err := board.ParseEvent(payload)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("ParseEvent(%q): error %v, json.Unmarshal's %v", payload, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseEvent(%q)\n = %+v\nwant %+v", payload, got, want)
	}
}

func TestParseEventIsUnmarshal(t *testing.T) {
	for _, p := range parseSeeds(t) {
		checkParseEvent(t, p)
	}
}

// parseSeeds are AppendEvent's payloads of eventSeeds, and variations of
// the first that leave its layout.
func parseSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, s := range eventSeeds {
		p, err := board.AppendEvent(nil, board.Event{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 12,
			Position: s.position, Kind: s.kind, Data: json.RawMessage(s.data), Actor: s.actor, OpID: s.opID, At: s.at})
		if err == nil {
			seeds = append(seeds, p)
		}
	}
	if len(seeds) == 0 {
		t.Fatal("no seed encodes")
	}
	first := string(seeds[0])
	for _, r := range [][2]string{
		{`"seq":12`, `"seq":012`}, {`"seq":12`, `"seq":-0`}, {`"seq":12`, `"seq":1.5`}, {`"seq":12`, `"seq":99999999999999999999`},
		{`"seq":12`, `"seq":"12"`}, {`"board":`, `"Board":`}, {`,"kind"`, ` ,"kind"`}, {`"card.updated"`, `"card.\u0075pdated"`},
		{`"u1"`, `"\u00e9"`}, {`"u1"`, "\"\xff\""}, {`Z"}`, `Z"} `}, {`Z"}`, `Z","extra":1}`}, {`.123456Z`, `.123456+25:00`},
		{`2026-12-03T`, `2026-12-3T`}, {`"data":{`, `"data":{}`}, {`"data":{"id"`, `"data":{"id" `}, {`"op-1"`, `null`},
		{`"board":"6f1c2a9e-0000-4000-8000-000000000001",`, ``}, {`}`, ``},
	} {
		if !strings.Contains(first, r[0]) {
			t.Fatalf("seed %s has no %s", first, r[0])
		}
		seeds = append(seeds, []byte(strings.Replace(first, r[0], r[1], 1)))
	}
	return append(seeds, nil, []byte(`{}`), []byte(`null`), []byte(`{"board":"b","seq":1,"position":0,"kind":"k","data":null,"actor":"","op_id":"","at":"0001-01-01T00:00:00Z"}`))
}

func FuzzParseEvent(f *testing.F) {
	for _, p := range parseSeeds(f) {
		f.Add(p)
	}
	f.Fuzz(checkParseEvent)
}

func BenchmarkParseEvent(b *testing.B) {
	p, err := board.AppendEvent(nil, board.Event{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 12345,
		Kind: "card.updated", Data: json.RawMessage(eventSeeds[0].data), Actor: "6f1c2a9e-0000-4000-8000-000000000002",
		OpID: "op-1", At: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ParseEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			board.ParseEvent(p) //nolint:errcheck // measured, not used
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e board.Event
			json.Unmarshal(p, &e) //nolint:errcheck // measured, not used
		}
	})
}

func BenchmarkAppendEvent(b *testing.B) {
	e := board.Event{BoardID: "6f1c2a9e-0000-4000-8000-000000000001", Seq: 12345, Kind: "card.updated",
		Data:  json.RawMessage(eventSeeds[0].data),
		Actor: "6f1c2a9e-0000-4000-8000-000000000002", OpID: "op-1", At: time.Now()}
	b.Run("AppendEvent", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = board.AppendEvent(buf[:0], e)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(e) //nolint:errcheck // measured, not used
		}
	})
}
