package httpapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// DefaultHeavyReads is how many heavy reads (a board's snapshot, a page of
// its events, its export) one user may have running at once on an instance
// unless Options.HeavyReads says otherwise. Each may hold a megabyte or
// more while it is encoded; beyond the cap, a read is answered 429 at once.
const DefaultHeavyReads = 4

// heavyRetryAfter is the Retry-After of a heavy read refused: the others
// of the user are usually done by then.
const heavyRetryAfter = time.Second

// heavyReads counts each user's heavy reads running on this instance.
type heavyReads struct {
	max     int
	mu      sync.Mutex
	running map[string]int // user → reads running; users with none are deleted
}

func (h *heavyReads) acquire(user string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running[user] >= h.max {
		return false
	}
	h.running[user]++
	return true
}

func (h *heavyReads) release(user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running[user]--; h.running[user] <= 0 {
		delete(h.running, user)
	}
}

// heavy admits a heavy read if its user has fewer than the cap running, and
// answers 429 rate_limited with Retry-After otherwise.
func (a *API) heavy(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user := userFrom(r.Context())
		if !a.heavyReads.acquire(user) {
			a.writeError(w, r, &board.Error{Code: board.ERateLimited, RetryAfter: heavyRetryAfter,
				Message: "too many snapshots, event pages or exports at once: wait for the others"})
			return
		}
		defer a.heavyReads.release(user)
		next(w, r)
	}
}
