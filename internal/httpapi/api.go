// Package httpapi is Corkboard's JSON REST API under /api, on chi. Handlers
// parse the request, call the store, publish the committed event, and either
// write a problem document or encode the result.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// Store is what the API needs of the database layer (see package store for
// the contracts).
type Store interface {
	CreateBoard(ctx context.Context, m board.Meta, in board.BoardInput) (board.Board, board.Event, error)
	ListBoards(ctx context.Context, user string) ([]board.Board, error)
	Snapshot(ctx context.Context, user, boardID string) (board.Snapshot, error)
	UpdateBoard(ctx context.Context, m board.Meta, boardID string, p board.BoardPatch, ifVersion int64) (board.Board, board.Event, error)
	DeleteBoard(ctx context.Context, m board.Meta, boardID string, ifVersion int64) (board.Event, error)
	Events(ctx context.Context, user, boardID string, since int64, limit int) ([]board.Event, int64, error)

	CreateColumn(ctx context.Context, m board.Meta, boardID string, in board.ColumnInput) (board.Column, board.Event, error)
	UpdateColumn(ctx context.Context, m board.Meta, boardID, colID string, p board.ColumnPatch, ifVersion int64) (board.Column, board.Event, error)
	MoveColumn(ctx context.Context, m board.Meta, boardID, colID string, p board.Position, ifVersion int64) (board.Column, board.Event, error)
	DeleteColumn(ctx context.Context, m board.Meta, boardID, colID string, d board.ColumnDelete, ifVersion int64) (board.Event, error)

	GetCard(ctx context.Context, user, boardID, cardID string) (board.Card, error)
	CreateCard(ctx context.Context, m board.Meta, boardID string, in board.CardInput) (board.Card, board.Event, error)
	UpdateCard(ctx context.Context, m board.Meta, boardID, cardID string, p board.CardPatch, ifVersion int64) (board.Card, board.Event, error)
	MoveCard(ctx context.Context, m board.Meta, boardID, cardID string, mv board.CardMove, ifVersion int64) (board.Card, board.Event, error)
	SetArchived(ctx context.Context, m board.Meta, boardID, cardID string, archived bool, ifVersion int64) (board.Card, board.Event, error)
	DeleteCard(ctx context.Context, m board.Meta, boardID, cardID string, ifVersion int64) (board.Event, error)

	ClaimIdempotencyKey(ctx context.Context, caller, key string, hash []byte, ttl time.Duration) (*board.Response, error)
	CompleteIdempotencyKey(ctx context.Context, caller, key string, resp board.Response) error
	ReleaseIdempotencyKey(ctx context.Context, caller, key string) error
}

// Publisher takes committed events to their subscribers. Publish must not
// block on subscribers.
type Publisher interface {
	Publish(ctx context.Context, e board.Event)
}

// Options configure the API.
type Options struct {
	Store          Store
	Publisher      Publisher     // nil: events are not published
	Logger         *slog.Logger  // nil: slog.Default()
	IdempotencyTTL time.Duration // how long an Idempotency-Key is remembered; 0: 24h
}

// API serves /api.
type API struct {
	store   Store
	pub     Publisher
	log     *slog.Logger
	idemTTL time.Duration
}

// New returns the API.
func New(o Options) *API {
	a := &API{store: o.Store, pub: o.Publisher, log: o.Logger, idemTTL: o.IdempotencyTTL}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.idemTTL == 0 {
		a.idemTTL = 24 * time.Hour
	}
	return a
}

