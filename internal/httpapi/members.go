package httpapi

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/corkboard/corkboard/internal/board"
)

func (a *API) listMembers(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	members, err := a.store.ListMembers(r.Context(), userFrom(r.Context()), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": members})
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in struct {
		Username string `json:"username"`
		Role     string `json:"role"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	in.Username = board.NormalizeUsername(in.Username)
	if err := board.CheckUsername(in.Username); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := board.CheckRole(in.Role); err != nil {
		a.writeError(w, r, err)
		return
	}
	// Every invitation takes from the inviter's budget, and one that finds
	// its user gives it back: only unknown usernames spend it, and once it
	// is spent every invitation is refused alike, telling nothing.
	key := "invite:" + userFrom(r.Context())
	take, err := a.budgets.TakeBudget(r.Context(), key, a.invites)
	if err == nil && !take.OK {
		err = &board.Error{Code: board.ERateLimited, RetryAfter: take.Wait,
			Message: "too many invitations of unknown usernames: wait a little"}
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusCreated, nil, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		mem, ev, err := a.store.AddMember(ctx, m, id, in.Username, in.Role)
		if board.ErrorCode(err) != board.ENotFound {
			if gerr := a.budgets.GiveBudget(context.WithoutCancel(ctx), key, a.invites); gerr != nil {
				a.log.ErrorContext(ctx, "give back an invitation attempt", "err", gerr)
			}
		}
		return mem, ev, err
	})
}

// memberPath reads the {board} and {user} path ids.
func memberPath(r *http.Request) (string, string, error) {
	b, err := pathID(r, "board")
	if err != nil {
		return "", "", err
	}
	// A path segment may decode to bytes that are not text (invalid UTF-8,
	// NUL), which PostgreSQL refuses: no member has such an id.
	u := urlParam(r, "user")
	if u == "" || len(u) > board.MaxUserIDLen || !utf8.ValidString(u) || strings.ContainsRune(u, 0) {
		return "", "", board.FieldError(board.ENotFound, "user", "no such member")
	}
	return b, u, nil
}

func (a *API) updateMember(w http.ResponseWriter, r *http.Request) {
	boardID, userID, err := memberPath(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := board.CheckRole(in.Role); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.UpdateMember(ctx, m, boardID, userID, in.Role)
	})
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request) {
	boardID, userID, err := memberPath(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	// The committer ends the member's live subscription to the board.
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		ev, err := a.store.RemoveMember(ctx, m, boardID, userID)
		return nil, ev, err
	})
}
