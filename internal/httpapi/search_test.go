package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// searchAnswer is the body of GET /api/search.
type searchAnswer struct {
	Results []board.SearchResult `json:"results"`
	Next    *string              `json:"next_cursor"`
}

func searchPath(q string, params ...string) string {
	v := url.Values{"q": {q}}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	return "/api/search?" + v.Encode()
}

// search runs a search as c and returns the ids of the cards found, in
// order, and the answer.
func search(t *testing.T, c *apitest.Client, q string, params ...string) ([]string, searchAnswer) {
	t.Helper()
	var a searchAnswer
	c.With(t).MustOK("GET", searchPath(q, params...), nil, &a)
	ids := []string{}
	for _, r := range a.Results {
		ids = append(ids, r.CardID)
	}
	return ids, a
}

// searchWorld: alice owns board A, bob owns B (alice a viewer of it),
// carol owns C; each has a card about a falcon, and A an archived one and
// one whose comment (only) mentions the falcon.
type searchWorld struct {
	e                         *authEnv
	alice, bob, carol, dave   *apitest.Client
	boardA, boardB, boardC    string
	cardA, cardB, cardC, talk string
}

func newSearchWorld(t *testing.T) *searchWorld {
	e := newAuthEnv(t, apitest.Options{})
	w := &searchWorld{e: e}
	client := func(name string) *apitest.Client {
		return e.Client(apitest.Cred{Cookie: e.Signup(name).Session})
	}
	w.alice, w.bob, w.carol, w.dave = client("alice"), client("bob"), client("carol"), client("dave")
	mk := func(c *apitest.Client, name, title string) (string, string, string) {
		b := c.NewBoard(name)
		col := c.NewColumn(b.ID, "Todo")
		return b.ID, col.ID, c.NewCard(b.ID, col.ID, title).ID
	}
	var colA string
	w.boardA, colA, w.cardA = mk(w.alice, "Birds", "Feed the falcon")
	w.boardB, _, w.cardB = mk(w.bob, "Zoo", "Falcon enclosure repair")
	w.boardC, _, w.cardC = mk(w.carol, "Secret", "The falcon plan")
	w.bob.AddMember(w.boardB, "alice", board.RoleViewer)

	old := w.alice.NewCard(w.boardA, colA, "Old falcon photos")
	w.alice.MustOK("POST", "/api/boards/"+w.boardA+"/cards/"+old.ID+"/archive", nil, nil)
	w.talk = w.alice.NewCard(w.boardA, colA, "Weekly meeting").ID
	w.alice.MustOK("POST", "/api/boards/"+w.boardA+"/cards/"+w.talk+"/comments",
		map[string]string{"text": "bring the falcon pictures"}, nil)
	return w
}

// TestSearchPermissions: a user finds the cards of every board they are a
// member of and of no other, not even right after being removed from one;
// archived cards are not found; board= limits to one board and is a 404
// for a board the caller is not a member of.
func TestSearchPermissions(t *testing.T) {
	t.Parallel()
	w := newSearchWorld(t)

	cases := []struct {
		who    string
		c      *apitest.Client
		params []string
		want   []string
	}{
		{"alice", w.alice, nil, []string{w.cardA, w.cardB, w.talk}},
		{"alice on A", w.alice, []string{"board", w.boardA}, []string{w.cardA, w.talk}},
		{"alice on B", w.alice, []string{"board", w.boardB}, []string{w.cardB}},
		{"bob", w.bob, nil, []string{w.cardB}},
		{"carol", w.carol, nil, []string{w.cardC}},
		{"dave", w.dave, nil, nil},
	}
	for _, tc := range cases {
		got, _ := search(t, tc.c, "falcon", tc.params...)
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s finds %v, want %v", tc.who, got, want)
		}
	}
	for _, tc := range []struct {
		who   string
		c     *apitest.Client
		board string
	}{{"alice", w.alice, w.boardC}, {"dave", w.dave, w.boardA}, {"bob", w.bob, "00000000-0000-4000-8000-000000000000"}} {
		apitest.CheckProblem(t, tc.c.Do("GET", searchPath("falcon", "board", tc.board), nil), http.StatusNotFound, board.ENotFound)
	}
	apitest.CheckProblem(t, w.e.Client(apitest.Cred{}).Do("GET", searchPath("falcon"), nil),
		http.StatusUnauthorized, board.EUnauthenticated)

	// Right after bob removes alice from B, none of B's cards.
	w.bob.MustOK("DELETE", "/api/boards/"+w.boardB+"/members/"+userID(t, w.alice), nil, nil)
	got, _ := search(t, w.alice, "falcon")
	if slices.Contains(got, w.cardB) {
		t.Errorf("alice still finds B's card right after her removal: %v", got)
	}
	apitest.CheckProblem(t, w.alice.Do("GET", searchPath("falcon", "board", w.boardB), nil), http.StatusNotFound, board.ENotFound)
	// And a card bob adds now is not hers to find either.
	colB := w.bob.Snapshot(w.boardB).Columns[0].ID
	w.bob.NewCard(w.boardB, colB, "Second falcon")
	if got, _ := search(t, w.alice, "falcon"); len(got) != 2 {
		t.Errorf("alice finds %v after her removal, want A's two cards", got)
	}
}

