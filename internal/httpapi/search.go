package httpapi

import (
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

// searchPage is the body of GET /api/search.
type searchPage struct {
	Results []board.SearchResult `json:"results"`
	Next    *string              `json:"next_cursor"` // null on the last page
}

// search answers GET /api/search?q=&board=&limit=&cursor=: the cards of the
// caller's boards that match q, best first (see Store.Search). A heavy read.
func (a *API) search(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	limit, err := queryInt(r, "limit", board.DefaultSearchLimit, 1, board.MaxSearchLimit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sq := board.SearchQuery{Text: query.Get("q"), Board: query.Get("board"), Limit: int(limit)}
	if c := query.Get("cursor"); c != "" {
		cur, err := board.ParseSearchCursor(c)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		sq.After = &cur
	}
	if err := sq.Check(); err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := a.store.Search(r.Context(), userFrom(r.Context()), sq)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := searchPage{Results: page.Results}
	if page.Next != nil {
		s := page.Next.String()
		out.Next = &s
	}
	writeJSON(w, http.StatusOK, out)
}
