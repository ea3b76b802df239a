package auth

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// hasher bounds the argon2id work of a process: each hash takes Params.Memory
// (19 MiB by default) and a core for tens of milliseconds, so at most max run
// at once; a caller waits at most wait for a turn, then is refused with
// EUnavailable and a Retry-After.
type hasher struct {
	slots chan struct{}
	wait  time.Duration

	inFlight atomic.Int64
	peak     atomic.Int64
	refused  atomic.Int64
}

func newHasher(max int, wait time.Duration) *hasher {
	return &hasher{slots: make(chan struct{}, max), wait: wait}
}

// do runs f in a slot. It returns EUnavailable when no slot freed within the
// wait, and the context's error when ctx ended first (f not run either way).
func (h *hasher) do(ctx context.Context, f func()) error {
	select {
	case h.slots <- struct{}{}:
	default:
		t := time.NewTimer(h.wait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-t.C:
			h.refused.Add(1)
			return &board.Error{Code: board.EUnavailable, Message: "too many logins at once: try again in a moment",
				RetryAfter: time.Second}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-h.slots }()
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	f()
	return nil
}

// HashStats describe the password hashing of a Service.
type HashStats struct {
	Max      int   // the bound on hashes at once
	InFlight int64 // hashing now
	Peak     int64 // the most at once so far
	Refused  int64 // callers refused after waiting for a turn
}

// HashStats returns the service's hashing figures (for metrics and tests).
func (s *Service) HashStats() HashStats {
	return HashStats{Max: cap(s.hash.slots), InFlight: s.hash.inFlight.Load(), Peak: s.hash.peak.Load(),
		Refused: s.hash.refused.Load()}
}
