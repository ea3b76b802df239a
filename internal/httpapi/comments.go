package httpapi

import (
	"context"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

// commentsPath is where a card's comments live.
func commentsPath(boardID, cardID string) string {
	return "/api/boards/" + boardID + "/cards/" + cardID + "/comments"
}

func (a *API) listComments(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	list, err := a.store.ListComments(r.Context(), userFrom(r.Context()), boardID, cardID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"comments": list})
}

func (a *API) createComment(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.CommentInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string { c := v.(board.Comment); return commentsPath(c.BoardID, c.CardID) + "/" + c.ID }
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.CreateComment(ctx, m, boardID, cardID, in)
	})
}

// commentIDs reads the {board}, {card} and {comment} path ids.
func commentIDs(r *http.Request) (boardID, cardID, commentID string, err error) {
	if boardID, cardID, err = boardAnd(r, "card"); err == nil {
		commentID, err = pathID(r, "comment")
	}
	return boardID, cardID, commentID, err
}

func (a *API) updateComment(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, commentID, err := commentIDs(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.CommentInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.UpdateComment(ctx, m, boardID, cardID, commentID, in, ifVersion)
	})
}

func (a *API) deleteComment(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, commentID, err := commentIDs(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		ev, err := a.store.DeleteComment(ctx, m, boardID, cardID, commentID, ifVersion)
		return nil, ev, err
	})
}
