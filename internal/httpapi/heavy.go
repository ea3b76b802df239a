package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// DefaultHeavyReads is how many heavy reads (a board's snapshot, a page of
// its events, its export, a search) one user may have running at once on an instance
// unless Options.HeavyReads says otherwise. Each may hold a megabyte or
// more while it is encoded. A read beyond the cap waits up to heavyWait for
// one of the user's others to end, and is then answered 429.
const DefaultHeavyReads = 4

// heavyWait is how long a heavy read waits for a turn before it is refused.
const heavyWait = 2 * time.Second

// heavyRetryAfter is the Retry-After of a heavy read refused.
const heavyRetryAfter = time.Second

// heavyReads counts each user's heavy reads running on this instance.
type heavyReads struct {
	max   int
	mu    sync.Mutex
	users map[string]*userReads // users with reads running or waiting
}

// userReads are one user's heavy reads: a slot in running for each one
// running; refs counts those running and waiting (the entry goes at 0).
type userReads struct {
	running chan struct{}
	refs    int
}

// acquire takes a turn for a heavy read of user, waiting up to heavyWait
// (or until ctx ends). It reports whether it got one; release gives it
// back.
func (h *heavyReads) acquire(ctx context.Context, user string) bool {
	h.mu.Lock()
	u := h.users[user]
	if u == nil {
		u = &userReads{running: make(chan struct{}, h.max)}
		h.users[user] = u
	}
	u.refs++
	h.mu.Unlock()
	select {
	case u.running <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(heavyWait)
	defer t.Stop()
	select {
	case u.running <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	h.unref(user, u)
	return false
}

func (h *heavyReads) release(user string) {
	h.mu.Lock()
	u := h.users[user]
	h.mu.Unlock()
	<-u.running
	h.unref(user, u)
}

func (h *heavyReads) unref(user string, u *userReads) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if u.refs--; u.refs == 0 {
		delete(h.users, user)
	}
}

// heavy admits a heavy read once its user has fewer than the cap running
// (waiting up to heavyWait), and answers 429 rate_limited with Retry-After
// otherwise.
func (a *API) heavy(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user := userFrom(r.Context())
		if !a.heavyReads.acquire(r.Context(), user) {
			a.writeError(w, r, &board.Error{Code: board.ERateLimited, RetryAfter: heavyRetryAfter,
				Message: "too many snapshots, event pages, exports or searches at once: wait for the others"})
			return
		}
		defer a.heavyReads.release(user)
		next(w, r)
	}
}
