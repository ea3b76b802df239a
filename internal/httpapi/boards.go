package httpapi

import (
	"context"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

func (a *API) listBoards(w http.ResponseWriter, r *http.Request) {
	boards, err := a.store.ListBoards(r.Context(), userFrom(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"boards": boards})
}

func (a *API) createBoard(w http.ResponseWriter, r *http.Request) {
	var in board.BoardInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string { return "/api/boards/" + v.(board.Board).ID }
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.CreateBoard(ctx, m, in)
	})
}

func (a *API) updateBoard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	raw, err := patchFields(r, "name", "description")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var p board.BoardPatch
	if p.Name, err = patchValue[string](raw, "name"); err == nil {
		p.Description, err = patchValue[string](raw, "description")
	}
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.UpdateBoard(ctx, m, id, p, ifVersion)
	})
}

func (a *API) deleteBoard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		ev, err := a.store.DeleteBoard(ctx, m, id, ifVersion)
		return nil, ev, err
	})
}

// eventsPage is one page of a board's log.
type eventsPage struct {
	Events []board.Event `json:"events"`
	Seq    int64         `json:"seq"`  // the board's current seq
	Next   int64         `json:"next"` // pass as since for the next page
	More   bool          `json:"more"` // whether events after Next exist
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	since, err := queryInt(r, "since", 0, 0, 1<<62)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", 100, 1, board.MaxEventsPageLimit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx, err := minSeq(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	events, head, err := a.store.Events(ctx, userFrom(ctx), id, since, int(limit))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	next := since
	if n := len(events); n > 0 {
		next = events[n-1].Seq
	}
	writeJSON(w, http.StatusOK, eventsPage{Events: events, Seq: head, Next: next, More: next < head})
}

// minSeq returns the request's context, asking the store with ?min_seq=N to
// read a state that includes the board's event N (the Board-Seq of the
// client's own write), however far behind a read replica is.
func minSeq(r *http.Request) (context.Context, error) {
	n, err := queryInt(r, "min_seq", 0, 0, 1<<62)
	if err != nil || n == 0 {
		return r.Context(), err
	}
	return board.WithMinSeq(r.Context(), n), nil
}
