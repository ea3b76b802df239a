package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
)

// The WebSocket endpoint (package ws) answers a refused upgrade with its
// own small status table (401, 400, 500), so an upgrade met by an
// unreachable database would tell the page to log in again. Until ws uses
// httpapi's table itself, upgradeRefusals routes its refusals through it:
// identify remembers the error that refused the request, and the
// middleware, when the endpoint then writes its refusal, writes
// httpapi.WriteProblem's instead (503 + Retry-After for EUnavailable).
// When ws calls httpapi.WriteProblem for refusals, both go.
type refusalKey struct{}

func refusalIdentify(identify func(*http.Request) (board.Principal, error)) func(*http.Request) (board.Principal, error) {
	return func(r *http.Request) (board.Principal, error) {
		p, err := identify(r)
		if ref, ok := r.Context().Value(refusalKey{}).(*atomic.Pointer[error]); ok && err != nil {
			ref.Store(&err)
		}
		return p, err
	}
}

func upgradeRefusals(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := new(atomic.Pointer[error])
		r = r.WithContext(context.WithValue(r.Context(), refusalKey{}, ref))
		next.ServeHTTP(&refusalWriter{ResponseWriter: w, r: r, ref: ref}, r)
	})
}

type refusalWriter struct {
	http.ResponseWriter
	r        *http.Request
	ref      *atomic.Pointer[error]
	replaced bool
}

func (w *refusalWriter) WriteHeader(code int) {
	if err := w.ref.Load(); err != nil && code >= 400 && !w.replaced {
		w.replaced = true
		httpapi.WriteProblem(w.ResponseWriter, w.r, *err)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *refusalWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // the endpoint's body, replaced
	}
	return w.ResponseWriter.Write(b)
}

func (w *refusalWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
