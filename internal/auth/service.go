package auth

import (
	"context"
	"strings"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/ratelimit"
)

// Store is what the account service needs of the database (see package
// store for the contracts).
type Store interface {
	CreateUser(ctx context.Context, username, passwordHash string) (board.User, error)
	UserCredentials(ctx context.Context, username string) (board.User, string, error)
	PasswordHash(ctx context.Context, userID string) (string, error)
	SetPassword(ctx context.Context, userID, passwordHash, keepSession string) error
	CreateSession(ctx context.Context, userID string, tokenHash []byte, userAgent, ip string, ttl time.Duration) (board.Session, error)
	SessionPrincipal(ctx context.Context, tokenHash []byte) (board.Principal, error)
	ListSessions(ctx context.Context, userID string) ([]board.Session, error)
	DeleteSession(ctx context.Context, userID, sessionID string) error
	CreateAPIToken(ctx context.Context, userID, name string, tokenHash []byte, ttl time.Duration) (board.APIToken, error)
	TokenPrincipal(ctx context.Context, tokenHash []byte) (board.Principal, error)
	ListAPITokens(ctx context.Context, userID string) ([]board.APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, tokenID string) error
}

// Revoker ends live access (open WebSockets) on every instance.
type Revoker interface {
	Revoke(r board.Revocation)
}

// Options configure the Service.
type Options struct {
	Store      Store
	Revoker    Revoker       // nil: nothing is live to revoke
	Params     Params        // zero: DefaultParams
	SessionTTL time.Duration // 0: 30 days
	// Login attempts: per account, and per client IP.
	AccountThrottle *ratelimit.Throttle // nil: 5 at once, then one a minute
	IPThrottle      *ratelimit.Throttle // nil: 20 at once, then one every 6 s
	Now             func() time.Time
}

// Service is the account logic. It is safe for concurrent use.
type Service struct {
	o         Options
	dummyHash string // checked against when a username does not exist
}

