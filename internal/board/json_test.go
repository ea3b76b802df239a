package board_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// trickyStrings are strings whose JSON escaping is easy to get wrong.
var trickyStrings = []string{
	"",
	"plain",
	`say "hi"`,
	`back\slash\`,
	"\x00\x01\x02\x1e\x1f control",
	"\b\f\n\r\t",
	"\x7f DEL is not escaped",
	"<script>alert('x' & 1)</script>",
	"line\u2028separator\u2029paragraph",
	"\u2027\u202a neighbours of U+2028",
	"\xff\xfe invalid",
	"truncated \xe2\x82",
	"\xed\xa0\x80 surrogate half",
	"\xc0\x80 overlong NUL",
	"\ufffd the replacement character itself",
	"café, naïve, 日本語",
	"emoji 👍🏽 and 🧑‍💻",
	"\U0010ffff last code point",
	strings.Repeat("long <&> \"text\" \u2028 é\xff ", 20000),
}

// snapshotWith puts s in every string of a snapshot that has every kind of
// field set.
func snapshotWith(s string) board.Snapshot {
	t1 := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	t2 := time.Date(1999, 12, 31, 23, 59, 59, 1, time.FixedZone("IST", 5*3600+30*60))
	due := s
	return board.Snapshot{
		Board: board.Board{ID: s, Name: s, Description: s, OwnerID: s, OwnerUsername: s, Role: s,
			Version: 7, Seq: math.MaxInt64, CreatedAt: t1, UpdatedAt: t2},
		Members: []board.Member{{UserID: s, Username: s, Role: s, AddedAt: t2}},
		Labels:  []board.Label{{ID: s, BoardID: s, Name: s, Color: s, Version: 3, CreatedAt: t2, UpdatedAt: t1}},
		Columns: []board.Column{{ID: s, BoardID: s, Name: s, Rank: s, Version: -1, CreatedAt: t1, UpdatedAt: t1}},
		Cards: []board.Card{{ID: s, BoardID: s, ColumnID: s, Title: s, Description: s,
			Labels: []string{s, s}, Due: &due, Assignees: []string{s}, Done: true, Rank: s, Archived: true,
			Version: math.MinInt64, CreatedBy: s, CreatedAt: t1, UpdatedAt: t2, ArchivedAt: &t2,
			CommentCount: math.MaxInt, ChecklistDone: -3, ChecklistTotal: math.MinInt, AttachmentCount: 9, Cover: &due}},
		Seq: 42,
	}
}

func TestSnapshotJSON(t *testing.T) {
	cards := make([]board.Card, 3)
	cards[1].Labels, cards[1].Assignees = []string{}, []string{}
	cards[2].Labels, cards[2].Assignees = []string{"a", "b"}, []string{"x"}
	now := time.Now() // with a monotonic reading, in the local zone
	cases := map[string]board.Snapshot{
		"zero":              {},
		"empty slices":      {Members: []board.Member{}, Labels: []board.Label{}, Columns: []board.Column{}, Cards: []board.Card{}},
		"zero elements":     {Members: make([]board.Member, 2), Labels: make([]board.Label, 2), Columns: make([]board.Column, 2), Cards: cards},
		"no role":           {Board: board.Board{ID: "b", Name: "n"}},
		"now":               {Board: board.Board{CreatedAt: now, UpdatedAt: now.UTC()}, Members: []board.Member{{AddedAt: now.Round(0)}}},
		"year 0 and 9999":   {Board: board.Board{CreatedAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("", -(23*3600+59*60)))}},
		"fraction trimming": {Columns: []board.Column{{CreatedAt: time.Unix(1, 100_000_000), UpdatedAt: time.Unix(1, 120)}}},
	}
	for i, s := range trickyStrings {
		cases[fmt.Sprintf("tricky %d %.12q", i, s)] = snapshotWith(s)
	}
	for name, snap := range cases {
		t.Run(name, func(t *testing.T) { checkSnapshotJSON(t, snap) })
	}
}

// TestSnapshotWithSetsEveryField: snapshotWith leaves no field zero, so that
// a field added to the types but not to AppendJSON fails TestSnapshotJSON,
// omitempty or not.
func TestSnapshotWithSetsEveryField(t *testing.T) {
	s := snapshotWith("x")
	for _, v := range []any{s, s.Board, s.Members[0], s.Labels[0], s.Columns[0], s.Cards[0]} {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			if rv.Field(i).IsZero() {
				t.Errorf("snapshotWith leaves %s.%s zero", rv.Type().Name(), rv.Type().Field(i).Name)
			}
		}
	}
}

// TestSnapshotJSONTimeError: a time json.Marshal refuses is refused too, and
// dst comes back unchanged.
func TestSnapshotJSONTimeError(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
	} {
		snap := snapshotWith("x")
		snap.Cards[0].ArchivedAt = &at
		if _, err := json.Marshal(snap); err == nil {
			t.Fatalf("json.Marshal accepted %v", at)
		}
		dst := []byte("prefix")
		got, err := snap.AppendJSON(dst)
		if err == nil || string(got) != "prefix" {
			t.Errorf("AppendJSON with %v = %.20q, %v; want \"prefix\" and an error", at, got, err)
		}
	}
}

func TestSnapshotJSONAppends(t *testing.T) {
	snap := snapshotWith("x")
	want, _ := board.MarshalJSON(snap)
	got, err := snap.AppendJSON([]byte("prefix:"))
	if err != nil || string(got) != "prefix:"+string(want) {
		t.Fatalf("AppendJSON(prefix) = %q, %v", got, err)
	}
}

// FuzzSnapshotJSON holds AppendJSON and WriteJSON to the bytes of a
// json.Encoder with SetEscapeHTML(false) on snapshots
// made of arbitrary strings, numbers, times and nil-ness.
func FuzzSnapshotJSON(f *testing.F) {
	for i, s := range trickyStrings {
		if len(s) < 1000 {
			f.Add(s, s+"!", int64(i), int64(1_700_000_000+i), int64(i*123_456_789), int32(i*3600), uint8(i))
		}
	}
	f.Add("a", "b", int64(-1), int64(253402300800), int64(0), int32(0), uint8(0xff)) // year 10000
	f.Fuzz(func(t *testing.T, s1, s2 string, n, sec, nsec int64, offset int32, shape uint8) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", int(offset)))
		bit := func(i uint) bool { return shape&(1<<i) != 0 }
		var due *string
		if bit(0) {
			due = &s2
		}
		var archivedAt *time.Time
		if bit(1) {
			archivedAt = &at
		}
		var labels, assignees []string
		if bit(2) {
			labels = []string{s1, s2}
		} else if bit(3) {
			labels = []string{}
		}
		if bit(4) {
			assignees = []string{s2}
		}
		card := board.Card{ID: s1, BoardID: s2, ColumnID: s1, Title: s2, Description: s1 + s2,
			Labels: labels, Due: due, Assignees: assignees, Done: bit(5), Rank: s2, Archived: bit(6),
			Version: n, CreatedBy: s1, CreatedAt: at, UpdatedAt: at.UTC(), ArchivedAt: archivedAt,
			CommentCount: int(n), ChecklistDone: int(-n), ChecklistTotal: int(sec)}
		snap := board.Snapshot{
			Board: board.Board{ID: s1, Name: s2, Description: s1, OwnerID: s2, OwnerUsername: s1, Role: s2,
				Version: n, Seq: -n, CreatedAt: at, UpdatedAt: at},
			Seq: n,
		}
		if bit(7) {
			snap.Members = []board.Member{{UserID: s1, Username: s2, Role: s1, AddedAt: at}}
			snap.Labels = []board.Label{{ID: s1, BoardID: s2, Name: s1 + s2, Color: s2, Version: n, CreatedAt: at, UpdatedAt: at}}
			snap.Columns = []board.Column{{ID: s2, BoardID: s1, Name: s2, Rank: s1, Version: n, CreatedAt: at, UpdatedAt: at}}
			snap.Cards = []board.Card{card, card}
		} else {
			snap.Cards = []board.Card{card}
		}
		checkSnapshotJSON(t, snap)
	})
}

// checkSnapshotJSON fails unless AppendJSON, WriteJSON and a json.Encoder
// with SetEscapeHTML(false) give the same bytes, or all an error.
func checkSnapshotJSON(t *testing.T, snap board.Snapshot) {
	t.Helper()
	var enc bytes.Buffer
	e := json.NewEncoder(&enc)
	e.SetEscapeHTML(false)
	wantErr := e.Encode(snap)
	want := bytes.TrimSuffix(enc.Bytes(), []byte("\n"))
	got, err := snap.AppendJSON(nil)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("AppendJSON error %v, json.Encoder error %v", err, wantErr)
	}
	var written bytes.Buffer
	werr := snap.WriteJSON(&written)
	if (werr != nil) != (wantErr != nil) {
		t.Fatalf("WriteJSON error %v, json.Encoder error %v", werr, wantErr)
	}
	if wantErr == nil && !bytes.Equal(written.Bytes(), got) {
		t.Fatalf("WriteJSON wrote %d bytes, AppendJSON appended %d different ones", written.Len(), len(got))
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(i-40, 0)
		t.Fatalf("AppendJSON differs from json.Encoder at byte %d:\n got  %q\n want %q",
			i, got[lo:min(i+40, len(got))], want[lo:min(i+40, len(want))])
	}
	for _, c := range snap.Cards {
		checkCardJSON(t, c)
	}
}

// checkCardJSON fails unless Card.AppendJSON, MarshalJSON (which uses it
// for a card) and a json.Encoder with SetEscapeHTML(false) give the same
// bytes, or all an error.
func checkCardJSON(t *testing.T, c board.Card) {
	t.Helper()
	var enc bytes.Buffer
	e := json.NewEncoder(&enc)
	e.SetEscapeHTML(false)
	wantErr := e.Encode(c)
	want := bytes.TrimSuffix(enc.Bytes(), []byte("\n"))
	got, err := c.AppendJSON([]byte("prefix:"))
	marshalled, merr := board.MarshalJSON(c)
	switch {
	case (err != nil) != (wantErr != nil) || (merr != nil) != (wantErr != nil):
		t.Fatalf("Card.AppendJSON error %v, MarshalJSON error %v, json.Encoder error %v", err, merr, wantErr)
	case wantErr != nil:
		if string(got) != "prefix:" {
			t.Fatalf("Card.AppendJSON changed dst on an error: %.20q", got)
		}
	case string(got) != "prefix:"+string(want):
		t.Fatalf("Card.AppendJSON:\n got  %.200q\n want %.200q", got, want)
	case !bytes.Equal(marshalled, want):
		t.Fatalf("MarshalJSON(card):\n got  %.200q\n want %.200q", marshalled, want)
	}
}

// TestSnapshotJSONNoHTMLEscaping: a description of 10,000 '<' takes about
// 10 KB in a snapshot, not 60 KB (\u003c), whether appended or written.
func TestSnapshotJSONNoHTMLEscaping(t *testing.T) {
	desc := strings.Repeat("<", 10_000)
	snap := board.Snapshot{Cards: []board.Card{{ID: "c", Title: "t", Description: desc}}}
	got, err := snap.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 10_000+1_000 {
		t.Fatalf("a snapshot with a description of 10,000 '<' is %d bytes", len(got))
	}
	var w bytes.Buffer
	if err := snap.WriteJSON(&w); err != nil || w.Len() != len(got) {
		t.Fatalf("WriteJSON wrote %d bytes, %v; want %d", w.Len(), err, len(got))
	}
}

// TestSnapshotWriteJSONChunks: a snapshot larger than a chunk is written
// in several writes, each of them bounded, and an error of the writer ends
// the writing and is returned.
func TestSnapshotWriteJSONChunks(t *testing.T) {
	snap := board.Snapshot{Cards: make([]board.Card, 2_000)}
	for i := range snap.Cards {
		snap.Cards[i].Description = strings.Repeat("x", 1_000)
	}
	want, _ := snap.AppendJSON(nil)
	w := &chunkWriter{}
	if err := snap.WriteJSON(w); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.buf.Bytes(), want) {
		t.Fatal("WriteJSON wrote other bytes than AppendJSON")
	}
	if w.writes < 10 || w.largest > 128<<10 {
		t.Fatalf("WriteJSON wrote %d bytes in %d writes, the largest %d bytes", len(want), w.writes, w.largest)
	}
	failing := &chunkWriter{fail: 2}
	if err := snap.WriteJSON(failing); err == nil || failing.writes != 2 {
		t.Fatalf("WriteJSON to a writer failing at its 2nd write: %v after %d writes", err, failing.writes)
	}
}

type chunkWriter struct {
	buf             bytes.Buffer
	writes, largest int
	fail            int // the write that fails, if not 0
}

func (w *chunkWriter) Write(b []byte) (int, error) {
	w.writes++
	w.largest = max(w.largest, len(b))
	if w.writes == w.fail {
		return 0, errors.New("broken pipe")
	}
	return w.buf.Write(b)
}
