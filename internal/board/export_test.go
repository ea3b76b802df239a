package board_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// TestFromTrello reads a Trello board export written after Trello's export
// format (unknown fields, closed lists and cards, labels by id and inline,
// unnamed labels, positions out of order, comment actions newest first).
func TestFromTrello(t *testing.T) {
	data, err := os.ReadFile("testdata/trello-board.json")
	if err != nil {
		t.Fatal(err)
	}
	x, err := board.ParseImport(data)
	if err != nil {
		t.Fatal(err)
	}
	type card struct {
		title, desc, labels, due string
		done, archived           bool
		checklists, comments     string
	}
	labelName := map[string]string{}
	var set []string
	for _, l := range x.Labels {
		labelName[l.ID] = l.Name
		set = append(set, l.Name+"="+l.Color)
	}
	// Trello's labels keep their colours; the unnamed one is named after
	// its colour.
	if got := strings.Join(set, ","); got != "Design=green,Backend=blue,Marketing=orange,red=red" {
		t.Errorf("labels %s", got)
	}
	summary := func(c board.ExportCard) card {
		var labels []string
		for _, id := range c.Labels {
			labels = append(labels, labelName[id])
		}
		due := ""
		if c.Due != nil {
			due = *c.Due
		}
		var lists, comments []string
		for _, l := range c.Checklists {
			var items []string
			for _, it := range l.Items {
				items = append(items, fmt.Sprintf("%s=%v", it.Text, it.Done))
			}
			lists = append(lists, l.Name+": "+strings.Join(items, ", "))
		}
		for _, k := range c.Comments {
			comments = append(comments, k.CreatedAt.UTC().Format(time.RFC3339)+" "+k.Text)
		}
		return card{c.Title, c.Description, strings.Join(labels, ","), due, c.Done, c.Archived,
			strings.Join(lists, "; "), strings.Join(comments, " | ")}
	}
	want := map[string][]card{
		"To Do": {
			{title: "Design the landing page", desc: "Hero, pricing, FAQ", labels: "Design,red", due: "2024-04-01",
				comments: "2024-03-02T15:45:10Z annlee (on Trello): First draft attached."},
			{title: "Print ads", desc: "Dropped: no budget", archived: true},
		},
		"Doing": {{title: "Build the API", desc: "REST, JSON, versioned.", labels: "Backend,red",
			checklists: "Steps: Agree on versioning=true, Write the schema=true, Implement handlers=false; Docs: Reference=false",
			comments: "2024-03-04T09:30:00Z Ben Ode (on Trello): Can we <b>please</b> agree on the versioning first?\nSee the RFC." +
				" | 2024-03-05T16:20:00Z Ann Lee (on Trello): Shipped the staging build: https://staging.example.com/build/42"}},
		"Done":      {{title: "Pick the launch date", labels: "Marketing", due: "2024-03-08", done: true}},
		"Old ideas": {{title: "Mascot", archived: true}},
	}
	if x.Board.Name != "Product Launch" || x.Board.Description != "Everything for the Q3 launch" {
		t.Errorf("board %+v", x.Board)
	}
	var names []string
	for _, col := range x.Columns {
		names = append(names, col.Name)
		var got []card
		for _, c := range col.Cards {
			got = append(got, summary(c))
		}
		if fmt.Sprint(got) != fmt.Sprint(want[col.Name]) {
			t.Errorf("column %s:\n got  %+v\n want %+v", col.Name, got, want[col.Name])
		}
	}
	if strings.Join(names, ",") != "To Do,Doing,Done,Old ideas" {
		t.Errorf("columns %v", names)
	}
}

