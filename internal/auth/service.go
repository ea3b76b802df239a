package auth

import (
	"context"
	"errors"
	"runtime"
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
	SetPassword(ctx context.Context, userID, passwordHash, keepSession string) (sessions, tokens int64, err error)
	CreateSession(ctx context.Context, userID string, tokenHash []byte, userAgent, ip string, ttl time.Duration) (board.Session, error)
	SessionPrincipal(ctx context.Context, tokenHash []byte) (board.Principal, error)
	ListSessions(ctx context.Context, userID string) ([]board.Session, error)
	DeleteSession(ctx context.Context, userID, sessionID string) error
	CreateAPIToken(ctx context.Context, userID, name string, tokenHash []byte, ttl time.Duration) (board.APIToken, error)
	TokenPrincipal(ctx context.Context, tokenHash []byte) (board.Principal, error)
	ListAPITokens(ctx context.Context, userID string) ([]board.APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, tokenID string) error

	// Attempt budgets, shared by every instance.
	TakeBudget(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Take, error)
	GiveBudget(ctx context.Context, key string, l ratelimit.Limit) error
	ResetBudget(ctx context.Context, key string) error
}

// Revoker ends live access (open WebSockets) on every instance.
type Revoker interface {
	Revoke(r board.Revocation)
}

// Limits are the attempt budgets of logins, sign-ups and password changes.
// They are kept in the database, so they hold across instances.
type Limits struct {
	// Address: login and sign-up attempts per client address (IPv6 per
	// /64), whatever the account. Zero: 20 at once, then one every 6 s.
	Address ratelimit.Limit
	// AccountAddress: failed logins per account from one address. Zero: 5,
	// then one a minute. A successful login fills it again.
	AccountAddress ratelimit.Limit
	// Account: failed logins per account from anywhere. Once spent, only
	// addresses with no recent failure for the account may try (so the
	// owner, from an address of their own, always gets in); the others are
	// refused. Zero: 10, then one a minute.
	Account ratelimit.Limit
	// Password: password changes per user. Zero: 5, then one a minute.
	Password ratelimit.Limit
}

// Options configure the Service.
type Options struct {
	Store      Store
	Revoker    Revoker       // nil: nothing is live to revoke
	Params     Params        // zero: DefaultParams
	SessionTTL time.Duration // 0: 30 days
	Limits     Limits
	// MaxHashes bounds the password hashes (argon2id, Params.Memory each)
	// running at once in the process; 0: the number of CPUs. A caller waits
	// at most HashWait (0: 2 s) for a turn, then gets EUnavailable.
	MaxHashes int
	HashWait  time.Duration
	// CredentialTTL is how long a credential, once found valid, is taken
	// without asking the database again (revocations end it at once; see
	// credentialCache). 0: every request reads the database.
	CredentialTTL time.Duration
}

// Service is the account logic. It is safe for concurrent use.
type Service struct {
	o         Options
	hash      *hasher
	dummyHash string           // checked against when a username does not exist
	cache     *credentialCache // nil: off
}

