package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// SecurityHeaders sets the headers every response carries: a Content
// Security Policy without inline script, no sniffing, no framing, and no
// referrer leaks.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// CrossOriginProtection refuses cross-site unsafe requests (CSRF) from
// browsers, by their Sec-Fetch-Site and Origin headers; same-origin requests,
// the trusted origins (scheme://host[:port]) and non-browser clients pass.
func CrossOriginProtection(trusted []string) (func(http.Handler) http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	for _, o := range trusted {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, err
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, board.Errorf(board.EForbidden, "cross-origin request refused"))
	}))
	return cop.Handler, nil
}

// limitUser limits the requests of each authenticated user.
func (a *API) limitUser(next http.Handler) http.Handler {
	return a.limit(next, func(r *http.Request) string { return "user:" + userFrom(r.Context()) })
}

// limitAnonymous limits the requests of each client address (IPv6 by /64).
func (a *API) limitAnonymous(next http.Handler) http.Handler {
	return a.limit(next, a.addrKey)
}

// LimitUpgrade makes WebSocket upgrades (GET /api/ws) draw on the budgets
// of REST requests: a refused credential on the client address's (401, then
// 429 once spent), an accepted one on its user's (429 once spent). An
// address that has spent its budget is refused before its credential is
// looked up, so a flood of bogus upgrades costs no database work. Refusals
// are problem documents; the wrapped handler identifies the caller again.
func (a *API) LimitUpgrade(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		addr := a.addrKey(r)
		if spent, wait := a.limiter.Spent(addr, now); spent {
			a.writeError(w, r, &board.Error{Code: board.ERateLimited, Message: "too many requests: slow down", RetryAfter: wait})
			return
		}
		p, err := a.identifyOrLimit(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if ok, wait := a.limiter.Allow("user:"+p.UserID, now); !ok {
			a.writeError(w, r, &board.Error{Code: board.ERateLimited, Message: "too many requests: slow down", RetryAfter: wait})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) limit(next http.Handler, key func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := a.limiter.Allow(key(r), time.Now()); !ok {
			a.writeError(w, r, &board.Error{Code: board.ERateLimited, Message: "too many requests: slow down",
				RetryAfter: wait})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// retryAfter renders a wait as Retry-After seconds (at least 1).
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