// TestSearchRemovalRace: searches running while alice is removed from B
// return B's cards only from searches that began before the removal
// committed; every search after it returns none.
func TestSearchRemovalRace(t *testing.T) {
	t.Parallel()
	w := newSearchWorld(t)
	alice := userID(t, w.alice)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.bob.Do("DELETE", "/api/boards/"+w.boardB+"/members/"+alice, nil)
	}()
	removed := false
	for i := 0; i < 200 && !removed; i++ {
		select {
		case <-done:
			removed = true
		default:
		}
		got, _ := search(t, w.alice, "falcon")
		if removed && slices.Contains(got, w.cardB) {
			t.Fatalf("a search begun after the removal answered found B's card: %v", got)
		}
	}
	<-done
	for range 5 {
		if got, _ := search(t, w.alice, "falcon"); slices.Contains(got, w.cardB) {
			t.Fatalf("after the removal alice finds B's card: %v", got)
		}
	}
}

func userID(t *testing.T, c *apitest.Client) string {
	t.Helper()
	var me board.User
	c.With(t).MustOK("GET", "/api/auth/me", nil, &me)
	return me.ID
}

// TestSearchRanking: a word in the title ranks above the same word in the
// description, which ranks above it in a comment only; words stem
// ("releases" finds "release"); highlights mark the matched words in
// plain text.
func TestSearchRanking(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})
	c := e.Client(apitest.Cred{Cookie: e.Signup("rita").Session})
	b := c.NewBoard("Launch")
	col := c.NewColumn(b.ID, "Todo")
	card := func(title, desc string) string {
		k := c.NewCard(b.ID, col.ID, title)
		if desc != "" {
			c.MustOK("PATCH", "/api/boards/"+b.ID+"/cards/"+k.ID, map[string]string{"description": desc}, nil)
		}
		return k.ID
	}
	inComment := card("Weekly sync", "Agenda to follow.")
	c.MustOK("POST", "/api/boards/"+b.ID+"/cards/"+inComment+"/comments",
		map[string]string{"text": "The release date moved again"}, nil)
	inDesc := card("Check the numbers", "Before the release, check the staging numbers <b>twice</b>.")
	inTitle := card("Release notes", "Write them.")
	card("Unrelated", "Nothing to see here")

	got, a := search(t, c, "releases")
	if want := []string{inTitle, inDesc, inComment}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want title, description, comment match %v", got, want)
	}
	for i := 1; i < len(a.Results); i++ {
		if a.Results[i].Score > a.Results[i-1].Score {
			t.Errorf("scores not descending: %v", a.Results)
		}
	}
	// Highlights: text parts, the matched word marked; no markup added, the
	// description's own "<b>" kept as text.
	hl := func(r board.SearchResult, field string) string {
		for _, h := range r.Highlights {
			if h.Field == field {
				var s strings.Builder
				for _, p := range h.Parts {
					if p.Match {
						s.WriteString("[" + p.Text + "]")
					} else {
						s.WriteString(p.Text)
					}
				}
				return s.String()
			}
		}
		return ""
	}
	if got := hl(a.Results[0], "title"); got != "[Release] notes" {
		t.Errorf("title highlight %q", got)
	}
	if got := hl(a.Results[1], "description"); !strings.Contains(got, "the [release], check") || !strings.Contains(got, "<b>twice</b>") {
		t.Errorf("description highlight %q", got)
	}
	if got := hl(a.Results[2], "comment"); got != "The [release] date moved again" {
		t.Errorf("comment highlight %q", got)
	}
	if r := a.Results[0]; r.BoardName != "Launch" || r.ColumnName != "Todo" || r.BoardID != b.ID {
		t.Errorf("result %+v: want board Launch, column Todo", r)
	}
	// Web-search syntax: a phrase, an exclusion.
	if got, _ := search(t, c, `"staging numbers"`); !slices.Equal(got, []string{inDesc}) {
		t.Errorf(`"staging numbers" finds %v`, got)
	}
	if got, _ := search(t, c, `release -notes`); slices.Contains(got, inTitle) || len(got) != 2 {
		t.Errorf(`release -notes finds %v`, got)
	}
}