// TestParseImportRefuses: bad documents are refused naming what is wrong.
func TestParseImportRefuses(t *testing.T) {
	ok := func() map[string]any {
		return map[string]any{"format": board.ExportFormat, "version": 1, "board": map[string]any{"name": "b"},
			"columns": []any{map[string]any{"name": "c", "cards": []any{map[string]any{"title": "t",
				"checklists": []any{map[string]any{"name": "l", "items": []any{map[string]any{"text": "i"}}}},
				"comments":   []any{map[string]any{"text": "k"}}}}}}}
	}
	set := func(f func(m map[string]any)) []byte {
		m := ok()
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	card := func(m map[string]any) map[string]any {
		return m["columns"].([]any)[0].(map[string]any)["cards"].([]any)[0].(map[string]any)
	}
	if _, err := board.ParseImport(set(func(map[string]any) {})); err != nil {
		t.Fatalf("the good document: %v", err)
	}
	manyCols := make([]any, board.MaxImportColumns+1)
	for i := range manyCols {
		manyCols[i] = map[string]any{"name": "c"}
	}
	for _, tc := range []struct {
		name, code, field string
		doc               []byte
	}{
		{"not JSON", board.EMalformed, "", []byte("{")},
		{"not an object", board.EMalformed, "", []byte(`[1]`)},
		{"neither format", board.EInvalid, "", []byte(`{"name": "x"}`)},
		{"another format", board.EInvalid, "format", set(func(m map[string]any) { m["format"] = "other" })},
		{"a later version", board.EInvalid, "version", set(func(m map[string]any) { m["version"] = 2 })},
		{"wrong type", board.EInvalid, "board.name", set(func(m map[string]any) { m["board"] = map[string]any{"name": 5} })},
		{"no board name", board.EInvalid, "board.name", set(func(m map[string]any) { m["board"] = map[string]any{} })},
		{"too many columns", board.EInvalid, "columns", set(func(m map[string]any) { m["columns"] = manyCols })},
		{"blank title", board.EInvalid, "columns[0].cards[0].title", set(func(m map[string]any) { card(m)["title"] = " " })},
		{"long label", board.EInvalid, "columns[0].cards[0].labels", set(func(m map[string]any) {
			card(m)["labels"] = []string{strings.Repeat("x", board.MaxLabelLen+1)}
		})},
		{"label twice", board.EInvalid, "labels[1].name", set(func(m map[string]any) {
			m["labels"] = []any{map[string]any{"id": "a", "name": "Bug"}, map[string]any{"id": "b", "name": "BUG"}}
		})},
		{"label colour", board.EInvalid, "labels[0].color", set(func(m map[string]any) {
			m["labels"] = []any{map[string]any{"id": "a", "name": "Bug", "color": "mauve"}}
		})},
		{"too many labels", board.EInvalid, "labels", set(func(m map[string]any) {
			var refs []string
			for i := range board.MaxBoardLabels + 1 {
				refs = append(refs, fmt.Sprint("l", i))
			}
			card(m)["labels"] = refs[:board.MaxLabels]
			m["columns"].([]any)[0].(map[string]any)["cards"] = append(m["columns"].([]any)[0].(map[string]any)["cards"].([]any),
				map[string]any{"title": "more", "labels": refs[board.MaxLabels:]})
		})},
		{"bad due", board.EInvalid, "columns[0].cards[0].due", set(func(m map[string]any) { card(m)["due"] = "tomorrow" })},
		{"long comment", board.EInvalid, "columns[0].cards[0].comments[0].text", set(func(m map[string]any) {
			card(m)["comments"] = []any{map[string]any{"text": strings.Repeat("x", board.MaxCommentLen+1)}}
		})},
		{"blank item", board.EInvalid, "columns[0].cards[0].checklists[0].items[0].text", set(func(m map[string]any) {
			card(m)["checklists"] = []any{map[string]any{"name": "l", "items": []any{map[string]any{"text": ""}}}}
		})},
		{"trello card in no list", board.EInvalid, "cards[0].idList",
			[]byte(`{"name": "t", "lists": [], "cards": [{"id": "c1", "name": "x", "idList": "nope"}]}`)},
		{"trello checklist on no card", board.EInvalid, "checklists[0].idCard",
			[]byte(`{"name": "t", "lists": [], "cards": [], "checklists": [{"id": "l1", "name": "x", "idCard": "nope"}]}`)},
		{"trello long list name", board.EInvalid, "columns[0].name",
			[]byte(`{"name": "t", "lists": [{"id": "l", "name": "` + strings.Repeat("n", board.MaxNameLen+1) + `"}], "cards": []}`)},
	} {
		_, err := board.ParseImport(tc.doc)
		var e *board.Error
		if board.ErrorCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		} else if tc.field != "" && (!errors.As(err, &e) || e.Field != tc.field) {
			t.Errorf("%s: got %v, want field %s", tc.name, err, tc.field)
		}
	}
}

// FuzzParseImport: any document is either refused with a client error or
// accepted as a valid export that survives a JSON round trip.
func FuzzParseImport(f *testing.F) {
	trello, err := os.ReadFile("testdata/trello-board.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(trello)
	f.Add([]byte(`{"format":"corkboard.board","version":1,"board":{"name":"b"},"columns":[{"name":"c","cards":[{"title":"t","due":"2026-01-02","checklists":[{"name":"l","items":[{"text":"i","done":true}]}],"comments":[{"text":"k","author_id":"x"}]}]}]}`))
	f.Add([]byte(`{"name":"t","lists":[{"id":"l","name":"L","pos":"top"}],"cards":[{"id":"c","name":"C","idList":"l","due":"2024-01-01T00:00:00Z"}],"actions":[{"type":"commentCard","date":"x","data":{"card":{"id":"c"}}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := board.ParseImport(data)
		if err != nil {
			if code := board.ErrorCode(err); code != board.EMalformed && code != board.EInvalid {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		if err := x.Validate(); err != nil {
			t.Fatalf("accepted a document that does not validate: %v", err)
		}
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := board.ParseImport(b); err != nil {
			t.Fatalf("the accepted document, as an export, is refused: %v", err)
		}
	})
}
