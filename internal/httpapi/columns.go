package httpapi

import (
	"context"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

func (a *API) createColumn(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.ColumnInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string { c := v.(board.Column); return "/api/boards/" + c.BoardID + "/columns/" + c.ID }
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.CreateColumn(ctx, m, id, in)
	})
}

func (a *API) updateColumn(w http.ResponseWriter, r *http.Request) {
	boardID, colID, err := boardAnd(r, "column")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	raw, err := patchFields(r, "name")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var p board.ColumnPatch
	if p.Name, err = patchValue[string](raw, "name"); err == nil {
		err = p.Validate()
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.UpdateColumn(ctx, m, boardID, colID, p, ifVersion)
	})
}

func (a *API) moveColumn(w http.ResponseWriter, r *http.Request) {
	boardID, colID, err := boardAnd(r, "column")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var mv struct {
		Position board.Position `json:"position"`
	}
	if err := decodeJSON(r, &mv); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := mv.Position.Validate("position"); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.MoveColumn(ctx, m, boardID, colID, mv.Position, ifVersion)
	})
}

func (a *API) deleteColumn(w http.ResponseWriter, r *http.Request) {
	boardID, colID, err := boardAnd(r, "column")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	d := board.ColumnDelete{Cards: q.Get("cards"), To: q.Get("to")}
	if err := d.Validate(); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		ev, err := a.store.DeleteColumn(ctx, m, boardID, colID, d, ifVersion)
		return nil, ev, err
	})
}
