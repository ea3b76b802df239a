package board_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// TestExportWriteJSON: WriteJSON writes exactly the bytes of MarshalJSON,
// with nil and empty lists, HTML characters unescaped, and more than a
// buffer's worth of cards.
func TestExportWriteJSON(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 123, time.UTC)
	due := "2026-12-24"
	card := board.ExportCard{ID: "c<1>", Title: "a & b", Description: strings.Repeat("<", 10_000),
		Labels: []string{"x"}, Due: &due, Assignees: []string{}, CreatedBy: "u", CreatedAt: at, ArchivedAt: &at,
		Checklists: []board.ExportChecklist{{ID: "l", Name: "n", Items: []board.ExportItem{{ID: "i", Text: "\u2028"}}}},
		Comments:   []board.ExportComment{{ID: "m", Text: "<b>", CreatedAt: at, EditedAt: &at}}}
	many := make([]board.ExportCard, 100)
	for i := range many {
		many[i] = card
	}
	cases := map[string]board.Export{
		"zero":        {},
		"empty lists": {Members: []board.Member{}, Columns: []board.ExportColumn{}},
		"nil cards":   {Columns: []board.ExportColumn{{ID: "a"}, {ID: "b", Cards: []board.ExportCard{}}}},
		"full": {Format: board.ExportFormat, Version: 1, ExportedAt: at,
			Board:   board.ExportBoard{ID: "b", Name: "<board>", Description: "&", CreatedAt: at, Seq: 7},
			Members: []board.Member{{UserID: "u", Username: "ann", Role: "owner", AddedAt: at}},
			Labels:  []board.ExportLabel{{ID: "x", Name: "<b>", Color: "red"}},
			Columns: []board.ExportColumn{{ID: "c", Name: "todo", Cards: []board.ExportCard{card}}, {ID: "d", Name: "many", Cards: many}}},
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := board.MarshalJSON(x)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := x.WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("WriteJSON differs from MarshalJSON:\n got  %.300q\n want %.300q", got.Bytes(), want)
			}
		})
	}
	var full bytes.Buffer
	x := cases["full"]
	if err := x.WriteJSON(&full); err != nil {
		t.Fatal(err)
	}
	if n := 101 * 10_000; full.Len() > n+101*1_000 {
		t.Fatalf("an export of 101 descriptions of 10,000 '<' is %d bytes", full.Len())
	}
}