// New returns the service.
func New(o Options) *Service {
	if o.Params == (Params{}) {
		o.Params = DefaultParams
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 30 * 24 * time.Hour
	}
	orDefault := func(l *ratelimit.Limit, burst int, every time.Duration) {
		if *l == (ratelimit.Limit{}) {
			*l = ratelimit.Limit{Burst: burst, Every: every}
		}
	}
	orDefault(&o.Limits.Address, 20, 6*time.Second)
	orDefault(&o.Limits.AccountAddress, 5, time.Minute)
	orDefault(&o.Limits.Account, 10, time.Minute)
	orDefault(&o.Limits.Password, 5, time.Minute)
	if o.MaxHashes <= 0 {
		o.MaxHashes = runtime.NumCPU()
	}
	if o.HashWait <= 0 {
		o.HashWait = 2 * time.Second
	}
	s := &Service{o: o, hash: newHasher(o.MaxHashes, o.HashWait),
		dummyHash: HashPassword("not a password of anyone", o.Params)}
	if o.CredentialTTL > 0 {
		s.cache = newCredentialCache(o.CredentialTTL)
	}
	return s
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
// taken; EInvalid for a bad username or password; ERateLimited when the
// client address made too many attempts; EUnavailable when too many
// passwords are being hashed.
func (s *Service) Signup(ctx context.Context, username, password string, c Client) (Login, error) {
	username = board.NormalizeUsername(username)
	if err := board.CheckUsername(username); err != nil {
		return Login{}, err
	}
	if err := board.CheckPassword("password", password); err != nil {
		return Login{}, err
	}
	if err := s.take(ctx, addressKey(c.IP), s.o.Limits.Address, "too many attempts from this address: wait a little"); err != nil {
		return Login{}, err
	}
	var hash string
	if err := s.hash.do(ctx, func() { hash = HashPassword(password, s.o.Params) }); err != nil {
		return Login{}, err
	}
	u, err := s.o.Store.CreateUser(ctx, username, hash)
	if err != nil {
		return Login{}, err
	}
	return s.newSession(ctx, u, c)
}

// Login checks a username and password and opens a session.
// EUnauthenticated for a wrong pair (the same for an unknown user, after the
// same work); ERateLimited when the client address made too many attempts,
// or too many failed ones for this account, or when the account's own
// budget of failures is spent and this address has failed for it lately;
// EUnavailable when too many passwords are being hashed.
//
// The right password from an address with no recent failure for the account
// is never refused for the account's sake: an attacker cannot lock the owner
// out.
func (s *Service) Login(ctx context.Context, username, password string, c Client) (Login, error) {
	username = board.NormalizeUsername(username)
	if err := s.take(ctx, addressKey(c.IP), s.o.Limits.Address, "too many attempts from this address: wait a little"); err != nil {
		return Login{}, err
	}
	pairKey, accountKey := "login:account-address:"+keyPart(username)+"|"+ratelimit.ParseAddrKey(c.IP), "login:account:"+keyPart(username)
	pair, err := s.o.Store.TakeBudget(ctx, pairKey, s.o.Limits.AccountAddress)
	if err != nil {
		return Login{}, err
	}
	if !pair.OK {
		return Login{}, &board.Error{Code: board.ERateLimited, RetryAfter: pair.Wait,
			Message: "too many failed attempts for this account from this address: wait a little"}
	}
	account, err := s.o.Store.TakeBudget(ctx, accountKey, s.o.Limits.Account)
	if err != nil {
		return Login{}, err
	}
	if !account.OK && !pair.Full(s.o.Limits.AccountAddress) {
		return Login{}, &board.Error{Code: board.ERateLimited, RetryAfter: account.Wait,
			Message: "too many failed attempts for this account: wait a little"}
	}
	u, ok, err := s.checkLogin(ctx, username, password)
	if board.ErrorCode(err) == board.EUnavailable {
		// Not checked: the attempt does not count against the account.
		gctx := context.WithoutCancel(ctx)
		gerr := s.o.Store.GiveBudget(gctx, pairKey, s.o.Limits.AccountAddress)
		if account.OK {
			gerr = errors.Join(gerr, s.o.Store.GiveBudget(gctx, accountKey, s.o.Limits.Account))
		}
		return Login{}, errors.Join(err, gerr)
	}
	if err != nil || !ok {
		if err == nil {
			err = board.Errorf(board.EUnauthenticated, "wrong username or password")
		}
		return Login{}, err
	}
	// The right password: this address may try again freely, and the
	// account's budget gets back what this attempt took.
	if err := s.o.Store.ResetBudget(ctx, pairKey); err != nil {
		return Login{}, err
	}
	if account.OK {
		if err := s.o.Store.GiveBudget(ctx, accountKey, s.o.Limits.Account); err != nil {
			return Login{}, err
		}
	}
	return s.newSession(ctx, u, c)
}

// checkLogin checks the password of username, doing the same work for an
// unknown user.
func (s *Service) checkLogin(ctx context.Context, username, password string) (board.User, bool, error) {
	// A name no account can have (one with a NUL, which PostgreSQL refuses
	// in text) is an unknown user: no query.
	var u board.User
	var hash string
	var err error = board.Errorf(board.ENotFound, "no such user")
	if board.CheckUsername(username) == nil {
		u, hash, err = s.o.Store.UserCredentials(ctx, username)
	}
	known := true
	if board.ErrorCode(err) == board.ENotFound {
		known, hash, err = false, s.dummyHash, nil
	}
	if err != nil {
		return board.User{}, false, err
	}
	var ok bool
	if herr := s.hash.do(ctx, func() { ok, err = CheckPassword(password, hash) }); herr != nil {
		return board.User{}, false, herr
	}
	if err != nil {
		return board.User{}, false, err
	}
	return u, ok && known, nil
}

// take takes an attempt from the budget key; ERateLimited with message when
// it is spent.
func (s *Service) take(ctx context.Context, key string, l ratelimit.Limit, message string) error {
	t, err := s.o.Store.TakeBudget(ctx, key, l)
	if err != nil {
		return err
	}
	if !t.OK {
		return &board.Error{Code: board.ERateLimited, Message: message, RetryAfter: t.Wait}
	}
	return nil
}

// addressKey is the login budget key of a client address (IPv6 by /64).
func addressKey(ip string) string { return "login:address:" + ratelimit.ParseAddrKey(ip) }

// keyPart makes a username safe in a budget key: text PostgreSQL accepts
// (valid UTF-8, no NUL), of bounded length.
func keyPart(s string) string {
	return truncate(strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "?"), 64)
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
	var lookup func(context.Context, []byte) (board.Principal, error)
	switch {
	case strings.HasPrefix(secret, sessionPrefix):
		lookup = s.o.Store.SessionPrincipal
	case strings.HasPrefix(secret, tokenPrefix):
		lookup = s.o.Store.TokenPrincipal
	default:
		return board.Principal{}, board.Errorf(board.EUnauthenticated, "not a Corkboard session or API token")
	}
	hash := HashSecret(secret)
	if s.cache == nil {
		return lookup(ctx, hash)
	}
	if uncached(ctx) {
		p, err := lookup(ctx, hash)
		if board.ErrorCode(err) == board.EUnauthenticated {
			s.cache.drop(hash)
		}
		return p, err
	}
	p, ok, gen := s.cache.get(hash)
	if ok {
		return p, nil
	}
	p, err := lookup(ctx, hash)
	if err == nil {
		s.cache.put(hash, p, gen)
	}
	return p, err
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

// PasswordChange says what a password change ended.
type PasswordChange struct {
	RevokedSessions int64 `json:"revoked_sessions"` // every session but the caller's
	RevokedTokens   int64 `json:"revoked_tokens"`   // every API token
}

// ChangePassword checks the current password, sets the new one, and ends
// every session of the user but the caller's and revokes every API token of
// the user (closing their live connections). EForbidden for a wrong current
// password; ERateLimited past the user's budget of password changes;
// EUnavailable when too many passwords are being hashed.
func (s *Service) ChangePassword(ctx context.Context, p board.Principal, current, next string) (PasswordChange, error) {
	if err := board.CheckPassword("new_password", next); err != nil {
		return PasswordChange{}, err
	}
	if err := s.take(ctx, "password:"+p.UserID, s.o.Limits.Password, "too many password changes: wait a little"); err != nil {
		return PasswordChange{}, err
	}
	hash, err := s.o.Store.PasswordHash(ctx, p.UserID)
	if err != nil {
		return PasswordChange{}, err
	}
	var ok bool
	if herr := s.hash.do(ctx, func() {
		if ok, err = CheckPassword(current, hash); ok && err == nil {
			hash = HashPassword(next, s.o.Params)
		}
	}); herr != nil {
		return PasswordChange{}, herr
	}
	if err != nil {
		return PasswordChange{}, err
	}
	if !ok {
		return PasswordChange{}, board.FieldError(board.EForbidden, "current_password", "is not the current password")
	}
	sessions, tokens, err := s.o.Store.SetPassword(ctx, p.UserID, hash, p.SessionID)
	if err != nil {
		return PasswordChange{}, err
	}
	s.revoke(board.Revocation{UserID: p.UserID, ExceptSession: p.SessionID, Reason: "password changed"})
	return PasswordChange{RevokedSessions: sessions, RevokedTokens: tokens}, nil
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
	s.Forget(r)
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
