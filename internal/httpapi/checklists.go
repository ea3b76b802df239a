package httpapi

import (
	"context"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

// checklistsPath is where a card's checklists live.
func checklistsPath(boardID, cardID string) string {
	return "/api/boards/" + boardID + "/cards/" + cardID + "/checklists"
}

// checklistIDs reads the {board}, {card} and {checklist} path ids, and
// {item} when item is true.
func checklistIDs(r *http.Request, item bool) (boardID, cardID, listID, itemID string, err error) {
	if boardID, cardID, err = boardAnd(r, "card"); err != nil {
		return
	}
	if listID, err = pathID(r, "checklist"); err != nil || !item {
		return
	}
	itemID, err = pathID(r, "item")
	return
}

func (a *API) listChecklists(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	lists, err := a.store.ListChecklists(r.Context(), userFrom(r.Context()), boardID, cardID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"checklists": lists})
}

func (a *API) createChecklist(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.ChecklistInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string { c := v.(board.Checklist); return checklistsPath(c.BoardID, c.CardID) + "/" + c.ID }
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.CreateChecklist(ctx, m, boardID, cardID, in)
	})
}

func (a *API) renameChecklist(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, listID, _, err := checklistIDs(r, false)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.ChecklistInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.RenameChecklist(ctx, m, boardID, cardID, listID, in, ifVersion)
	})
}

func (a *API) deleteChecklist(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, listID, _, err := checklistIDs(r, false)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		ev, err := a.store.DeleteChecklist(ctx, m, boardID, cardID, listID, ifVersion)
		return nil, ev, err
	})
}

func (a *API) createItem(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, listID, _, err := checklistIDs(r, false)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.ItemInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string {
		it := v.(board.ChecklistItem)
		return checklistsPath(boardID, it.CardID) + "/" + it.ChecklistID + "/items/" + it.ID
	}
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.CreateItem(ctx, m, boardID, cardID, listID, in)
	})
}

func (a *API) updateItem(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, listID, itemID, err := checklistIDs(r, true)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	raw, err := patchFields(r, "text", "done")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var p board.ItemPatch
	if p.Text, err = patchValue[string](raw, "text"); err == nil {
		p.Done, err = patchValue[bool](raw, "done")
	}
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.UpdateItem(ctx, m, boardID, cardID, listID, itemID, p, ifVersion)
	})
}

func (a *API) moveItem(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, listID, itemID, err := checklistIDs(r, true)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var mv board.ItemMove
	if err := decodeValid(r, &mv); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.MoveItem(ctx, m, boardID, cardID, listID, itemID, mv, ifVersion)
	})
}

func (a *API) deleteItem(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, listID, itemID, err := checklistIDs(r, true)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		ev, err := a.store.DeleteItem(ctx, m, boardID, cardID, listID, itemID, ifVersion)
		return nil, ev, err
	})
}