// TestSearchPaging: pages of a result set follow one another with each
// card once, the last without a cursor; a cursor not made by the server is
// a 422.
func TestSearchPaging(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})
	c := e.Client(apitest.Cred{Cookie: e.Signup("paula").Session})
	b := c.NewBoard("Many")
	col := c.NewColumn(b.ID, "Todo")
	all := map[string]bool{}
	for i := range 25 {
		// Some with the word twice: not every score is equal.
		title := fmt.Sprintf("Invoice %d", i)
		if i%3 == 0 {
			title += " invoice"
		}
		all[c.NewCard(b.ID, col.ID, title).ID] = true
	}
	c.NewCard(b.ID, col.ID, "Receipt")
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		params := []string{"limit", "10"}
		if cursor != "" {
			params = append(params, "cursor", cursor)
		}
		ids, a := search(t, c, "invoice", params...)
		if want := []int{10, 10, 5}[min(page, 2)]; len(ids) != want {
			t.Fatalf("page %d has %d results, want %d", page, len(ids), want)
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("card %s on two pages", id)
			}
			seen[id] = true
		}
		if a.Next == nil {
			break
		}
		if page == 2 {
			t.Fatal("a cursor after the last page")
		}
		cursor = *a.Next
	}
	if len(seen) != len(all) {
		t.Errorf("paging found %d cards, want %d", len(seen), len(all))
	}
	for _, bad := range []string{"x", "AAAA", strings.Repeat("A", 60), "%%%"} {
		apitest.CheckProblem(t, c.Do("GET", searchPath("invoice", "cursor", bad), nil), http.StatusUnprocessableEntity, board.EInvalid)
	}
}

// searchCorpus are queries a search box may receive: each is a harmless
// search (200) or a clear 422, never a 500.
var searchCorpus = []string{
	"!&|:*()", "a:*", "a & b", "!a", "a | | b", "((a", "a)", "'", "''", `\`, `"`, `"unclosed`, "-", "--a", "or", "a or",
	"or or or", "<->", "a <-> b", "a <2> b", ":*", "*", "&&&&", "|||", "!!!", "()", "a:A", "a:*B", "the", "and",
	"🦅 falcon", "naïve café", "日本語", "select * from cards;", "%", "_", "%_%", "a\tb", "\x00", "\x01", "\xff\xfe",
	strings.Repeat("(", 200), strings.Repeat("a ", 100), strings.Repeat("x", 10000), strings.Repeat("!&|:*()", 28),
}

// TestSearchBadQueries: a query too long, blank or with control characters
// is a 422 naming q; any other text is a search; bad limits are 422s.
func TestSearchBadQueries(t *testing.T) {
	t.Parallel()
	w := newSearchWorld(t)
	for _, q := range searchCorpus {
		r := w.alice.Do("GET", searchPath(q), nil)
		switch {
		case r.Status == http.StatusOK:
			var a searchAnswer
			if err := json.Unmarshal(r.Body, &a); err != nil || a.Results == nil {
				t.Errorf("q=%.40q: %v (%v)", q, r, err)
			}
		case r.Status == http.StatusUnprocessableEntity:
			if p := apitest.CheckProblem(t, r, http.StatusUnprocessableEntity, board.EInvalid); p.Field != "q" {
				t.Errorf("q=%.40q: problem names %q, want q", q, p.Field)
			}
		default:
			t.Errorf("q=%.40q: %v", q, r)
		}
	}
	for _, q := range []string{strings.Repeat("x", 10000), strings.Repeat("é", board.MaxSearchQuery+1), "", "   ", "a\x00b", "a\x01b", "\xff"} {
		apitest.CheckProblem(t, w.alice.Do("GET", searchPath(q), nil), http.StatusUnprocessableEntity, board.EInvalid)
	}
	if got, _ := search(t, w.alice, "!&|:*() falcon"); len(got) != 3 {
		t.Errorf("falcon among tsquery operators finds %v, want alice's 3 cards", got)
	}
	for _, p := range [][]string{{"limit", "0"}, {"limit", "101"}, {"limit", "x"}, {"board", "nope"}} {
		apitest.CheckProblem(t, w.alice.Do("GET", searchPath("falcon", p...), nil), http.StatusUnprocessableEntity, board.EInvalid)
	}
	apitest.CheckProblem(t, w.alice.Do("GET", "/api/search", nil), http.StatusUnprocessableEntity, board.EInvalid)
}

// FuzzSearch: whatever the query, the answer is 200 or 422.
func FuzzSearch(f *testing.F) {
	for _, q := range searchCorpus {
		f.Add(q)
	}
	e := newAuthEnv(f, apitest.Options{})
	c := e.Client(apitest.Cred{Cookie: e.Signup("fuzzy").Session})
	b := c.NewBoard("Fuzz")
	col := c.NewColumn(b.ID, "Todo")
	c.NewCard(b.ID, col.ID, "A falcon: fast & (very) !loud | ok")
	f.Fuzz(func(t *testing.T, q string) {
		r, err := c.Send("GET", searchPath(q), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusOK && r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("q=%q: %v", q, r)
		}
	})
}
