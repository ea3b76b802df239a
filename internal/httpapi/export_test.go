package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

func TestExportImportAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "Launch")
	e.addMember(b.ID, carol, board.RoleViewer)
	col := e.mkColumn(alice, b.ID, "todo")
	card := e.mkCard(alice, b.ID, col.ID, "card")
	C := "/api/boards/" + b.ID + "/cards/" + card.ID
	apitest.Must[board.Comment](t, e.do("POST", C+"/comments", alice, map[string]any{"text": "hi"}), http.StatusCreated)
	l := apitest.Must[board.Checklist](t, e.do("POST", C+"/checklists", alice, map[string]any{"name": "l"}), http.StatusCreated)
	apitest.Must[board.ChecklistItem](t, e.do("POST", C+"/checklists/"+l.ID+"/items", alice, map[string]any{"text": "i", "done": true}), http.StatusCreated)

	r := e.do("GET", "/api/boards/"+b.ID+"/export", carol, nil)
	x := apitest.Must[board.Export](t, r, http.StatusOK)
	if r.Header.Get("Content-Disposition") != `attachment; filename="board-`+b.ID+`.json"` || x.Format != board.ExportFormat ||
		x.Version != 1 || x.Cards() != 1 || len(x.Columns[0].Cards[0].Checklists[0].Items) != 1 || len(x.Columns[0].Cards[0].Comments) != 1 {
		t.Errorf("export %v: %s", r.Header, r.Body)
	}
	apitest.CheckProblem(t, e.do("GET", "/api/boards/"+b.ID+"/export", "stranger", nil), http.StatusNotFound, board.ENotFound)

	// The viewer imports the export: a board of their own, the same content.
	r = e.do("POST", "/api/boards/import", carol, r.Body, "Idempotency-Key", "imp-1", "X-Op-Id", "imp")
	nb := apitest.Must[board.Board](t, r, http.StatusCreated)
	if nb.OwnerID != carol || nb.Role != board.RoleOwner || nb.Name != "Launch" || r.Header.Get("Location") != "/api/boards/"+nb.ID {
		t.Errorf("imported %+v, %v", nb, r.Header)
	}
	snap := e.snapshot(carol, nb.ID)
	if len(snap.Cards) != 1 || snap.Cards[0].CommentCount != 1 || snap.Cards[0].ChecklistDone != 1 || snap.Seq != nb.Seq {
		t.Errorf("imported snapshot %+v", snap)
	}
	r = e.do("POST", "/api/boards/import", carol, mustJSON(t, x), "Idempotency-Key", "imp-1", "X-Op-Id", "imp")
	if again := apitest.Must[board.Board](t, r, http.StatusCreated); again.ID != nb.ID || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed import made %s (first %s)", again.ID, nb.ID)
	}

	trello, err := os.ReadFile("../board/testdata/trello-board.json")
	if err != nil {
		t.Fatal(err)
	}
	tb := apitest.Must[board.Board](t, e.do("POST", "/api/boards/import", alice, trello), http.StatusCreated)
	if s := e.snapshot(alice, tb.ID); len(s.Columns) != 4 || len(s.Cards) != 5 {
		t.Errorf("Trello import: %d columns, %d cards", len(s.Columns), len(s.Cards))
	}

	// Bad documents are refused, naming what is wrong, and create nothing.
	boards := e.count(`SELECT count(*) FROM boards`)
	events := e.count(`SELECT count(*) FROM events`)
	big := bytes.Repeat([]byte(" "), board.MaxImportBytes+1)
	p := apitest.CheckProblem(t, e.do("POST", "/api/boards/import", alice, big), http.StatusRequestEntityTooLarge, board.ETooLarge)
	if !strings.Contains(p.Detail, "33554432") {
		t.Errorf("oversized import: %s", p.Detail)
	}
	apitest.CheckProblem(t, e.do("POST", "/api/boards/import", alice, `{"format": "corkboard.board", `), http.StatusBadRequest, board.EMalformed)
	apitest.CheckProblem(t, e.do("POST", "/api/boards/import", alice, nil), http.StatusBadRequest, board.EMalformed)
	apitest.CheckProblem(t, e.do("POST", "/api/boards/import", alice, `{"hello": "world"}`), http.StatusUnprocessableEntity, board.EInvalid)
	x.Columns[0].Cards[0].Checklists[0].Items[0].Text = strings.Repeat("x", board.MaxItemLen+1)
	p = apitest.CheckProblem(t, e.do("POST", "/api/boards/import", alice, mustJSON(t, x)), http.StatusUnprocessableEntity, board.EInvalid)
	if p.Field != "columns[0].cards[0].checklists[0].items[0].text" {
		t.Errorf("field %q", p.Field)
	}
	bad := strings.Replace(string(trello), `"idList": "65f1a2b3c4d5e6f708191004"`, `"idList": "65f1a2b3c4d5e6f7081910ff"`, 1)
	p = apitest.CheckProblem(t, e.do("POST", "/api/boards/import", alice, bad), http.StatusUnprocessableEntity, board.EInvalid)
	if p.Field != "cards[4].idList" || !strings.Contains(p.Detail, "Mascot") {
		t.Errorf("Trello card in no list: %+v", p)
	}
	// Over the limits of a board that only an import reaches.
	many := board.Export{Format: board.ExportFormat, Version: 1, Board: board.ExportBoard{Name: "many"},
		Columns: []board.ExportColumn{{Name: "c", Cards: make([]board.ExportCard, board.MaxImportCards+1)}}}
	for i := range many.Columns[0].Cards {
		many.Columns[0].Cards[i].Title = "t"
	}
	apitest.CheckProblem(t, e.do("POST", "/api/boards/import", alice, mustJSON(t, many)), http.StatusUnprocessableEntity, board.EInvalid)
	if n, m := e.count(`SELECT count(*) FROM boards`), e.count(`SELECT count(*) FROM events`); n != boards || m != events {
		t.Errorf("refused imports left %d boards and %d events, want %d and %d", n, m, boards, events)
	}
	// Elsewhere the usual limit stays.
	apitest.CheckProblem(t, e.do("POST", "/api/boards", alice, bytes.Repeat([]byte(" "), board.MaxBodyBytes+1)),
		http.StatusRequestEntityTooLarge, board.ETooLarge)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
