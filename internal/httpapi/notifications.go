package httpapi

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// NotificationStore is what the notification routes need of the database
// (see package store). Every method is scoped to user: a user sees and
// marks only their own notifications, of boards they are a member of.
type NotificationStore interface {
	ListNotifications(ctx context.Context, user, order, cursor string, limit int) ([]board.Notification, string, error)
	UnreadNotifications(ctx context.Context, user string) (int, error)
	MarkNotificationRead(ctx context.Context, user string, id int64) error
	MarkAllNotificationsRead(ctx context.Context, user string) (int64, error)
	BoardMuted(ctx context.Context, user, boardID string) (bool, error)
	SetBoardMuted(ctx context.Context, user, boardID string, muted bool) error
}

// Limits of the notification routes.
const (
	maxNotificationsPage = 100 // ?limit
	maxMarkRead          = 100 // ids in one mark-read request
)

// notificationRoutes are the caller's notifications; the board's mute is
// under the board.
func (a *API) notificationRoutes(r chi.Router) {
	r.Get("/notifications", a.listNotifications)
	r.Get("/notifications/unread", a.unreadNotifications)
	r.Post("/notifications/read", a.markNotificationsRead)
}

func (a *API) notificationsOrNotFound(w http.ResponseWriter, r *http.Request) NotificationStore {
	if a.notifications == nil {
		a.writeError(w, r, board.Errorf(board.ENotFound, "notifications are not available"))
	}
	return a.notifications
}

type notificationsPage struct {
	Notifications []board.Notification `json:"notifications"`
	Next          string               `json:"next_cursor,omitempty"`
	Unread        int                  `json:"unread"`
}

func (a *API) listNotifications(w http.ResponseWriter, r *http.Request) {
	ns := a.notificationsOrNotFound(w, r)
	if ns == nil {
		return
	}
	q := r.URL.Query()
	order := q.Get("order")
	switch order {
	case "":
		order = "unread"
	case "unread", "newest":
	default:
		a.writeError(w, r, board.FieldError(board.EInvalid, "order", "must be unread or newest"))
		return
	}
	limit, err := queryInt(r, "limit", 20, 1, maxNotificationsPage)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	cursor := q.Get("cursor")
	if len(cursor) > 64 {
		a.writeError(w, r, board.FieldError(board.EInvalid, "cursor", "not a cursor this list gave"))
		return
	}
	user := userFrom(r.Context())
	list, next, err := ns.ListNotifications(r.Context(), user, order, cursor, int(limit))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	unread, err := ns.UnreadNotifications(r.Context(), user)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, notificationsPage{Notifications: list, Next: next, Unread: unread})
}

func (a *API) unreadNotifications(w http.ResponseWriter, r *http.Request) {
	ns := a.notificationsOrNotFound(w, r)
	if ns == nil {
		return
	}
	n, err := ns.UnreadNotifications(r.Context(), userFrom(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"unread": n})
}

// markNotificationsRead marks the notifications named by ids read, or all
// of them with "all": true. Ids that are not the caller's (or of a board
// they lost) are skipped: "read" counts those marked.
func (a *API) markNotificationsRead(w http.ResponseWriter, r *http.Request) {
	ns := a.notificationsOrNotFound(w, r)
	if ns == nil {
		return
	}
	var in struct {
		IDs []int64 `json:"ids"`
		All bool    `json:"all"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	switch {
	case in.All && len(in.IDs) > 0:
		a.writeError(w, r, board.FieldError(board.EInvalid, "ids", "give ids or all, not both"))
		return
	case !in.All && len(in.IDs) == 0:
		a.writeError(w, r, board.FieldError(board.EInvalid, "ids", "give the ids to mark read, or all: true"))
		return
	case len(in.IDs) > maxMarkRead:
		a.writeError(w, r, board.FieldError(board.EInvalid, "ids", "at most %d at once", maxMarkRead))
		return
	}
	ctx, user := r.Context(), userFrom(r.Context())
	var read int64
	if in.All {
		n, err := ns.MarkAllNotificationsRead(ctx, user)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		read = n
	}
	for _, id := range in.IDs {
		err := ns.MarkNotificationRead(ctx, user, id)
		switch board.ErrorCode(err) {
		case "":
			read++
		case board.ENotFound:
		default:
			a.writeError(w, r, err)
			return
		}
	}
	unread, err := ns.UnreadNotifications(ctx, user)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if a.userSink != nil {
		// The user's other pages update their badge.
		data, _ := board.MarshalJSON(map[string]any{"ids": in.IDs, "all": in.All, "unread": unread})
		a.userSink.Deliver(context.WithoutCancel(ctx), []board.UserMessage{{User: user, Kind: board.UserNotifications, Data: data}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"read": read, "unread": unread})
}

func (a *API) getMute(w http.ResponseWriter, r *http.Request) {
	ns := a.notificationsOrNotFound(w, r)
	if ns == nil {
		return
	}
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	muted, err := ns.BoardMuted(r.Context(), userFrom(r.Context()), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"muted": muted})
}

func (a *API) setMute(muted bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns := a.notificationsOrNotFound(w, r)
		if ns == nil {
			return
		}
		id, err := pathID(r, "board")
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if err := ns.SetBoardMuted(r.Context(), userFrom(r.Context()), id, muted); err != nil {
			a.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"muted": muted})
	}
}
