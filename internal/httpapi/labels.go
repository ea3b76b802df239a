package httpapi

import (
	"context"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

// labelsPath is where a board's labels live.
func labelsPath(boardID string) string { return "/api/boards/" + boardID + "/labels" }

func (a *API) listLabels(w http.ResponseWriter, r *http.Request) {
	boardID, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	list, err := a.store.ListLabels(r.Context(), userFrom(r.Context()), boardID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"labels": list})
}

func (a *API) createLabel(w http.ResponseWriter, r *http.Request) {
	boardID, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.LabelInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string { l := v.(board.Label); return labelsPath(l.BoardID) + "/" + l.ID }
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.CreateLabel(ctx, m, boardID, in)
	})
}

func (a *API) updateLabel(w http.ResponseWriter, r *http.Request) {
	boardID, labelID, err := boardAnd(r, "label")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var p board.LabelPatch
	if err := decodeValid(r, &p); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.UpdateLabel(ctx, m, boardID, labelID, p, ifVersion)
	})
}

func (a *API) deleteLabel(w http.ResponseWriter, r *http.Request) {
	boardID, labelID, err := boardAnd(r, "label")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		ev, err := a.store.DeleteLabel(ctx, m, boardID, labelID, ifVersion)
		return nil, ev, err
	})
}
