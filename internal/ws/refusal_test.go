package ws

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
)

// TestRefusalStatus: an upgrade refused with a code answers the problem REST
// gives that code (one table, httpapi.ErrorStatus; Retry-After when the
// error carries one).
func TestRefusalStatus(t *testing.T) {
	for code, want := range map[string]int{
		board.EInvalid:         http.StatusUnprocessableEntity,
		board.EMalformed:       http.StatusBadRequest,
		board.EUnauthenticated: http.StatusUnauthorized,
		board.EForbidden:       http.StatusForbidden,
		board.ERateLimited:     http.StatusTooManyRequests,
		board.EInternal:        http.StatusInternalServerError,
		board.EUnavailable:     http.StatusServiceUnavailable,
	} {
		rec := httptest.NewRecorder()
		httpapi.WriteProblem(rec, httptest.NewRequest(http.MethodGet, "/api/ws", nil), board.Errorf(code, "refused"))
		if rec.Code != want || rec.Code != httpapi.ErrorStatus(code) {
			t.Errorf("%s: status %d, want %d (REST: %d)", code, rec.Code, want, httpapi.ErrorStatus(code))
		}
		var p struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Code != code ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: body %s (%v)", code, rec.Body, err)
		}
	}
}
