package board

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// User is an account. Its ID is what board members, card assignees, event
// actors and presence list.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"created_at"`
}

// Principal is the caller of a request: a user, authenticated by a browser
// session (SessionID) or an API token (TokenID).
type Principal struct {
	UserID    string
	Username  string
	SessionID string
	TokenID   string
}

// Session is a browser session as its owner lists it (never its secret).
type Session struct {
	ID         string    `json:"id"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

// APIToken is a token for scripts as its owner lists it. Token, the secret,
// is set only in the answer that creates it.
type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Token      string     `json:"token,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

// Member is a user's membership of a board.
type Member struct {
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	Role     string    `json:"role"`
	AddedAt  time.Time `json:"added_at"`
}

// Revocation ends live access: every WebSocket connection of UserID (only
// the one on SessionID or TokenID, when set; all but ExceptSession, when
// set), or only its subscription to BoardID when that is set. It is applied
// on every instance.
type Revocation struct {
	UserID        string `json:"user"`
	SessionID     string `json:"session,omitempty"`
	TokenID       string `json:"token,omitempty"`
	ExceptSession string `json:"except_session,omitempty"`
	BoardID       string `json:"board,omitempty"`
	Reason        string `json:"reason"`
}

// Event kinds of membership changes; their data is the Member (for
// member.removed, the member as it was).
const (
	KindMemberAdded   = "member.added"
	KindMemberUpdated = "member.updated"
	KindMemberRemoved = "member.removed"
)

// Limits of accounts.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
	MaxTokenName   = 100
)

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{2,31}$`)

// NormalizeUsername returns the canonical (lowercase, trimmed) form of a
// username.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CheckUsername returns EInvalid unless s (normalized) is 3-32 of a-z 0-9 _ . -
// starting with a letter or digit.
func CheckUsername(s string) error {
	if !usernamePattern.MatchString(s) {
		return FieldError(EInvalid, "username", "must be 3-32 of a-z 0-9 _ . - starting with a letter or digit")
	}
	return nil
}

// CheckPassword returns EInvalid unless s is an acceptable password.
func CheckPassword(field, s string) error {
	if !utf8.ValidString(s) {
		return FieldError(EInvalid, field, "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n < MinPasswordLen || n > MaxPasswordLen {
		return FieldError(EInvalid, field, "must be %d to %d characters long", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// CheckRole returns EInvalid unless role is one of the board roles.
func CheckRole(role string) error {
	switch role {
	case RoleOwner, RoleEditor, RoleViewer:
		return nil
	}
	return FieldError(EInvalid, "role", "must be owner, editor or viewer")
}
