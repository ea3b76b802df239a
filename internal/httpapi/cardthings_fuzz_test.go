package httpapi_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// FuzzCardThings feeds bodies to the comment and checklist writes, with the
// ids of the card's comment, checklists and items and of another card's and
// another board's in reach ($ITEM, $ITEM2, $LIST2, $FITEM, $FLIST).
func FuzzCardThings(f *testing.F) {
	for _, s := range []struct {
		route uint8
		body  string
	}{
		{0, `{"text": "hello\nhttps://example.com"}`},
		{0, `{"text": "  "}`},
		{1, `{"text": "edited"}`},
		{1, `{"text": null}`},
		{2, `{"name": "Steps"}`},
		{3, `{"name": ""}`},
		{4, `{"text": "item", "done": true, "position": {"after": "$ITEM"}}`},
		{4, `{"text": "item", "position": {"before": "$FITEM"}}`},
		{5, `{"done": true}`},
		{5, `{"text": "x", "done": false}`},
		{5, `{"checklist_id": "$LIST2"}`},
		{6, `{"checklist_id": "$LIST2", "position": {"to": "top"}}`},
		{6, `{"position": {"after": "$ITEM2"}}`},
		{6, `{"checklist_id": "$FLIST"}`},
		{6, `{"position": {"after": "$ITEM"}}`},
	} {
		f.Add(s.route, s.body)
	}
	w := newFuzzWorld(f)
	e := w.e
	C := "/api/boards/" + w.b.ID + "/cards/" + w.card.ID
	comment := apitest.Must[board.Comment](f, e.do("POST", C+"/comments", alice, map[string]any{"text": "first"}), http.StatusCreated)
	list := apitest.Must[board.Checklist](f, e.do("POST", C+"/checklists", alice, map[string]any{"name": "one"}), http.StatusCreated)
	list2 := apitest.Must[board.Checklist](f, e.do("POST", C+"/checklists", alice, map[string]any{"name": "two"}), http.StatusCreated)
	item := apitest.Must[board.ChecklistItem](f, e.do("POST", C+"/checklists/"+list.ID+"/items", alice, map[string]any{"text": "a"}), http.StatusCreated)
	item2 := apitest.Must[board.ChecklistItem](f, e.do("POST", C+"/checklists/"+list2.ID+"/items", alice, map[string]any{"text": "b"}), http.StatusCreated)
	F := "/api/boards/" + w.foreign.ID + "/cards/" + w.fcd.ID
	flist := apitest.Must[board.Checklist](f, e.do("POST", F+"/checklists", alice, map[string]any{"name": "foreign"}), http.StatusCreated)
	fitem := apitest.Must[board.ChecklistItem](f, e.do("POST", F+"/checklists/"+flist.ID+"/items", alice, map[string]any{"text": "f"}), http.StatusCreated)
	routes := []struct{ method, path string }{
		{"POST", C + "/comments"},
		{"PATCH", C + "/comments/" + comment.ID},
		{"POST", C + "/checklists"},
		{"PATCH", C + "/checklists/" + list.ID},
		{"POST", C + "/checklists/" + list.ID + "/items"},
		{"PATCH", C + "/checklists/" + list.ID + "/items/" + item.ID},
		{"POST", C + "/checklists/" + list.ID + "/items/" + item.ID + "/move"},
	}
	ids := strings.NewReplacer("$ITEM2", item2.ID, "$ITEM", item.ID, "$LIST2", list2.ID, "$FITEM", fitem.ID, "$FLIST", flist.ID)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := routes[int(route)%len(routes)]
		// Moves may take the item to the second checklist: bring it back.
		r := w.check(t, rt.method, rt.path, ids.Replace(body))
		if rt.path == routes[6].path && r.Status == http.StatusOK {
			w.check(t, "POST", C+"/checklists/"+list2.ID+"/items/"+item.ID+"/move", `{"checklist_id": "`+list.ID+`"}`)
		}
	})
}

// FuzzImport: any document is imported whole or refused with a client error,
// creating nothing.
func FuzzImport(f *testing.F) {
	trello, err := os.ReadFile("../board/testdata/trello-board.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(trello)
	f.Add([]byte(`{"format":"corkboard.board","version":1,"board":{"name":"b"},"columns":[{"name":"c","cards":[{"title":"t","assignees":["alice"],"checklists":[{"name":"l","items":[{"text":"i","done":true}]}],"comments":[{"text":"k","author_id":"bob","author_username":"bob"}]}]}]}`))
	f.Add([]byte(`{"format":"corkboard.board","version":1,"board":{"name":"b"},"columns":[{"name":"c","cards":[{"title":"t","due":"0001-01-01","created_at":"0001-01-01T00:00:00Z","comments":[{"text":"x","created_at":"9999-12-31T23:59:59.999999999-23:59"}]}]}]}`))
	f.Add([]byte(`{"name":"t","lists":[],"cards":[]}`))
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, doc []byte) {
		e := w.e.with(t)
		boards := e.count(`SELECT count(*) FROM boards`)
		r := e.serve("POST", "/api/boards/import", alice, doc)
		switch {
		case r.Status == http.StatusCreated:
			var b board.Board
			if err := json.Unmarshal(r.Body, &b); err != nil || b.OwnerID != alice {
				t.Fatalf("import answered %v", r)
			}
			if n := e.count(`SELECT count(*) FROM events WHERE board_id = $1`, b.ID); int64(n) != b.Seq {
				t.Fatalf("the imported board is at seq %d with %d events", b.Seq, n)
			}
		case r.Status >= 400 && r.Status < 500:
			var p apitest.Problem
			if err := json.Unmarshal(r.Body, &p); err != nil || codeStatus[p.Code] != r.Status {
				t.Fatalf("import refused with %v", r)
			}
			if n := e.count(`SELECT count(*) FROM boards`); n != boards {
				t.Fatalf("a refused import left %d boards, not %d", n, boards)
			}
		default:
			t.Fatalf("import answered %v", r)
		}
	})
}
