package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

// HTTP-only error codes: the router and the body decoder answer with them;
// nothing below the HTTP edge does.
const (
	EMethodNotAllowed = "method_not_allowed"
	EUnsupportedMedia = "unsupported_media_type" // a body that is not application/json
)

// ErrorStatus is the HTTP status of an error code: the one table every
// transport uses (REST problems here, WebSocket upgrade refusals in package
// ws). An unknown code is 500.
func ErrorStatus(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// statusOf maps each error code to its one HTTP status.
var statusOf = map[string]int{
	board.EMalformed:          http.StatusBadRequest,
	board.EInvalid:            http.StatusUnprocessableEntity,
	board.ETooLarge:           http.StatusRequestEntityTooLarge,
	board.ENotFound:           http.StatusNotFound,
	board.EConflict:           http.StatusConflict,
	board.EVersionMismatch:    http.StatusPreconditionFailed,
	board.EIdempotencyReused:  http.StatusUnprocessableEntity,
	board.EIdempotencyPending: http.StatusConflict,
	board.ESinceExpired:       http.StatusGone,
	board.EUnauthenticated:    http.StatusUnauthorized,
	board.EForbidden:          http.StatusForbidden,
	board.ERateLimited:        http.StatusTooManyRequests,
	board.EUnavailable:        http.StatusServiceUnavailable,
	board.EInternal:           http.StatusInternalServerError,
	EMethodNotAllowed:         http.StatusMethodNotAllowed,
	EUnsupportedMedia:         http.StatusUnsupportedMediaType,
}

// Problem is an RFC 9457 problem document with Corkboard's stable code, the
// offending field for validation errors, and the current representation of
// the resource for a failed If-Match.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
	Instance string `json:"instance,omitempty"`
	Current  any    `json:"current,omitempty"`
}

// problemFor renders err as a problem document. Internal errors say nothing
// of their cause.
func problemFor(r *http.Request, err error) Problem {
	code := board.ErrorCode(err)
	status := ErrorStatus(code)
	p := Problem{
		Type:     "https://corkboard.dev/problems/" + code,
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   board.ErrorMessage(err),
		Code:     code,
		Instance: r.URL.Path,
	}
	var e *board.Error
	if errors.As(err, &e) {
		p.Field, p.Current = e.Field, e.Current
	}
	return p
}

// writeError writes err as a problem document (see WriteProblem) and logs
// it if it is the server's: internal errors, and at warn an unavailable
// database. The rest are the client's, and a request whose client has gone
// away is logged at debug only.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := board.ErrorCode(err)
	attrs := []any{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err)}
	switch {
	case r.Context().Err() != nil:
		a.log.DebugContext(r.Context(), "client went away", attrs...)
	case code == board.EUnavailable:
		a.log.WarnContext(r.Context(), "request failed: unavailable", attrs...)
	case ErrorStatus(code) >= 500:
		a.log.ErrorContext(r.Context(), "request failed", attrs...)
	}
	WriteProblem(w, r, err)
}

// WriteProblem writes err as application/problem+json with the status of
// its code (ErrorStatus), Retry-After when the error carries one, and the
// current version's ETag for a failed If-Match.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(r, err)
	var be *board.Error
	if errors.As(err, &be) && be.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfter(be.RetryAfter))
	}
	if p.Code == board.EVersionMismatch {
		if v, ok := versionOf(p.Current); ok {
			w.Header().Set("ETag", etag(v))
		}
	}
	body, _ := board.MarshalJSON(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	w.Write(body) //nolint:errcheck // the client may be gone
}

// writeJSON writes v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := board.MarshalJSON(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client may be gone
}

// writeSnapshot writes snap with status 200: the bytes writeJSON would
// write, made by board.Snapshot.WriteJSON in a fraction of the time and
// streamed a chunk at a time, never whole in memory (so without a
// Content-Length). If it fails midway (the client gone, or a time JSON
// cannot express), the response is abandoned: a client must not take a
// truncated snapshot for a whole one.
func writeSnapshot(w http.ResponseWriter, snap board.Snapshot) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if err := snap.WriteJSON(w); err != nil {
		panic(http.ErrAbortHandler)
	}
}