// Routes is the whole API tree, to mount at /api.
func (a *API) Routes() chi.Router {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, board.Errorf(board.ENotFound, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, &board.Error{Code: "method_not_allowed", Message: r.Method + " is not allowed here"})
	})
	r.Use(readBody, identify, a.idempotent)

	r.Get("/boards", a.listBoards)
	r.Post("/boards", a.createBoard)
	r.Route("/boards/{board}", func(r chi.Router) {
		r.Get("/", a.getSnapshot)
		r.Patch("/", a.updateBoard)
		r.Delete("/", a.deleteBoard)
		r.Get("/events", a.listEvents)

		r.Post("/columns", a.createColumn)
		r.Patch("/columns/{column}", a.updateColumn)
		r.Post("/columns/{column}/move", a.moveColumn)
		r.Delete("/columns/{column}", a.deleteColumn)

		r.Post("/cards", a.createCard)
		r.Get("/cards/{card}", a.getCard)
		r.Patch("/cards/{card}", a.updateCard)
		r.Post("/cards/{card}/move", a.moveCard)
		r.Post("/cards/{card}/archive", a.archiveCard)
		r.Post("/cards/{card}/unarchive", a.unarchiveCard)
		r.Delete("/cards/{card}", a.deleteCard)
	})
	return r
}

func urlParam(r *http.Request, name string) string { return chi.URLParam(r, name) }

type userKey struct{}

// userIDPattern is what a user id may look like until accounts exist.
var userIDPattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// identify takes the caller's user id from the X-User header. It stands in
// for accounts and sessions, which replace it; until then any client may
// claim any id, so the API must only be exposed to trusted networks.
func identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := r.Header.Get("X-User")
		if u == "" {
			writeProblem(w, r, board.Errorf(board.EUnauthenticated, "say who you are in the X-User header"))
			return
		}
		if !userIDPattern.MatchString(u) {
			writeProblem(w, r, board.FieldError(board.EInvalid, "X-User", "must be 1-64 of A-Z a-z 0-9 . _ @ -"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

// userFrom returns the caller's user id.
func userFrom(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

var opIDPattern = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)

// meta describes the caller of a mutation: the user and the client's X-Op-Id
// (printable ASCII, at most 64 characters), which the event carries back.
func meta(r *http.Request) (board.Meta, error) {
	op := r.Header.Get("X-Op-Id")
	if op != "" && !opIDPattern.MatchString(op) {
		return board.Meta{}, board.FieldError(board.EInvalid, "X-Op-Id", "must be 1-64 printable ASCII characters")
	}
	return board.Meta{Actor: userFrom(r.Context()), OpID: op}, nil
}

// mutation runs one store call for a handler.
type mutation func(ctx context.Context, m board.Meta, ifVersion int64) (result any, ev board.Event, err error)

// mutate runs call, the store mutation of a handler, and answers with status
// and the result (204 when status is 204). The response is rendered once:
// inside the store's transaction when the request has an Idempotency-Key, so
// the key's stored response is exactly what the client gets. The event is
// published after the commit.
func (a *API) mutate(w http.ResponseWriter, r *http.Request, status int, location func(any) string, call mutation) {
	m, err := meta(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ifVersion, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	render := func(result any) (board.Response, error) { return renderResult(status, location, result) }
	ctx := r.Context()
	if c := board.IdempotentCallFrom(ctx); c != nil {
		c.Render = render
	}
	result, ev, err := call(ctx, m, ifVersion)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if a.pub != nil {
		a.pub.Publish(context.WithoutCancel(ctx), ev)
	}
	resp, err := render(result)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeResponse(w, resp)
}

func renderResult(status int, location func(any) string, result any) (board.Response, error) {
	resp := board.Response{Status: status, Header: map[string]string{}}
	if v, ok := versionOf(result); ok {
		resp.Header["ETag"] = etag(v)
	}
	if location != nil {
		resp.Header["Location"] = location(result)
	}
	if status == http.StatusNoContent {
		return resp, nil
	}
	body, err := jsonBytes(result)
	if err != nil {
		return board.Response{}, err
	}
	resp.Header["Content-Type"] = "application/json"
	resp.Body = body
	return resp, nil
}

func writeResponse(w http.ResponseWriter, resp board.Response) {
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body) //nolint:errcheck // the client may be gone
}
