package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corkboard/corkboard/internal/board"
)

// RetryAfter is how long a client is told to wait before retrying a request
// that met an unreachable database or a busy board.
const RetryAfter = time.Second

// unavailable translates err into board.EUnavailable (with RetryAfter and err
// as its cause) when it says the database cannot be reached or did not
// answer in time, rather than that the request was wrong: a refused or timed
// out connection, a connection lost mid-statement, a server shutting down or
// starting, a lock not granted within lock_timeout, a statement cancelled by
// statement_timeout, a session ended by idle_in_transaction_session_timeout,
// or a serialization failure or deadlock. Nothing a request does commits
// unless its COMMIT answered, so each of these changed nothing that was
// acknowledged. Other errors (nil, *board.Error, a cancelled context: the
// client is gone) are returned as they are.
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var be *board.Error
	if errors.As(err, &be) {
		return err
	}
	if !isUnavailable(err) {
		return err
	}
	msg := "the database is unavailable: nothing was changed; retry shortly"
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" {
		msg = "the board is busy: nothing was changed; retry shortly"
	}
	return &board.Error{Code: board.EUnavailable, Message: msg, RetryAfter: RetryAfter, Err: err}
}

func isUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),  // insufficient resources (too many connections)
			strings.HasPrefix(pgErr.Code, "57P"), // admin shutdown, crash shutdown, cannot connect now
			pgErr.Code == "55P03",                // lock_not_available: lock_timeout
			pgErr.Code == "57014",                // query_canceled: statement_timeout
			pgErr.Code == "25P03",                // idle_in_transaction_session_timeout
			pgErr.Code == "40001",                // serialization_failure
			pgErr.Code == "40P01":                // deadlock_detected
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		isClosedPool(err)
}

// isClosedPool: pgxpool reports an acquire from a closed pool (during a
// shutdown) with puddle's unexported-by-pgx error "closed pool".
func isClosedPool(err error) bool { return strings.Contains(err.Error(), "closed pool") }
