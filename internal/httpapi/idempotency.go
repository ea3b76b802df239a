package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/corkboard/corkboard/internal/board"
)

var idempotencyKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`)

// idempotent makes unsafe requests with an Idempotency-Key safe to retry. The
// first request with a key claims it and runs; its response is stored (for a
// success, in the mutation's own transaction) and every replay of the same
// request gets that response again with Idempotent-Replayed: true. The same
// key on a different request is 422, and a replay while the first is still in
// flight is 409. Keys are scoped to the caller and expire.
func (a *API) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if !idempotencyKeyPattern.MatchString(key) {
			writeProblem(w, r, board.FieldError(board.EInvalid, "Idempotency-Key", "must be 1-200 printable ASCII characters"))
			return
		}
		caller := userFrom(r.Context())
		h := sha256.New()
		h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
		h.Write(bodyFrom(r))
		ctx := r.Context()
		stored, err := a.store.ClaimIdempotencyKey(ctx, caller, key, h.Sum(nil), a.idemTTL)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if stored != nil {
			w.Header().Set("Idempotent-Replayed", "true")
			writeResponse(w, *stored)
			return
		}
		call := &board.IdempotentCall{Caller: caller, Key: key}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(board.WithIdempotentCall(ctx, call)))
		switch {
		case rec.status >= 500 || rec.status == 0 || (rec.status < 400 && call.Render == nil):
			// Nothing committed: let a retry run the request again. Nor is
			// there a response to replay for a success that is not a board
			// mutation (the account routes: an API token's secret must not
			// be stored), so the key does not hold such a request.
			if err := a.store.ReleaseIdempotencyKey(ctx, caller, key); err != nil {
				a.log.ErrorContext(ctx, "release idempotency key", "err", err)
			}
		case rec.status >= 400:
			// Nothing committed either, but the answer is final: store it.
			resp := board.Response{Status: rec.status, Body: rec.body.Bytes(), Header: map[string]string{}}
			for _, k := range []string{"Content-Type", "ETag"} {
				if v := rec.Header().Get(k); v != "" {
					resp.Header[k] = v
				}
			}
			if err := a.store.CompleteIdempotencyKey(ctx, caller, key, resp); err != nil {
				a.log.ErrorContext(ctx, "complete idempotency key", "err", err)
			}
		}
		// A success completed its key when it committed.
	})
}

// recorder passes a response through and keeps its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }
