package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/ratelimit"
)

// Accounts is what the API needs of the account service (package auth).
type Accounts interface {
	Signup(ctx context.Context, username, password string, c auth.Client) (auth.Login, error)
	Login(ctx context.Context, username, password string, c auth.Client) (auth.Login, error)
	Authenticate(ctx context.Context, secret string) (board.Principal, error)
	Logout(ctx context.Context, p board.Principal) error
	ChangePassword(ctx context.Context, p board.Principal, current, next string) (auth.PasswordChange, error)
	Sessions(ctx context.Context, p board.Principal) ([]board.Session, error)
	EndSession(ctx context.Context, p board.Principal, sessionID string) error
	CreateToken(ctx context.Context, p board.Principal, name string, ttl time.Duration) (board.APIToken, error)
	Tokens(ctx context.Context, p board.Principal) ([]board.APIToken, error)
	RevokeToken(ctx context.Context, p board.Principal, tokenID string) error
	SessionTTL() time.Duration
}

// Session cookie names: the __Host- prefix (Secure, Path=/, no Domain)
// when served over HTTPS, and then only that one authenticates (a plain
// cookie can be planted by a sibling domain or a network attacker); browsers
// refuse it over plain HTTP.
const (
	cookieSecure = "__Host-corkboard_session"
	cookiePlain  = "corkboard_session"
)

type principalKey struct{}

// principalFrom returns the caller of an authenticated request.
func principalFrom(ctx context.Context) board.Principal {
	p, _ := ctx.Value(principalKey{}).(board.Principal)
	return p
}

// userFrom returns the caller's user id.
func userFrom(ctx context.Context) string { return principalFrom(ctx).UserID }

// authenticate identifies the caller (Options.Identify, or the session
// cookie, or an Authorization: Bearer API token) and refuses the request
// with 401 when there is none (429 once the client address has spent its
// budget). Every answer to an authenticated request is Cache-Control:
// no-store: it is one person's data (a new token's secret, even).
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.identifyOrLimit(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// identifyOrLimit is Principal, where a refused credential costs the client
// address's request budget, so guessing secrets is rate-limited like
// anonymous calls: ERateLimited once it is spent.
func (a *API) identifyOrLimit(r *http.Request) (board.Principal, error) {
	p, err := a.Principal(r)
	if board.ErrorCode(err) == board.EUnauthenticated {
		if ok, wait := a.limiter.Allow(a.addrKey(r), time.Now()); !ok {
			err = &board.Error{Code: board.ERateLimited, Message: "too many requests: slow down", RetryAfter: wait}
		}
	}
	return p, err
}

// addrKey is the request budget key of the client address (IPv6 by /64).
func (a *API) addrKey(r *http.Request) string { return "ip:" + ratelimit.AddrKey(a.ClientIP(r)) }

// Principal identifies the caller of r: the WebSocket endpoint uses it too.
func (a *API) Principal(r *http.Request) (board.Principal, error) {
	if a.identify != nil {
		return a.identify(r)
	}
	secret := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return board.Principal{}, board.Errorf(board.EUnauthenticated, "use Authorization: Bearer <API token>")
		}
		secret = strings.TrimSpace(token)
	} else if c, err := r.Cookie(cookieSecure); err == nil {
		secret = c.Value
	} else if c, err := r.Cookie(cookiePlain); err == nil && !a.isHTTPS(r) {
		secret = c.Value
	}
	if secret == "" {
		return board.Principal{}, board.Errorf(board.EUnauthenticated, "log in, or send an API token")
	}
	return a.accounts.Authenticate(r.Context(), secret)
}

// credentials is the body of signup and login.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *API) signup(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	l, err := a.accounts.Signup(r.Context(), in.Username, in.Password, a.client(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.setSessionCookie(w, r, l.Secret, l.Session.ExpiresAt)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, l.User)
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	l, err := a.accounts.Login(r.Context(), in.Username, in.Password, a.client(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.setSessionCookie(w, r, l.Secret, l.Session.ExpiresAt)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, l.User)
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.accounts.Logout(r.Context(), principalFrom(r.Context())); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.setSessionCookie(w, r, "", time.Unix(0, 0))
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"id": p.UserID, "username": p.Username})
}

// session answers who is logged in without refusing anyone: 200
// {"user": {id, username}} for a valid credential, 200 {"user": null} for
// none or a refused one, so that a page asking whether it is logged in does
// not log a failed request. A refused credential costs the client address's
// request budget, as on every other route (429 once spent); a known caller's
// request costs theirs.
func (a *API) session(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	type user struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	var out struct {
		User *user `json:"user"`
	}
	p, err := a.identifyOrLimit(r)
	switch {
	case board.ErrorCode(err) == board.EUnauthenticated:
		// Nobody: {"user": null}.
	case err != nil:
		a.writeError(w, r, err)
		return
	default:
		if ok, wait := a.limiter.Allow("user:"+p.UserID, time.Now()); !ok {
			a.writeError(w, r, &board.Error{Code: board.ERateLimited, Message: "too many requests: slow down", RetryAfter: wait})
			return
		}
		out.User = &user{ID: p.UserID, Username: p.Username}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	res, err := a.accounts.ChangePassword(r.Context(), principalFrom(r.Context()), in.Current, in.New)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) listSessions(w http.ResponseWriter, r *http.Request) {
	list, err := a.accounts.Sessions(r.Context(), principalFrom(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
}

func (a *API) endSession(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "session")
	if err == nil {
		err = a.accounts.EndSession(r.Context(), principalFrom(r.Context()), id)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := a.accounts.Tokens(r.Context(), principalFrom(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": list})
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name      string `json:"name"`
		ExpiresIn string `json:"expires_in"` // a Go duration; empty: never
	}
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	var ttl time.Duration
	if in.ExpiresIn != "" {
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil || d <= 0 {
			a.writeError(w, r, board.FieldError(board.EInvalid, "expires_in", "must be a positive duration like 720h"))
			return
		}
		ttl = d
	}
	t, err := a.accounts.CreateToken(r.Context(), principalFrom(r.Context()), in.Name, ttl)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "token")
	if err == nil {
		err = a.accounts.RevokeToken(r.Context(), principalFrom(r.Context()), id)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setSessionCookie sets (or, with an empty secret, clears) the session
// cookie: HttpOnly, SameSite=Lax, and Secure with the __Host- prefix over
// HTTPS.
func (a *API) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string, expires time.Time) {
	c := &http.Cookie{Name: cookiePlain, Value: secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Expires: expires}
	if a.isHTTPS(r) {
		c.Name, c.Secure = cookieSecure, true
	}
	if secret == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (a *API) client(r *http.Request) auth.Client {
	return auth.Client{UserAgent: r.UserAgent(), IP: a.ClientIP(r).String()}
}

// ClientIP is the address of the client: the peer's, or, when the peer is a
// trusted proxy, the nearest address in X-Forwarded-For that is not.
func (a *API) ClientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	ip = ip.Unmap()
	if !a.trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip
		}
		if hop = hop.Unmap(); !a.trusted(hop) {
			return hop
		}
		ip = hop
	}
	return ip
}

func (a *API) trusted(ip netip.Addr) bool {
	for _, p := range a.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// isHTTPS reports whether the client reached us over HTTPS (directly, or
// through a trusted proxy that says so).
func (a *API) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	ip, _ := netip.ParseAddr(host)
	return a.trusted(ip.Unmap()) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