// New returns the service.
func New(o Options) *Service {
	if o.Params == (Params{}) {
		o.Params = DefaultParams
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 30 * 24 * time.Hour
	}
	if o.AccountThrottle == nil {
		o.AccountThrottle = &ratelimit.Throttle{Burst: 5, Every: time.Minute}
	}
	if o.IPThrottle == nil {
		o.IPThrottle = &ratelimit.Throttle{Burst: 20, Every: 6 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{o: o, dummyHash: HashPassword("not a password of anyone", o.Params)}
}

// SessionTTL is how long a new session lasts.
func (s *Service) SessionTTL() time.Duration { return s.o.SessionTTL }

// Client describes where a login comes from.
type Client struct {
	UserAgent string
	IP        string
}

// Login is a new session: its secret goes to the client (in a cookie) once.
type Login struct {
	User    board.User
	Secret  string
	Session board.Session
}

// Signup creates an account and logs it in. EConflict when the username is
// taken; EInvalid for a bad username or password.
func (s *Service) Signup(ctx context.Context, username, password string, c Client) (Login, error) {
	username = board.NormalizeUsername(username)
	if err := board.CheckUsername(username); err != nil {
		return Login{}, err
	}
	if err := board.CheckPassword("password", password); err != nil {
		return Login{}, err
	}
	if err := s.throttle(c.IP, ""); err != nil {
		return Login{}, err
	}
	u, err := s.o.Store.CreateUser(ctx, username, HashPassword(password, s.o.Params))
	if err != nil {
		return Login{}, err
	}
	return s.newSession(ctx, u, c)
}

// Login checks a username and password and opens a session.
// EUnauthenticated for a wrong pair (the same for an unknown user, after the
// same work); ERateLimited when the account or the IP made too many attempts.
func (s *Service) Login(ctx context.Context, username, password string, c Client) (Login, error) {
	username = board.NormalizeUsername(username)
	if err := s.throttle(c.IP, username); err != nil {
		return Login{}, err
	}
	// A name no account can have (one with a NUL, which PostgreSQL refuses
	// in text) is an unknown user: no query.
	var u board.User
	var hash string
	var err error = board.Errorf(board.ENotFound, "no such user")
	if board.CheckUsername(username) == nil {
		u, hash, err = s.o.Store.UserCredentials(ctx, username)
	}
	if board.ErrorCode(err) == board.ENotFound {
		CheckPassword(password, s.dummyHash) //nolint:errcheck // equal work for unknown users
		return Login{}, board.Errorf(board.EUnauthenticated, "wrong username or password")
	}
	if err != nil {
		return Login{}, err
	}
	ok, err := CheckPassword(password, hash)
	if err != nil {
		return Login{}, err
	}
	if !ok {
		return Login{}, board.Errorf(board.EUnauthenticated, "wrong username or password")
	}
	return s.newSession(ctx, u, c)
}

// throttle takes an attempt from the client IP's bucket (unless ip is
// empty: a password change has no IP at hand, and must not share one bucket
// with every other user's) and from the account's (unless username is
// empty).
func (s *Service) throttle(ip, username string) error {
	now := s.o.Now()
	if ip != "" {
		if ok, wait := s.o.IPThrottle.Allow("ip:"+ip, now); !ok {
			return &board.Error{Code: board.ERateLimited, Message: "too many attempts from this address: wait a little", RetryAfter: wait}
		}
	}
	if username == "" {
		return nil
	}
	if ok, wait := s.o.AccountThrottle.Allow("user:"+username, now); !ok {
		return &board.Error{Code: board.ERateLimited, Message: "too many attempts for this account: wait a little", RetryAfter: wait}
	}
	return nil
}

func (s *Service) newSession(ctx context.Context, u board.User, c Client) (Login, error) {
	secret, hash := NewSecret(sessionPrefix)
	ses, err := s.o.Store.CreateSession(ctx, u.ID, hash, truncate(c.UserAgent, 200), c.IP, s.o.SessionTTL)
	if err != nil {
		return Login{}, err
	}
	ses.Current = true
	return Login{User: u, Secret: secret, Session: ses}, nil
}

// Authenticate returns who holds a session secret or API token;
// EUnauthenticated for anything else.
func (s *Service) Authenticate(ctx context.Context, secret string) (board.Principal, error) {
	switch {
	case strings.HasPrefix(secret, sessionPrefix):
		return s.o.Store.SessionPrincipal(ctx, HashSecret(secret))
	case strings.HasPrefix(secret, tokenPrefix):
		return s.o.Store.TokenPrincipal(ctx, HashSecret(secret))
	}
	return board.Principal{}, board.Errorf(board.EUnauthenticated, "not a Corkboard session or API token")
}

// Logout ends the caller's session and closes its live connections.
func (s *Service) Logout(ctx context.Context, p board.Principal) error {
	if p.SessionID == "" {
		return board.Errorf(board.EInvalid, "API tokens do not log out: revoke the token")
	}
	if err := s.o.Store.DeleteSession(ctx, p.UserID, p.SessionID); err != nil {
		return err
	}
	s.revoke(board.Revocation{UserID: p.UserID, SessionID: p.SessionID, Reason: "logged out"})
	return nil
}

// ChangePassword checks the current password, sets the new one, and ends
// every other session of the user (closing their live connections).
func (s *Service) ChangePassword(ctx context.Context, p board.Principal, current, next string) error {
	if err := board.CheckPassword("new_password", next); err != nil {
		return err
	}
	if err := s.throttle("", p.Username); err != nil {
		return err
	}
	hash, err := s.o.Store.PasswordHash(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, err := CheckPassword(current, hash)
	if err != nil {
		return err
	}
	if !ok {
		return board.FieldError(board.EForbidden, "current_password", "is not the current password")
	}
	if err := s.o.Store.SetPassword(ctx, p.UserID, HashPassword(next, s.o.Params), p.SessionID); err != nil {
		return err
	}
	s.revoke(board.Revocation{UserID: p.UserID, ExceptSession: p.SessionID, Reason: "password changed"})
	return nil
}

// Sessions lists the caller's sessions, marking the current one.
func (s *Service) Sessions(ctx context.Context, p board.Principal) ([]board.Session, error) {
	list, err := s.o.Store.ListSessions(ctx, p.UserID)
	for i := range list {
		list[i].Current = list[i].ID == p.SessionID
	}
	return list, err
}

// EndSession ends one of the caller's sessions and its live connections.
func (s *Service) EndSession(ctx context.Context, p board.Principal, sessionID string) error {
	if err := s.o.Store.DeleteSession(ctx, p.UserID, sessionID); err != nil {
		return err
	}
	s.revoke(board.Revocation{UserID: p.UserID, SessionID: sessionID, Reason: "session ended"})
	return nil
}

// CreateToken makes an API token for the caller; its secret is in the
// result only. ttl 0: no expiry.
func (s *Service) CreateToken(ctx context.Context, p board.Principal, name string, ttl time.Duration) (board.APIToken, error) {
	name = strings.TrimSpace(name)
	if err := board.CheckName("name", name, board.MaxTokenName); err != nil {
		return board.APIToken{}, err
	}
	secret, hash := NewSecret(tokenPrefix)
	t, err := s.o.Store.CreateAPIToken(ctx, p.UserID, name, hash, ttl)
	if err != nil {
		return board.APIToken{}, err
	}
	t.Token = secret
	return t, nil
}

// Tokens lists the caller's API tokens (without secrets).
func (s *Service) Tokens(ctx context.Context, p board.Principal) ([]board.APIToken, error) {
	return s.o.Store.ListAPITokens(ctx, p.UserID)
}

// RevokeToken revokes one of the caller's tokens and closes its live
// connections.
func (s *Service) RevokeToken(ctx context.Context, p board.Principal, tokenID string) error {
	if err := s.o.Store.DeleteAPIToken(ctx, p.UserID, tokenID); err != nil {
		return err
	}
	s.revoke(board.Revocation{UserID: p.UserID, TokenID: tokenID, Reason: "token revoked"})
	return nil
}

func (s *Service) revoke(r board.Revocation) {
	if s.o.Revoker != nil {
		s.o.Revoker.Revoke(r)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
