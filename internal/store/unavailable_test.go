package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corkboard/corkboard/internal/board"
)

// TestUnavailableTranslation: what says the database cannot serve now is
// EUnavailable with a Retry-After and its cause; the request's own errors,
// a client that went away and a misconfiguration are not.
func TestUnavailableTranslation(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("insert card: %w", &pgconn.PgError{Code: code}) }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{pg("08006"), true}, // connection_failure
		{pg("57P01"), true}, // admin_shutdown
		{pg("57P03"), true}, // cannot_connect_now
		{pg("53300"), true}, // too_many_connections
		{pg("55P03"), true}, // lock_timeout
		{pg("57014"), true}, // statement_timeout
		{pg("25P03"), true}, // idle_in_transaction_session_timeout
		{pg("40001"), true},
		{pg("40P01"), true},
		{fmt.Errorf("begin: %w", refused), true},
		{io.ErrUnexpectedEOF, true},
		{pgconn.ErrConnClosed, true},
		{context.DeadlineExceeded, true},
		{errors.New("closed pool"), true},
		{pg("23505"), false}, // unique_violation: the request's
		{pg("28P01"), false}, // invalid_password: a misconfiguration, a real 500
		{pg("42P01"), false}, // undefined_table: a bug
		{pgx.ErrNoRows, false},
		{fmt.Errorf("read: %w", context.Canceled), false}, // the client went away
		{board.Errorf(board.ENotFound, "no such card"), false},
		{nil, false},
	} {
		got := unavailable(tc.err)
		var be *board.Error
		isUnavail := errors.As(got, &be) && be.Code == board.EUnavailable
		if isUnavail != tc.want {
			t.Errorf("%v: unavailable = %v, want %v", tc.err, isUnavail, tc.want)
			continue
		}
		if !tc.want && got != tc.err {
			t.Errorf("%v: changed to %v", tc.err, got)
		}
		if tc.want && (be.RetryAfter <= 0 || !errors.Is(got, errors.Unwrap(tc.err)) && !errors.Is(got, tc.err)) {
			t.Errorf("%v: %+v lacks a Retry-After or its cause", tc.err, be)
		}
	}
}
