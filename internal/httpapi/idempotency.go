package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// settleTimeout bounds the release or completion of a key after its request
// ended; it runs detached from the request, whose client may be gone.
const settleTimeout = 5 * time.Second

// idempotent makes unsafe requests with an Idempotency-Key safe to retry. The
// first request with a key claims it and runs; its outcome is stored (for a
// success, the mutation's result, in the mutation's own transaction; for a
// failure, the response) and every replay of the same request gets the same
// response again with Idempotent-Replayed: true. The same key on a different
// request is 422, and a replay while the first is still in flight is 409.
// Keys are scoped to the caller and expire.
//
// After a request that did not complete its key (a 5xx, or a client that
// went away), the key is released under a context detached from the
// request, so a retry runs at once; the release waits for the request's
// transaction if its COMMIT is still unanswered, and keeps the key if it
// committed after all.
func (a *API) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if !printableASCII(key, 200) {
			writeProblem(w, r, board.FieldError(board.EInvalid, "Idempotency-Key", "must be 1-200 printable ASCII characters"))
			return
		}
		caller := userFrom(r.Context())
		h := sha256.New()
		h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
		h.Write(bodyFrom(r))
		if isUpload(r) {
			// The file is streamed, not read first: its length stands
			// for it (with its name, in the URI).
			fmt.Fprintf(h, "upload of %d bytes", r.ContentLength)
		}
		ctx := r.Context()
		call := &board.IdempotentCall{Caller: caller, Key: key}
		stored, err := a.store.ClaimIdempotencyKey(ctx, call, h.Sum(nil), a.idemTTL)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if stored != nil {
			w.Header().Set("Idempotent-Replayed", "true")
			if stored.Result == nil {
				var resp Response
				if err := json.Unmarshal(stored.Response, &resp); err != nil {
					a.writeError(w, r, fmt.Errorf("decode stored response: %w", err))
					return
				}
				writeResponse(w, resp)
				return
			}
			// A committed mutation: the handler renders its result again.
			call.Replay = stored.Result
			next.ServeHTTP(w, r.WithContext(board.WithIdempotentCall(ctx, call)))
			return
		}
		st := &idempotentRequest{}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(board.WithIdempotentCall(ctx, call), idempotentKey{}, st)))
		settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer cancel()
		switch {
		case rec.status >= 500 || rec.status == 0 || (rec.status < 400 && !st.mutation):
			// Nothing committed (or the commit's answer was lost, which the
			// release waits out): let a retry run the request again. Nor
			// is there a response to replay for a success that is not a
			// board mutation (the account routes: an API token's secret
			// must not be stored), so the key does not hold such a request.
			if err := a.store.ReleaseIdempotencyKey(settle, call); err != nil {
				a.log.ErrorContext(ctx, "release idempotency key", "err", err)
			}
		case rec.status >= 400:
			// Nothing committed either, but the answer is final: store it.
			resp := Response{Status: rec.status, Body: rec.body.Bytes(), Header: map[string]string{}}
			for _, k := range []string{"Content-Type", "ETag"} {
				if v := rec.Header().Get(k); v != "" {
					resp.Header[k] = v
				}
			}
			data, err := json.Marshal(resp)
			if err == nil {
				err = a.store.CompleteIdempotencyKey(settle, call, data)
			}
			if err != nil {
				a.log.ErrorContext(ctx, "complete idempotency key", "err", err)
			}
		}
		// A success completed its key when it committed.
	})
}

// idempotentRequest is what the idempotent middleware learns from the
// handler of a request with a claimed key.
type idempotentRequest struct {
	mutation bool // the handler ran a store mutation, which completes the key
}

type idempotentKey struct{}

func idempotentFrom(ctx context.Context) *idempotentRequest {
	st, _ := ctx.Value(idempotentKey{}).(*idempotentRequest)
	return st
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

// jsonBytes is the JSON of a response body: board.MarshalJSON, without HTML
// escaping (bodies are application/json).
func jsonBytes(v any) ([]byte, error) { return board.MarshalJSON(v) }
