package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// The fuzz targets feed request bodies (and queries) through the real
// handlers and store, in process. Whatever the input, the API answers with a
// 2xx or a problem document with a known code and a 4xx status, never a 5xx
// or a panic, and a 4xx changes nothing.

// codeStatus is every code the API may answer a client's request with.
var codeStatus = map[string]int{
	board.EMalformed:          400,
	board.EInvalid:            422,
	board.ETooLarge:           413,
	board.ENotFound:           404,
	board.EConflict:           409,
	board.EVersionMismatch:    412,
	board.EIdempotencyReused:  422,
	board.EIdempotencyPending: 409,
	board.EUnauthenticated:    401,
	board.EForbidden:          403,
	"method_not_allowed":      405,
	"unsupported_media_type":  415,
}

// fuzzWorld is a board with two columns and a card, and a foreign board.
type fuzzWorld struct {
	e                *env
	b, foreign       board.Board
	col, col2, fcol  board.Column
	card, card2, fcd board.Card
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	e := newEnv(f)
	w := &fuzzWorld{e: e}
	w.b, w.foreign = e.mkBoard(alice, "fuzz"), e.mkBoard(alice, "foreign")
	w.col, w.col2 = e.mkColumn(alice, w.b.ID, "one"), e.mkColumn(alice, w.b.ID, "two")
	w.fcol = e.mkColumn(alice, w.foreign.ID, "foreign")
	w.card, w.card2 = e.mkCard(alice, w.b.ID, w.col.ID, "card"), e.mkCard(alice, w.b.ID, w.col2.ID, "card 2")
	w.fcd = e.mkCard(alice, w.foreign.ID, w.fcol.ID, "foreign card")
	return w
}

// expand replaces the placeholders $COL, $COL2, $CARD, $CARD2, $FCOL and
// $FCARD in a fuzzed body with real ids, so that inputs reach the store.
func (w *fuzzWorld) expand(s string) string {
	return strings.NewReplacer("$COL2", w.col2.ID, "$COL", w.col.ID, "$CARD2", w.card2.ID, "$CARD", w.card.ID,
		"$FCOL", w.fcol.ID, "$FCARD", w.fcd.ID).Replace(s)
}

// check serves one request and checks the answer against the invariants.
// It returns the response.
func (w *fuzzWorld) check(t *testing.T, method, path string, body any) apitest.Response {
	e := w.e.with(t)
	seq, fseq := e.seq(w.b.ID), e.seq(w.foreign.ID)
	r := e.serve(method, path, alice, body)
	switch {
	case r.Status >= 500:
		t.Fatalf("%s %s %q: %v", method, path, body, r)
	case r.Status >= 400:
		var p apitest.Problem
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s %q: Content-Type %q: %v", method, path, body, ct, r)
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("%s %s %q: problem: %v: %v", method, path, body, err, r)
		}
		if want, known := codeStatus[p.Code]; !known || want != r.Status || p.Status != r.Status {
			t.Fatalf("%s %s %q: status %d with code %q: %v", method, path, body, r.Status, p.Code, r)
		}
		if got := e.seq(w.b.ID); got != seq {
			t.Fatalf("%s %s %q: %v, yet seq moved from %d to %d", method, path, body, r, seq, got)
		}
	case r.Status >= 200 && r.Status < 300:
		if r.Status != http.StatusNoContent && r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s %s %q: %v without a JSON body", method, path, body, r)
		}
		if method != "GET" {
			if got := e.seq(w.b.ID); got != seq+1 && !strings.HasPrefix(path, "/api/boards?") && path != "/api/boards" {
				t.Fatalf("%s %s %q: %v, and seq moved from %d to %d", method, path, body, r, seq, got)
			}
		}
	default:
		t.Fatalf("%s %s %q: unexpected %v", method, path, body, r)
	}
	if got := e.seq(w.foreign.ID); got != fseq {
		t.Fatalf("%s %s %q: the foreign board's seq moved from %d to %d", method, path, body, fseq, got)
	}
	return r
}

func FuzzCardPatch(f *testing.F) {
	for _, s := range []string{
		`{"title": "x"}`,
		`{"description": "", "done": true, "due": null}`,
		`{"labels": ["a", "b"], "assignees": ["bob"], "due": "2030-01-31"}`,
		`{"due": "0000-01-01"}`,
		`{"title": null}`,
		`{}`,
		`[`,
		`{"labels": [null]}`,
		"{\"title\": \"\\u0000\"}",
		`{"title": "x", "title": 1}`,
	} {
		f.Add([]byte(s))
	}
	w := newFuzzWorld(f)
	path := "/api/boards/" + w.b.ID + "/cards/" + w.card.ID
	f.Fuzz(func(t *testing.T, body []byte) {
		r := w.check(t, "PATCH", path, body)
		if r.Status == http.StatusOK {
			// What the 2xx says is what is stored.
			got := w.e.with(t).serve("GET", path, alice, nil)
			if !bytes.Equal(got.Body, r.Body) {
				t.Fatalf("PATCH %q answered %s but the card is %s", body, r.Body, got.Body)
			}
		}
	})
}

