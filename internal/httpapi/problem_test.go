package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
)

// TestUnavailableProblem: an unreachable database (EUnavailable, as the
// store reports it) is a 503 problem with code unavailable and a
// Retry-After, its cause kept out of the answer; ErrorStatus, the one table
// every transport reads, says 503 too.
func TestUnavailableProblem(t *testing.T) {
	if got := httpapi.ErrorStatus(board.EUnavailable); got != http.StatusServiceUnavailable {
		t.Errorf("ErrorStatus(unavailable) = %d", got)
	}
	if got := httpapi.ErrorStatus("no such code"); got != http.StatusInternalServerError {
		t.Errorf("ErrorStatus of an unknown code = %d", got)
	}
	cause := fmt.Errorf("dial tcp 10.0.0.7:5432: connect: connection refused")
	err := fmt.Errorf("create card: %w", &board.Error{Code: board.EUnavailable, Message: "the database is unavailable",
		RetryAfter: time.Second, Err: cause})
	rec := httptest.NewRecorder()
	httpapi.WriteProblem(rec, httptest.NewRequest("POST", "/api/boards/x/cards", nil), err)
	var p httpapi.Problem
	if jerr := json.Unmarshal(rec.Body.Bytes(), &p); jerr != nil {
		t.Fatal(jerr)
	}
	if rec.Code != 503 || p.Status != 503 || p.Code != board.EUnavailable || rec.Header().Get("Retry-After") != "1" ||
		rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("%d %v %+v", rec.Code, rec.Header(), p)
	}
	if p.Detail != "the database is unavailable" {
		t.Errorf("detail %q tells more than it should", p.Detail)
	}
}
