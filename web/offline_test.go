package web

import (
	"testing"
)

// TestOfflineQueue runs the offline queue's logic (static/js/change-queue.js) in
// Node against a fake server that applies each Idempotency-Key once and
// limits requests as the real one does (testdata/offline-queue.mjs):
// changes queued while offline survive a reload and drain in order, an
// ambiguous failure is retried with the same key and applies once,
// temporary ids map to real ones, a refused create refuses what depends on
// it while the text is kept, 500 changes drain with no 429 (and a 429 or
// 503 is waited out as Retry-After says), a key still in flight or a 5xx is
// sent again, a refusal while live goes back to the page, and a 401 stops
// the queue and keeps what waits.
func TestOfflineQueue(t *testing.T) {
	runNode(t, "change-queue.js", "testdata/offline-queue.mjs")
}