func FuzzCardCreate(f *testing.F) {
	for _, s := range []string{
		`{"column_id": "$COL", "title": "x"}`,
		`{"column_id": "$COL", "title": "x", "labels": ["a"], "assignees": [], "due": "2030-02-28", "done": true, "description": "d"}`,
		`{"column_id": "$COL2", "title": "x", "position": {"after": "$CARD2"}}`,
		`{"column_id": "$COL", "title": "x", "position": {"before": "$FCARD"}}`,
		`{"column_id": "$FCOL", "title": "x"}`,
		`{"column_id": "$COL", "title": "x", "position": {"to": "top", "after": "$CARD"}}`,
		`{"column_id": "$COL", "title": "x", "due": "0000-12-31"}`,
		`{"column_id": "$COL", "title": "x", "extra": 1}`,
		`{"column_id": "$COL", "title": "x", "position": null}`,
		`{"column_id": "$COL", "title": "x", "labels": null}`,
	} {
		f.Add(s)
	}
	w := newFuzzWorld(f)
	path := "/api/boards/" + w.b.ID + "/cards"
	f.Fuzz(func(t *testing.T, body string) {
		w.check(t, "POST", path, w.expand(body))
	})
}

func FuzzCardMove(f *testing.F) {
	for _, s := range []string{
		`{"column_id": "$COL2"}`,
		`{"column_id": "$COL", "position": {"to": "top"}}`,
		`{"position": {"after": "$CARD2"}}`,
		`{"column_id": "$COL2", "position": {"before": "$CARD2"}}`,
		`{"position": {"after": "$CARD"}}`,
		`{"column_id": "$FCOL"}`,
		`{"position": {"after": "$FCARD", "before": "$CARD2"}}`,
		`{"position": {"to": "bottom"}}`,
		`{}`,
	} {
		f.Add(s)
	}
	w := newFuzzWorld(f)
	path := "/api/boards/" + w.b.ID + "/cards/" + w.card.ID + "/move"
	f.Fuzz(func(t *testing.T, body string) {
		w.check(t, "POST", path, w.expand(body))
	})
}

func FuzzBoardAndColumnBodies(f *testing.F) {
	for _, s := range []struct {
		route uint8
		body  string
	}{
		{0, `{"name": "b", "description": "d"}`},
		{0, `{"name": ""}`},
		{1, `{"name": "renamed"}`},
		{1, `{"description": null}`},
		{2, `{"name": "c", "position": {"before": "$COL"}}`},
		{2, `{"name": "c", "position": {"after": "$FCOL"}}`},
		{3, `{"name": "renamed"}`},
		{3, `{"name": 1}`},
		{4, `{"position": {"after": "$COL2"}}`},
		{4, `{"position": {"before": "$CARD"}}`},
	} {
		f.Add(s.route, s.body)
	}
	w := newFuzzWorld(f)
	B := "/api/boards/" + w.b.ID
	routes := []struct{ method, path string }{
		{"POST", "/api/boards"},
		{"PATCH", B},
		{"POST", B + "/columns"},
		{"PATCH", B + "/columns/" + w.col.ID},
		{"POST", B + "/columns/" + w.col.ID + "/move"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := routes[int(route)%len(routes)]
		w.check(t, rt.method, rt.path, w.expand(body))
	})
}

func FuzzQueries(f *testing.F) {
	for _, s := range [][3]string{
		{"0", "10", ""},
		{"-1", "", "move"},
		{"", "1000", "delete"},
		{"9223372036854775807", "0", "move"},
		{"1e3", "1001", "keep"},
		{" 1", "0x10", ""},
	} {
		f.Add(s[0], s[1], s[2], "$COL2")
	}
	w := newFuzzWorld(f)
	B := "/api/boards/" + w.b.ID
	f.Fuzz(func(t *testing.T, since, limit, cards, to string) {
		q := url.Values{}
		if since != "" {
			q.Set("since", since)
		}
		if limit != "" {
			q.Set("limit", limit)
		}
		r := w.check(t, "GET", B+"/events?"+q.Encode(), nil)
		if r.Status != http.StatusOK && r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("events?%s: %v", q.Encode(), r)
		}
		// A column with a card to delete, with fuzzed choices.
		e := w.e.with(t)
		col := e.mkColumn(alice, w.b.ID, "doomed")
		e.mkCard(alice, w.b.ID, col.ID, "doomed card")
		q = url.Values{}
		if cards != "" {
			q.Set("cards", cards)
		}
		if to != "" {
			q.Set("to", w.expand(to))
		}
		w.check(t, "DELETE", B+"/columns/"+col.ID+"?"+q.Encode(), nil)
	})
}
