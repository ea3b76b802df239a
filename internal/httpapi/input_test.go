package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// Bad input of every kind gets a problem document with its stable code (and
// the offending field where there is one) and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "input")
	col := e.mkColumn(alice, b.ID, "todo")
	other := e.mkColumn(alice, b.ID, "done")
	c := e.mkCard(alice, b.ID, col.ID, "card")
	B := "/api/boards/" + b.ID
	cards, card := B+"/cards", B+"/cards/"+c.ID
	newCard := func(kv ...any) map[string]any {
		m := map[string]any{"column_id": col.ID, "title": "t"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	labels := func(n int) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = fmt.Sprint("l", i)
		}
		return l
	}
	const (
		malformed = board.EMalformed
		invalid   = board.EInvalid
	)
	tests := []struct {
		name         string
		method, path string
		body         any
		hdr          []string
		status       int
		code, field  string
	}{
		// Syntax.
		{"malformed JSON", "POST", cards, `{"column_id": "` + col.ID + `", "title": `, nil, 400, malformed, ""},
		{"malformed JSON patch", "PATCH", card, `{"title" "x"}`, nil, 400, malformed, ""},
		{"not JSON", "POST", cards, `title=x`, nil, 400, malformed, ""},
		{"two JSON values", "POST", cards, `{"column_id": "` + col.ID + `", "title": "x"} {}`, nil, 400, malformed, ""},
		{"empty body", "POST", cards, ``, nil, 400, malformed, ""},
		{"empty patch body", "PATCH", card, ``, nil, 400, malformed, ""},
		{"whitespace body", "POST", B + "/columns", " \n", nil, 400, malformed, ""},
		{"invalid UTF-8", "POST", cards, []byte(`{"column_id": "` + col.ID + `", "title": "` + "\xff\xfe" + `"}`), nil, 400, malformed, ""},
		{"invalid UTF-8 patch", "PATCH", card, []byte("{\"title\": \"a\xc3\"}"), nil, 400, malformed, ""},
		{"wrong content type", "POST", cards, newCard(), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
		{"form content type", "PATCH", card, `title=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"bad content type", "PATCH", card, `{"title":"x"}`, []string{"Content-Type", "application/json; ="}, 415, "unsupported_media_type", ""},
		{"oversize body", "POST", cards, newCard("description", strings.Repeat("d", board.MaxBodyBytes)), nil, 413, board.ETooLarge, ""},
		{"oversize patch", "PATCH", card, map[string]any{"description": strings.Repeat("d", board.MaxBodyBytes+1)}, nil, 413, board.ETooLarge, ""},

		// Unknown fields.
		{"unknown field", "POST", cards, newCard("colour", "red"), nil, 422, invalid, "colour"},
		{"unknown patch field", "PATCH", card, map[string]any{"title": "x", "colour": "red"}, nil, 422, invalid, "colour"},
		{"unknown patch field only", "PATCH", card, map[string]any{"rank": "0"}, nil, 422, invalid, "rank"},
		{"patch of version", "PATCH", card, map[string]any{"version": 9}, nil, 422, invalid, "version"},
		{"unknown position field", "POST", cards, newCard("position", map[string]any{"middle": true}), nil, 422, invalid, "middle"},
		{"unknown board field", "POST", "/api/boards", map[string]any{"name": "x", "owner_id": "bob"}, nil, 422, invalid, "owner_id"},
		{"unknown move field", "POST", card + "/move", map[string]any{"column": other.ID}, nil, 422, invalid, "column"},

		// Limits.
		{"long title", "POST", cards, newCard("title", strings.Repeat("x", board.MaxNameLen+1)), nil, 422, invalid, "title"},
		{"long title in runes", "POST", cards, newCard("title", strings.Repeat("é", board.MaxNameLen+1)), nil, 422, invalid, "title"},
		{"long title patch", "PATCH", card, map[string]any{"title": strings.Repeat("x", board.MaxNameLen+1)}, nil, 422, invalid, "title"},
		{"long description", "PATCH", card, map[string]any{"description": strings.Repeat("x", board.MaxDescriptionLen+1)}, nil, 422, invalid, "description"},
		{"long board name", "POST", "/api/boards", map[string]any{"name": strings.Repeat("x", board.MaxNameLen+1)}, nil, 422, invalid, "name"},
		{"long column name", "PATCH", B + "/columns/" + col.ID, map[string]any{"name": strings.Repeat("x", board.MaxNameLen+1)}, nil, 422, invalid, "name"},
		{"too many labels", "POST", cards, newCard("labels", labels(board.MaxLabels+1)), nil, 422, invalid, "labels"},
		{"too many labels patch", "PATCH", card, map[string]any{"labels": labels(board.MaxLabels + 1)}, nil, 422, invalid, "labels"},
		{"long label", "PATCH", card, map[string]any{"labels": []string{strings.Repeat("l", board.MaxLabelLen+1)}}, nil, 422, invalid, "labels"},
		{"empty label", "PATCH", card, map[string]any{"labels": []string{""}}, nil, 422, invalid, "labels"},
		{"duplicate labels", "PATCH", card, map[string]any{"labels": []string{"a", "a"}}, nil, 422, invalid, "labels"},
		{"too many assignees", "PATCH", card, map[string]any{"assignees": labels(board.MaxAssignees + 1)}, nil, 422, invalid, "assignees"},
		{"empty title", "POST", cards, newCard("title", ""), nil, 422, invalid, "title"},
		{"blank title", "PATCH", card, map[string]any{"title": " \t"}, nil, 422, invalid, "title"},
		{"NUL in title", "PATCH", card, map[string]any{"title": "a\x00b"}, nil, 422, invalid, "title"},
		{"no title", "POST", cards, map[string]any{"column_id": col.ID}, nil, 422, invalid, "title"},

		// Ids in bodies and queries.
		{"no column", "POST", cards, map[string]any{"title": "x"}, nil, 422, invalid, "column_id"},
		{"bad column id", "POST", cards, newCard("column_id", "todo"), nil, 422, invalid, "column_id"},
		{"upper-case column id", "POST", cards, newCard("column_id", strings.ToUpper(col.ID)), nil, 422, invalid, "column_id"},
		{"bad after id", "POST", cards, newCard("position", map[string]string{"after": "x"}), nil, 422, invalid, "position.after"},
		{"bad before id", "POST", card + "/move", map[string]any{"position": map[string]string{"before": "1"}}, nil, 422, invalid, "position.before"},
		{"bad move column", "POST", card + "/move", map[string]any{"column_id": "x"}, nil, 422, invalid, "column_id"},
		{"bad column after", "POST", B + "/columns/" + col.ID + "/move", map[string]any{"position": map[string]any{"after": "x"}}, nil, 422, invalid, "position.after"},
		{"bad to column", "DELETE", B + "/columns/" + col.ID + "?cards=move&to=x", nil, nil, 422, invalid, "to"},
		{"missing to column", "DELETE", B + "/columns/" + col.ID + "?cards=move", nil, nil, 422, invalid, "to"},
		{"to without move", "DELETE", B + "/columns/" + col.ID + "?cards=delete&to=" + other.ID, nil, nil, 422, invalid, "to"},
		{"bad cards choice", "DELETE", B + "/columns/" + col.ID + "?cards=keep", nil, nil, 422, invalid, "cards"},
		{"move cards to same column", "DELETE", B + "/columns/" + col.ID + "?cards=move&to=" + col.ID, nil, nil, 422, invalid, "to"},

		// Positions.
		{"bad to", "POST", cards, newCard("position", map[string]string{"to": "middle"}), nil, 422, invalid, "position.to"},
		{"to and after", "POST", card + "/move", map[string]any{"position": map[string]string{"to": "top", "after": c.ID}}, nil, 422, invalid, "position"},
		{"after itself", "POST", card + "/move", map[string]any{"position": map[string]string{"after": c.ID}}, nil, 422, invalid, "position.after"},
		{"before itself", "POST", card + "/move", map[string]any{"position": map[string]string{"before": c.ID}}, nil, 422, invalid, "position.before"},
		{"column after itself", "POST", B + "/columns/" + col.ID + "/move", map[string]any{"position": map[string]any{"after": col.ID}}, nil, 422, invalid, "position.after"},

		// Wrong JSON types.
		{"number title", "PATCH", card, `{"title": 5}`, nil, 422, invalid, "title"},
		{"string done", "PATCH", card, `{"done": "yes"}`, nil, 422, invalid, "done"},
		{"string labels", "PATCH", card, `{"labels": "a"}`, nil, 422, invalid, "labels"},
		{"number labels", "PATCH", card, `{"labels": [1]}`, nil, 422, invalid, "labels"},
		{"object assignees", "PATCH", card, `{"assignees": {}}`, nil, 422, invalid, "assignees"},
		{"number due", "PATCH", card, `{"due": 20300101}`, nil, 422, invalid, "due"},
		{"bool title", "POST", cards, `{"column_id": "` + col.ID + `", "title": true}`, nil, 422, invalid, "title"},
		{"number column", "POST", cards, `{"column_id": 7, "title": "x"}`, nil, 422, invalid, "column_id"},
		{"string position", "POST", cards, `{"column_id": "` + col.ID + `", "title": "x", "position": "top"}`, nil, 422, invalid, "position"},
		{"array body", "POST", cards, `[]`, nil, 422, invalid, ""},
		{"array patch", "PATCH", card, `[{"title": "x"}]`, nil, 422, invalid, ""},
		{"string body", "POST", "/api/boards", `"board"`, nil, 422, invalid, ""},
		{"null patch", "PATCH", card, `null`, nil, 422, invalid, ""},
		{"number name", "PATCH", B, `{"name": 1}`, nil, 422, invalid, "name"},

		// null for fields that cannot be cleared, and empty patches.
		{"null title", "PATCH", card, `{"title": null}`, nil, 422, invalid, "title"},
		{"null done", "PATCH", card, `{"done": null}`, nil, 422, invalid, "done"},
		{"null labels", "PATCH", card, `{"labels": null}`, nil, 422, invalid, "labels"},
		{"null description", "PATCH", card, `{"description": null, "title": "x"}`, nil, 422, invalid, "description"},
		{"null board name", "PATCH", B, `{"name": null}`, nil, 422, invalid, "name"},
		{"null column name", "PATCH", B + "/columns/" + col.ID, `{"name": null}`, nil, 422, invalid, "name"},
		{"empty patch", "PATCH", card, `{}`, nil, 422, invalid, ""},
		{"empty board patch", "PATCH", B, `{}`, nil, 422, invalid, ""},
		{"empty column patch", "PATCH", B + "/columns/" + col.ID, `{}`, nil, 422, invalid, ""},

		// Dates.
		{"bad due", "PATCH", card, map[string]any{"due": "2030-13-01"}, nil, 422, invalid, "due"},
		{"due with time", "PATCH", card, map[string]any{"due": "2030-01-01T00:00:00Z"}, nil, 422, invalid, "due"},
		{"due of year 0", "PATCH", card, map[string]any{"due": "0000-06-01"}, nil, 422, invalid, "due"},
		{"create due of year 0", "POST", cards, newCard("due", "0000-01-01"), nil, 422, invalid, "due"},
		{"feb 30", "POST", cards, newCard("due", "2030-02-30"), nil, 422, invalid, "due"},

		// Headers.
		{"bad If-Match", "PATCH", card, map[string]any{"title": "x"}, []string{"If-Match", "abc"}, 400, malformed, "If-Match"},
		{"zero If-Match", "PATCH", card, map[string]any{"title": "x"}, []string{"If-Match", `"0"`}, 400, malformed, "If-Match"},
		{"negative If-Match", "DELETE", card, nil, []string{"If-Match", `"-1"`}, 400, malformed, "If-Match"},
		{"two If-Match tags", "DELETE", card, nil, []string{"If-Match", `"1", "2"`}, 400, malformed, "If-Match"},
		{"bad If-Match on move", "POST", card + "/move", map[string]any{"position": map[string]string{"to": "top"}}, []string{"If-Match", `W/"x"`}, 400, malformed, "If-Match"},
		{"bad X-Op-Id", "PATCH", card, map[string]any{"title": "x"}, []string{"X-Op-Id", "has space"}, 422, invalid, "X-Op-Id"},
		{"long X-Op-Id", "PATCH", card, map[string]any{"title": "x"}, []string{"X-Op-Id", strings.Repeat("o", board.MaxOpIDLen+1)}, 422, invalid, "X-Op-Id"},
		{"bad Idempotency-Key", "PATCH", card, map[string]any{"title": "x"}, []string{"Idempotency-Key", "a b"}, 422, invalid, "Idempotency-Key"},
		{"long Idempotency-Key", "PATCH", card, map[string]any{"title": "x"}, []string{"Idempotency-Key", strings.Repeat("k", board.MaxIdempotencyKey+1)}, 422, invalid, "Idempotency-Key"},
		{"no user", "PATCH", card, map[string]any{"title": "x"}, []string{"X-User", ""}, 401, board.EUnauthenticated, ""},

		// Queries.
		{"negative since", "GET", B + "/events?since=-1", nil, nil, 422, invalid, "since"},
		{"word since", "GET", B + "/events?since=abc", nil, nil, 422, invalid, "since"},
		{"huge since", "GET", B + "/events?since=99999999999999999999", nil, nil, 422, invalid, "since"},
		{"zero limit", "GET", B + "/events?limit=0", nil, nil, 422, invalid, "limit"},
		{"big limit", "GET", B + "/events?limit=1001", nil, nil, 422, invalid, "limit"},
		{"word limit", "GET", B + "/events?limit=ten", nil, nil, 422, invalid, "limit"},
		{"float limit", "GET", B + "/events?limit=1.5", nil, nil, 422, invalid, "limit"},

		// Routes and methods.
		{"body on archive", "POST", card + "/archive", `{}`, nil, 422, invalid, ""},
		{"no such route", "GET", "/api/nowhere", nil, nil, 404, board.ENotFound, ""},
		{"method not allowed", "PUT", card, map[string]any{"title": "x"}, nil, 405, "method_not_allowed", ""},
		{"method not allowed on board", "POST", B, map[string]any{"name": "x"}, nil, 405, "method_not_allowed", ""},
	}
	f := e.freeze(b.ID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			seq := e.seq(b.ID)
			hdr := tt.hdr
			user := alice
			if len(hdr) == 2 && hdr[0] == "X-User" {
				user, hdr = hdr[1], nil
			}
			r := e.do(tt.method, tt.path, user, tt.body, hdr...)
			p := apitest.CheckProblem(t, r, tt.status, tt.code)
			if p.Field != tt.field {
				t.Errorf("field %q, want %q (%v)", p.Field, tt.field, r)
			}
			if got := e.seq(b.ID); got != seq {
				t.Errorf("board seq moved from %d to %d", seq, got)
			}
		})
	}
	f.Check(t, "bad input")
	if n := e.count(`SELECT count(*) FROM boards`); n != 1 {
		t.Errorf("%d boards, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM idempotency_keys`); n != 0 {
		t.Errorf("%d idempotency keys claimed, want 0", n)
	}
}

// Limits are inclusive and counted in characters: a title of exactly
// MaxNameLen multi-byte characters is fine.
func TestLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "limits")
	col := e.mkColumn(alice, b.ID, "todo")
	l := make([]string, board.MaxLabels)
	for i := range l {
		name := fmt.Sprintf("%02d%s", i, strings.Repeat("é", board.MaxLabelLen-2))
		l[i] = apitest.Must[board.Label](t, e.do("POST", "/api/boards/"+b.ID+"/labels", alice, map[string]any{"name": name}), http.StatusCreated).ID
	}
	c := apitest.Must[board.Card](t, e.do("POST", "/api/boards/"+b.ID+"/cards", alice, map[string]any{
		"column_id": col.ID, "title": strings.Repeat("é", board.MaxNameLen), "labels": l,
		"description": strings.Repeat("d", board.MaxDescriptionLen), "due": "0001-01-01",
	}), http.StatusCreated)
	if len([]rune(c.Title)) != board.MaxNameLen || len(c.Labels) != board.MaxLabels || *c.Due != "0001-01-01" {
		t.Errorf("card %+v", c)
	}
	// Clearing the due date with null is allowed.
	c = apitest.Must[board.Card](t, e.do("PATCH", "/api/boards/"+b.ID+"/cards/"+c.ID, alice, `{"due": null, "labels": []}`), http.StatusOK)
	if c.Due != nil || len(c.Labels) != 0 || c.Labels == nil {
		t.Errorf("after clearing: %+v", c)
	}
}
