package httpapi

import (
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

// listActivity answers GET /boards/{board}/activity?card=&before=&limit=: a
// page of the board's activity, or of one of its cards', newest first
// (board.ActivityPage). Any member may read it.
func (a *API) listActivity(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var q board.ActivityQuery
	if q.Card = r.URL.Query().Get("card"); q.Card != "" {
		if err := board.CheckID("card", q.Card); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	before, err := queryInt(r, "before", 0, 0, 1<<62)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", board.DefaultActivityLimit, 1, board.MaxActivityLimit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q.Before, q.Limit = before, int(limit)
	page, err := a.store.Activity(r.Context(), userFrom(r.Context()), id, q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
