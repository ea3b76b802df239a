package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

func (a *API) createCard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.CardInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string { c := v.(board.Card); return "/api/boards/" + c.BoardID + "/cards/" + c.ID }
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.CreateCard(ctx, m, id, in)
	})
}

func (a *API) getCard(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.store.GetCard(r.Context(), userFrom(r.Context()), boardID, cardID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, http.StatusOK, c)
}

// cardPatch reads a card PATCH body: only the members present change; due
// may be null to clear it.
func cardPatch(r *http.Request) (board.CardPatch, error) {
	raw, err := patchFields(r, "title", "description", "labels", "due", "assignees", "done", "cover")
	if err != nil {
		return board.CardPatch{}, err
	}
	var p board.CardPatch
	steps := []func() error{
		func() (err error) { p.Title, err = patchValue[string](raw, "title"); return },
		func() (err error) { p.Description, err = patchValue[string](raw, "description"); return },
		func() (err error) { p.Labels, err = patchValue[[]string](raw, "labels"); return },
		func() (err error) { p.Assignees, err = patchValue[[]string](raw, "assignees"); return },
		func() (err error) { p.Done, err = patchValue[bool](raw, "done"); return },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return board.CardPatch{}, err
		}
	}
	if due, ok := raw["due"]; ok {
		p.DueSet = true
		if err := json.Unmarshal(due, &p.Due); err != nil {
			return board.CardPatch{}, board.FieldError(board.EInvalid, "due", "must be a date as YYYY-MM-DD or null")
		}
	}
	if cover, ok := raw["cover"]; ok {
		p.CoverSet = true
		if err := json.Unmarshal(cover, &p.Cover); err != nil {
			return board.CardPatch{}, board.FieldError(board.EInvalid, "cover", "must be an attachment id or null")
		}
	}
	return p, p.Validate()
}

func (a *API) updateCard(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := cardPatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.UpdateCard(ctx, m, boardID, cardID, p, ifVersion)
	})
}

func (a *API) moveCard(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var mv board.CardMove
	if err := decodeValid(r, &mv); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.MoveCard(ctx, m, boardID, cardID, mv, ifVersion)
	})
}

func (a *API) archiveCard(w http.ResponseWriter, r *http.Request)   { a.setArchived(w, r, true) }
func (a *API) unarchiveCard(w http.ResponseWriter, r *http.Request) { a.setArchived(w, r, false) }

func (a *API) setArchived(w http.ResponseWriter, r *http.Request, archived bool) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(bodyFrom(r)) > 0 {
		a.writeError(w, r, board.Errorf(board.EInvalid, "this request takes no body"))
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.SetArchived(ctx, m, boardID, cardID, archived, ifVersion)
	})
}

func (a *API) deleteCard(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		ev, err := a.store.DeleteCard(ctx, m, boardID, cardID, ifVersion)
		return nil, ev, err
	})
}
