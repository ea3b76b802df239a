package ws

import "time"

// SetLateAfter sets how long the front of h's run queue may wait before the
// pool's last worker joins (0: every batch finds delivery late).
func SetLateAfter(h *Handler, d time.Duration) {
	h.pool.mu.Lock()
	h.pool.late = d
	h.pool.mu.Unlock()
}

// PeakWriters is the most workers h's pool has had at once.
func PeakWriters(h *Handler) int {
	h.pool.mu.Lock()
	defer h.pool.mu.Unlock()
	return h.pool.peak
}
