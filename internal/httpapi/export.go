package httpapi

import (
	"context"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

// exportBoard answers the board with everything on it as one JSON document
// (board.Export), to download, streamed a card at a time (so without a
// Content-Length); a failure midway abandons the response.
func (a *API) exportBoard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	x, err := a.store.ExportBoard(r.Context(), userFrom(r.Context()), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="board-`+id+`.json"`)
	w.WriteHeader(http.StatusOK)
	if err := x.WriteJSON(w); err != nil {
		panic(http.ErrAbortHandler)
	}
}

// importBoard creates a board owned by the caller from a Corkboard export or
// a Trello board export, all or nothing.
func (a *API) importBoard(w http.ResponseWriter, r *http.Request) {
	body := bodyFrom(r)
	if len(body) == 0 {
		a.writeError(w, r, board.Errorf(board.EMalformed, "a JSON body is required"))
		return
	}
	x, err := board.ParseImport(body)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string { return "/api/boards/" + v.(board.Board).ID }
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.ImportBoard(ctx, m, x)
	})
}
