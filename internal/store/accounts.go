package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// CreateUser creates a user with a password hash; EConflict when the
// username is taken.
func (s *Store) CreateUser(ctx context.Context, username, passwordHash string) (board.User, error) {
	var u board.User
	err := s.pool.QueryRow(ctx, `
		INSERT INTO users (username, password_hash) VALUES ($1, $2)
		RETURNING id::text, username, created_at`, username, passwordHash).Scan(&u.ID, &u.Username, &u.CreatedAt)
	if isUniqueViolation(err) {
		return board.User{}, board.FieldError(board.EConflict, "username", "is taken")
	}
	if err != nil {
		return board.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UserCredentials returns a user and its password hash by username;
// ENotFound when there is none.
func (s *Store) UserCredentials(ctx context.Context, username string) (board.User, string, error) {
	var u board.User
	var hash string
	err := s.pool.QueryRow(ctx, `
		SELECT id::text, username, created_at, password_hash FROM users WHERE username = $1`, username).
		Scan(&u.ID, &u.Username, &u.CreatedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return board.User{}, "", board.Errorf(board.ENotFound, "no such user")
	}
	if err != nil {
		return board.User{}, "", fmt.Errorf("read user: %w", err)
	}
	return u, hash, nil
}

// PasswordHash returns the password hash of a user.
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", board.Errorf(board.ENotFound, "no such user")
	}
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return hash, nil
}

// SetPassword replaces a user's password hash and, in the same
// transaction, ends every session of the user but keep (which may be empty)
// and revokes every API token of the user. It returns how many sessions and
// tokens it ended.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash, keep string) (sessions, tokens int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1`,
			userID, passwordHash); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id::text <> $2`, userID, keep)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		sessions = tag.RowsAffected()
		if tag, err = tx.Exec(ctx, `DELETE FROM api_tokens WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("revoke api tokens: %w", err)
		}
		tokens = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return sessions, tokens, nil
}

// CreateSession stores a session by the hash of its secret.
func (s *Store) CreateSession(ctx context.Context, userID string, tokenHash []byte, userAgent, ip string, ttl time.Duration) (board.Session, error) {
	var ses board.Session
	err := s.pool.QueryRow(ctx, `
		INSERT INTO sessions (token_hash, user_id, user_agent, ip, expires_at)
		VALUES ($1, $2, $3, $4, now() + $5::interval)
		RETURNING id::text, user_agent, ip, created_at, last_seen_at, expires_at`,
		tokenHash, userID, userAgent, ip, ttl).
		Scan(&ses.ID, &ses.UserAgent, &ses.IP, &ses.CreatedAt, &ses.LastSeenAt, &ses.ExpiresAt)
	if err != nil {
		return board.Session{}, fmt.Errorf("create session: %w", err)
	}
	return ses, nil
}

// SessionPrincipal returns who holds the unexpired session with this secret
// hash, and notes that it was seen (at most once a minute);
// EUnauthenticated otherwise.
func (s *Store) SessionPrincipal(ctx context.Context, tokenHash []byte) (board.Principal, error) {
	var p board.Principal
	err := s.pool.QueryRow(ctx, `
		WITH s AS (
			UPDATE sessions SET last_seen_at = now()
			WHERE token_hash = $1 AND expires_at > now() AND last_seen_at < now() - interval '1 minute'
			RETURNING id, user_id)
		SELECT ses.id::text, u.id::text, u.username FROM sessions ses JOIN users u ON u.id = ses.user_id
		WHERE ses.token_hash = $1 AND ses.expires_at > now()`, tokenHash).Scan(&p.SessionID, &p.UserID, &p.Username)
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Principal{}, board.Errorf(board.EUnauthenticated, "the session has ended: log in again")
	}
	if err != nil {
		return board.Principal{}, fmt.Errorf("read session: %w", err)
	}
	return p, nil
}

// ListSessions returns a user's unexpired sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]board.Session, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id::text, user_agent, ip, created_at, last_seen_at, expires_at FROM sessions
		WHERE user_id = $1 AND expires_at > now() ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.Session, error) {
		var ses board.Session
		err := r.Scan(&ses.ID, &ses.UserAgent, &ses.IP, &ses.CreatedAt, &ses.LastSeenAt, &ses.ExpiresAt)
		return ses, err
	})
}

// DeleteSession ends one of a user's sessions; ENotFound if the user has no
// such session.
func (s *Store) DeleteSession(ctx context.Context, userID, sessionID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, sessionID, userID)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return board.Errorf(board.ENotFound, "no such session")
	}
	return nil
}

// CreateAPIToken stores a token by the hash of its secret; ttl 0 means it
// does not expire.
func (s *Store) CreateAPIToken(ctx context.Context, userID, name string, tokenHash []byte, ttl time.Duration) (board.APIToken, error) {
	var t board.APIToken
	var expires *time.Duration
	if ttl > 0 {
		expires = &ttl
	}
	err := s.pool.QueryRow(ctx, `
		INSERT INTO api_tokens (token_hash, user_id, name, expires_at)
		VALUES ($1, $2, $3, now() + $4::interval)
		RETURNING id::text, name, created_at, last_used_at, expires_at`, tokenHash, userID, name, expires).
		Scan(&t.ID, &t.Name, &t.CreatedAt, &t.LastUsedAt, &t.ExpiresAt)
	if err != nil {
		return board.APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	return t, nil
}

// TokenPrincipal returns who holds the unexpired API token with this secret
// hash, and notes that it was used (at most once a minute, so that a busy
// script does not write a row per request); EUnauthenticated otherwise.
func (s *Store) TokenPrincipal(ctx context.Context, tokenHash []byte) (board.Principal, error) {
	var p board.Principal
	err := s.pool.QueryRow(ctx, `
		WITH t AS (
			UPDATE api_tokens SET last_used_at = now()
			WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > now())
			  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
			RETURNING id)
		SELECT t.id::text, u.id::text, u.username FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > now())`, tokenHash).
		Scan(&p.TokenID, &p.UserID, &p.Username)
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Principal{}, board.Errorf(board.EUnauthenticated, "the API token is not valid")
	}
	if err != nil {
		return board.Principal{}, fmt.Errorf("read api token: %w", err)
	}
	return p, nil
}

// ListAPITokens returns a user's tokens (without secrets), newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]board.APIToken, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id::text, name, created_at, last_used_at, expires_at FROM api_tokens
		WHERE user_id = $1 ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.APIToken, error) {
		var t board.APIToken
		err := r.Scan(&t.ID, &t.Name, &t.CreatedAt, &t.LastUsedAt, &t.ExpiresAt)
		return t, err
	})
}

// DeleteAPIToken revokes one of a user's tokens; ENotFound if the user has
// no such token.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, tokenID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, tokenID, userID)
	if err != nil {
		return fmt.Errorf("delete api token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return board.Errorf(board.ENotFound, "no such token")
	}
	return nil
}

// DeleteExpiredSessions removes expired sessions and API tokens.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	a, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	b, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("delete expired api tokens: %w", err)
	}
	return a.RowsAffected() + b.RowsAffected(), nil
}
