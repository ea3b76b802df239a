package board

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are stable: clients see them as the `code` of a problem
// document or a WebSocket error frame. httpapi.ErrorStatus maps each to one
// HTTP status (httpapi adds the codes only HTTP has).
const (
	EMalformed          = "malformed"        // not parseable: bad JSON, bad UTF-8, bad header syntax
	EInvalid            = "invalid"          // well-formed but unacceptable input (names the field)
	ETooLarge           = "too_large"        // a body or a field over its limit
	ENotFound           = "not_found"        // no such thing, or not visible to the caller
	EConflict           = "conflict"         // the request cannot apply to the current state
	EVersionMismatch    = "version_mismatch" // If-Match named a stale version
	EIdempotencyReused  = "idempotency_key_reused"
	EIdempotencyPending = "idempotency_in_progress"
	ESinceExpired       = "since_expired" // a log position older than the retained log: reload the snapshot
	EUnauthenticated    = "unauthenticated"
	EForbidden          = "forbidden"
	ERateLimited        = "rate_limited" // too many requests; Retry-After says when to come back
	EInternal           = "internal"
	EUnavailable        = "unavailable" // overloaded, the database unreachable or the board busy: nothing changed; Retry-After says when to retry
)

// Error is an error with a code a client can act on. Field names the offending
// input field for EInvalid/ETooLarge; Current carries the current
// representation for EVersionMismatch; Err is the cause, for logs (an
// EUnavailable error wraps the database's).
type Error struct {
	Code       string
	Message    string
	Field      string
	Current    any
	RetryAfter time.Duration // for ERateLimited and EUnavailable
	Err        error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EInvalid (or the given code) error naming a field.
func FieldError(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-facing message of err: the message of its
// *Error, or a generic text for internal errors (whose details stay in logs).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
