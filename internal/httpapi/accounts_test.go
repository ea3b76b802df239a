package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/ratelimit"
	"github.com/corkboard/corkboard/internal/ws"
)

// Sign-up, me, login, logout, password change, sessions and API tokens,
// over HTTP with the cookies and tokens a client gets.
func TestAccountFlows(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})

	// Sign-up logs in.
	r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": " Alice ", "password": "first password"})
	u := apitest.Must[board.User](t, r, http.StatusCreated)
	if u.Username != "alice" || !board.ValidID(u.ID) {
		t.Fatalf("signed up %+v", u)
	}
	s1 := r.Session()
	me := apitest.Must[map[string]string](t, e.call(apitest.Cred{Cookie: s1}, "GET", "/api/auth/me", nil), http.StatusOK)
	if me["id"] != u.ID || me["username"] != "alice" {
		t.Fatalf("me: %v", me)
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "ALICE", "password": "another password"}),
		http.StatusConflict, board.EConflict)
	for _, body := range []map[string]string{
		{"username": "al", "password": "long enough"},
		{"username": "alice bob", "password": "long enough"},
		{"username": "_alice", "password": "long enough"},
		{"username": "bob", "password": "short"},
		{"username": "bob", "password": strings.Repeat("p", 257)},
	} {
		apitest.CheckProblem(t, e.call(apitest.Cred{}, "POST", "/api/auth/signup", body), http.StatusUnprocessableEntity, board.EInvalid)
	}

	// Login opens another session; the two are listed, the caller's marked.
	login := func(user, pw string) apitest.Response {
		return e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": user, "password": pw})
	}
	r = login("ALICE", "first password")
	if got := apitest.Must[board.User](t, r, http.StatusOK); got.ID != u.ID {
		t.Fatalf("login: %+v", got)
	}
	s2 := r.Session()
	if s2 == "" || s2 == s1 {
		t.Fatalf("login gave session %q (sign-up's %q)", s2, s1)
	}
	list := apitest.Must[struct{ Sessions []map[string]any }](t, e.call(apitest.Cred{Bearer: s2}, "GET", "/api/auth/sessions", nil), http.StatusOK)
	if len(list.Sessions) != 2 {
		t.Fatalf("sessions: %v", list.Sessions)
	}
	var s1ID string
	for _, s := range list.Sessions {
		for k, v := range s {
			if str, ok := v.(string); ok && (str == s1 || str == s2) {
				t.Errorf("the session list shows a secret in %q", k)
			}
		}
		if s["current"] == false {
			s1ID = s["id"].(string)
		}
	}
	// End the other session: its secret stops working at once.
	if r := e.call(apitest.Cred{Cookie: s2}, "DELETE", "/api/auth/sessions/"+s1ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("end session: %v", r)
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s1}, "GET", "/api/auth/me", nil), http.StatusUnauthorized, board.EUnauthenticated)
	apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s2}, "DELETE", "/api/auth/sessions/"+s1ID, nil), http.StatusNotFound, board.ENotFound)

	// API tokens: the secret is in the creation's answer only.
	r = e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/tokens", map[string]string{"name": "ci", "expires_in": "720h"})
	tok := apitest.Must[board.APIToken](t, r, http.StatusCreated)
	if !strings.HasPrefix(tok.Token, "cbt_") || tok.ExpiresAt == nil || tok.Name != "ci" {
		t.Fatalf("token %+v", tok)
	}
	if r := e.call(apitest.Cred{Cookie: s2}, "GET", "/api/auth/tokens", nil); strings.Contains(string(r.Body), tok.Token) ||
		!strings.Contains(string(r.Body), tok.ID) {
		t.Fatalf("token list: %v", r)
	}
	me = apitest.Must[map[string]string](t, e.call(apitest.Cred{Bearer: tok.Token}, "GET", "/api/auth/me", nil), http.StatusOK)
	if me["id"] != u.ID {
		t.Fatalf("me by token: %v", me)
	}
	for _, bad := range []map[string]string{{"name": ""}, {"name": strings.Repeat("n", 101)}, {"name": "x", "expires_in": "-1h"},
		{"name": "x", "expires_in": "soon"}} {
		apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/tokens", bad), http.StatusUnprocessableEntity, board.EInvalid)
	}
	// A token does not log out; it is revoked, and then it fails.
	apitest.CheckProblem(t, e.call(apitest.Cred{Bearer: tok.Token}, "POST", "/api/auth/logout", nil), http.StatusUnprocessableEntity, board.EInvalid)
	if r := e.call(apitest.Cred{Cookie: s2}, "DELETE", "/api/auth/tokens/"+tok.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke token: %v", r)
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{Bearer: tok.Token}, "GET", "/api/auth/me", nil), http.StatusUnauthorized, board.EUnauthenticated)
	// An expired token fails.
	short := apitest.Must[board.APIToken](t, e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/tokens",
		map[string]string{"name": "short", "expires_in": "1ms"}), http.StatusCreated)
	time.Sleep(10 * time.Millisecond)
	apitest.CheckProblem(t, e.call(apitest.Cred{Bearer: short.Token}, "GET", "/api/auth/me", nil), http.StatusUnauthorized, board.EUnauthenticated)

	// Malformed credentials.
	for _, h := range []string{"Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "bearer x", "Token " + s2} {
		r := e.call(apitest.Cred{}, "GET", "/api/auth/me", nil, "Authorization", h)
		apitest.CheckProblem(t, r, http.StatusUnauthorized, board.EUnauthenticated)
	}
	// A session secret is case-sensitive and whole.
	for _, s := range []string{strings.ToUpper(s2), s2[:len(s2)-1], s2 + "x", "cbs_", "cbt_"} {
		apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s}, "GET", "/api/auth/me", nil), http.StatusUnauthorized, board.EUnauthenticated)
	}

	// Password change: the current password is required; the other
	// sessions end, the caller's stays; the old password stops working.
	s3 := login("alice", "first password").Session()
	apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/password",
		map[string]string{"current_password": "wrong password", "new_password": "second password"}), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/password",
		map[string]string{"current_password": "first password", "new_password": "short"}), http.StatusUnprocessableEntity, board.EInvalid)
	changed := apitest.Must[auth.PasswordChange](t, e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/password",
		map[string]string{"current_password": "first password", "new_password": "second password"}), http.StatusOK)
	if changed.RevokedSessions != 1 || changed.RevokedTokens != 1 { // s3, and the expired token "short"
		t.Fatalf("change password: %+v, want 1 session and 1 token revoked", changed)
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s3}, "GET", "/api/auth/me", nil), http.StatusUnauthorized, board.EUnauthenticated)
	if r := e.call(apitest.Cred{Cookie: s2}, "GET", "/api/auth/me", nil); r.Status != http.StatusOK {
		t.Fatalf("the session that changed the password: %v", r)
	}
	apitest.CheckProblem(t, login("alice", "first password"), http.StatusUnauthorized, board.EUnauthenticated)
	if r := login("alice", "second password"); r.Status != http.StatusOK {
		t.Fatalf("login with the new password: %v", r)
	}

	// Logout ends the session and clears the cookie.
	r = e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/logout", nil)
	if r.Status != http.StatusNoContent {
		t.Fatalf("logout: %v", r)
	}
	cleared := false
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "corkboard_session" && c.Value == "" && c.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("logout does not clear the cookie: %v", r.Header["Set-Cookie"])
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s2}, "GET", "/api/auth/me", nil), http.StatusUnauthorized, board.EUnauthenticated)
	apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/logout", nil), http.StatusUnauthorized, board.EUnauthenticated)
}

// The session cookie is HttpOnly, SameSite=Lax and Path=/; over HTTPS (a
// trusted proxy's X-Forwarded-Proto) it is Secure with the __Host- prefix
// and no Domain, and that cookie authenticates too.
func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{API: func(o *httpapi.Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}})
	e2 := newAuthEnv(t, apitest.Options{}) // no trusted proxy
	pw := map[string]string{"username": "carol", "password": "carol's password"}
	cookieOf := func(r apitest.Response) *http.Cookie {
		t.Helper()
		cs := (&http.Response{Header: r.Header}).Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies %v (%v)", r.Header["Set-Cookie"], r)
		}
		return cs[0]
	}
	check := func(what string, c *http.Cookie, https bool) {
		t.Helper()
		wantName := "corkboard_session"
		if https {
			wantName = "__Host-corkboard_session"
		}
		if c.Name != wantName || c.Secure != https || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
			c.Path != "/" || c.Domain != "" || c.Value == "" || c.Expires.Before(time.Now().Add(time.Hour)) {
			t.Errorf("%s: cookie %q", what, c.String())
		}
	}
	check("sign-up over HTTP", cookieOf(e.call(apitest.Cred{}, "POST", "/api/auth/signup", pw)), false)
	check("login over HTTP", cookieOf(e.call(apitest.Cred{}, "POST", "/api/auth/login", pw)), false)
	r := e.call(apitest.Cred{}, "POST", "/api/auth/login", pw, "X-Forwarded-Proto", "https")
	c := cookieOf(r)
	check("login over HTTPS through a trusted proxy", c, true)
	// The __Host- cookie authenticates, and logout clears it by that name.
	req := func(method, path string) apitest.Response {
		return e.call(apitest.Cred{}, method, path, nil, "Cookie", c.Name+"="+c.Value, "X-Forwarded-Proto", "https")
	}
	if r := req("GET", "/api/auth/me"); r.Status != http.StatusOK {
		t.Fatalf("me with the __Host- cookie: %v", r)
	}
	out := cookieOf(req("POST", "/api/auth/logout"))
	if out.Name != "__Host-corkboard_session" || !out.Secure || out.MaxAge >= 0 || out.Value != "" {
		t.Errorf("logout over HTTPS sets %q", out.String())
	}
	// X-Forwarded-Proto from a peer that is not a trusted proxy is ignored.
	check("sign-up, X-Forwarded-Proto from an untrusted peer", cookieOf(e2.call(apitest.Cred{}, "POST", "/api/auth/signup", pw,
		"X-Forwarded-Proto", "https")), false)
}

// A wrong password and an unknown user get the same answer. Attempts are
// throttled per client address, and failures per account and address, with
// 429 and Retry-After; an account whose own budget of failures is spent
// still lets in an address that has not failed for it.
func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{
		Auth: func(o *auth.Options) {
			o.Limits.Address = ratelimit.Limit{Burst: 5, Every: 10 * time.Second}
			o.Limits.AccountAddress = ratelimit.Limit{Burst: 2, Every: time.Minute}
			o.Limits.Account = ratelimit.Limit{Burst: 3, Every: time.Minute}
		},
		API: func(o *httpapi.Options) {
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		},
	})
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	call := func(path, user, pw, ip string) apitest.Response {
		return e.call(apitest.Cred{}, "POST", "/api/auth/"+path, map[string]string{"username": user, "password": pw}, from(ip)...)
	}
	for i, u := range []string{"dave", "erin", "frank", "grace", "heidi", "ivan", "judy"} {
		if r := call("signup", u, "password of "+u, fmt.Sprintf("198.51.100.%d", i+1)); r.Status != http.StatusCreated {
			t.Fatalf("sign up %s: %v", u, r)
		}
	}

	wrong := call("login", "dave", "not dave's password", "203.0.113.1")
	unknown := call("login", "nobody", "not anyone's password", "203.0.113.2")
	pw := apitest.CheckProblem(t, wrong, http.StatusUnauthorized, board.EUnauthenticated)
	pu := apitest.CheckProblem(t, unknown, http.StatusUnauthorized, board.EUnauthenticated)
	if pw.Detail != pu.Detail || pw.Type != pu.Type || len(wrong.Body) != len(unknown.Body) {
		t.Errorf("a wrong password and an unknown user answer differently:\n%s\n%s", wrong.Body, unknown.Body)
	}

	// Per account and address: 2 failures from 203.0.113.1, then 429 there
	// even for the right password.
	call("login", "dave", "not dave's password", "203.0.113.1")
	r := call("login", "dave", "password of dave", "203.0.113.1")
	apitest.CheckProblem(t, r, http.StatusTooManyRequests, board.ERateLimited)
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q, want 1-60 seconds", r.Header.Get("Retry-After"))
	}
	// The account's budget (3 failures) is spent by one more failure from
	// elsewhere; an address that failed is refused, one that did not gets in.
	call("login", "dave", "not dave's password", "203.0.113.3")
	apitest.CheckProblem(t, call("login", "dave", "password of dave", "203.0.113.3"), http.StatusTooManyRequests, board.ERateLimited)
	if r := call("login", "dave", "password of dave", "203.0.113.4"); r.Status != http.StatusOK {
		t.Fatalf("the right password from a fresh address: %v", r)
	}
	// The same for a username that does not exist: no telling them apart.
	for range 2 {
		call("login", "nobody", "x", "203.0.113.6")
	}
	apitest.CheckProblem(t, call("login", "nobody", "x", "203.0.113.6"), http.StatusTooManyRequests, board.ERateLimited)
	// Other accounts are not affected.
	if r := call("login", "erin", "password of erin", "203.0.113.8"); r.Status != http.StatusOK {
		t.Fatalf("another account: %v", r)
	}

	// Per address: 5 attempts on any accounts, then 429 for everyone there.
	for i, u := range []string{"frank", "grace", "heidi", "ivan", "judy"} {
		if r := call("login", u, "wrong", "192.0.2.1"); r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d from one IP: %v", i+1, r)
		}
	}
	r = call("login", "erin", "password of erin", "192.0.2.1")
	apitest.CheckProblem(t, r, http.StatusTooManyRequests, board.ERateLimited)
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Sign-ups count against the address too.
	apitest.CheckProblem(t, call("signup", "mallory", "mallory's password", "192.0.2.1"), http.StatusTooManyRequests, board.ERateLimited)
	// Another address is fine.
	if r := call("login", "frank", "password of frank", "192.0.2.2"); r.Status != http.StatusOK {
		t.Fatalf("another IP: %v", r)
	}
	// A spoofed X-Forwarded-For does not escape the address limit: only the
	// hop the trusted proxy added counts.
	apitest.CheckProblem(t, call("login", "grace", "password of grace", "10.9.9.9, 192.0.2.1"), http.StatusTooManyRequests, board.ERateLimited)
}

// Password changes have their own budget per user: one user's guesses
// neither share a bucket with every other user's (a bug once: they all
// counted against the IP bucket of "") nor with the account's logins.
func TestPasswordChangesThrottledPerAccount(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{
		Auth: func(o *auth.Options) {
			o.Limits.Password = ratelimit.Limit{Burst: 3, Every: time.Minute}
			o.Limits.AccountAddress = ratelimit.Limit{Burst: 1, Every: time.Minute}
			o.Limits.Account = ratelimit.Limit{Burst: 1, Every: time.Minute}
		},
		API: func(o *httpapi.Options) {
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		},
	})
	var sessions []string
	for i := range 6 {
		u := fmt.Sprintf("user%d", i)
		r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": u, "password": "password " + u},
			"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		if r.Status != http.StatusCreated {
			t.Fatalf("sign up: %v", r)
		}
		sessions = append(sessions, r.Session())
	}
	change := func(i int, cur, next string) apitest.Response {
		return e.call(apitest.Cred{Cookie: sessions[i]}, "POST", "/api/auth/password",
			map[string]string{"current_password": cur, "new_password": next})
	}
	for i := range 6 {
		u := fmt.Sprintf("user%d", i)
		if r := change(i, "password "+u, "new password "+u); r.Status != http.StatusOK {
			t.Fatalf("%s changes the password: %v", u, r)
		}
	}
	// user0 guesses: the second wrong guess is the last of the three.
	apitest.CheckProblem(t, change(0, "guess", "whatever password"), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, change(0, "guess", "whatever password"), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, change(0, "guess", "whatever password"), http.StatusTooManyRequests, board.ERateLimited)
	// The guesses cost nothing of the login budgets, and a failed login
	// nothing of the password budget of user1.
	if r := e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": "user0", "password": "new password user0"},
		"X-Forwarded-For", "198.51.100.1"); r.Status != http.StatusOK {
		t.Fatalf("login after password guesses: %v", r)
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": "user1", "password": "wrong"},
		"X-Forwarded-For", "198.51.100.2"), http.StatusUnauthorized, board.EUnauthenticated)
	if r := change(1, "new password user1", "third password user1"); r.Status != http.StatusOK {
		t.Fatalf("user1 changes the password after a failed login: %v", r)
	}
}

// Passwords are stored as argon2id PHC strings; session and token secrets
// only as SHA-256 hashes: no table holds a secret or a password.
func TestSecretsStoredHashed(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})
	const password = "kept-only-as-a-hash"
	if r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "oscar", "password": password}); r.Status != http.StatusCreated {
		t.Fatalf("sign up: %v", r)
	}
	s2 := e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": "oscar", "password": password}).Session()
	// (A password change revokes every token: first.)
	e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/password", map[string]string{"current_password": password, "new_password": password + "2"},
		"Idempotency-Key", "pw")
	tok := apitest.Must[board.APIToken](t, e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/tokens", map[string]string{"name": "t"}), http.StatusCreated)
	// With an Idempotency-Key too: the answer holding the secret must not
	// be kept with the key.
	tok2 := apitest.Must[board.APIToken](t, e.call(apitest.Cred{Cookie: s2}, "POST", "/api/auth/tokens", map[string]string{"name": "t2"},
		"Idempotency-Key", "token-2"), http.StatusCreated)
	ctx := context.Background()
	pool := e.Store.Pool()

	var hash string
	if err := pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE username = 'oscar'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	p := auth.TestParams
	if want := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", p.Memory, p.Time, p.Threads); !strings.HasPrefix(hash, want) ||
		len(strings.Split(hash, "$")) != 6 {
		t.Errorf("password hash %q is not an argon2id PHC string (%s…)", hash, want)
	}
	if ok, err := auth.CheckPassword(password+"2", hash); !ok || err != nil {
		t.Errorf("the stored hash does not check: %v, %v", ok, err)
	}
	for _, secret := range []string{s2, tok.Token, tok2.Token} {
		sum := auth.HashSecret(secret)
		var n int
		pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sessions WHERE token_hash = $1) + (SELECT count(*) FROM api_tokens WHERE token_hash = $1)`,
			sum).Scan(&n)
		if n != 1 {
			t.Errorf("the SHA-256 of a secret is stored %d times, want once", n)
		}
	}
	// No row of any table holds a secret or the password, in any column.
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 8 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	needles := map[string]string{"password": password, "session secret": s2, "token secret": tok.Token,
		"idempotent token secret": tok2.Token}
	for name, s := range needles {
		// The secrets' random part, without their prefix.
		for _, tbl := range tables {
			var n int
			q := `SELECT count(*) FROM ` + pgx.Identifier{tbl}.Sanitize() + ` t WHERE strpos(t::text, $1) > 0`
			if err := pool.QueryRow(ctx, q, strings.TrimPrefix(strings.TrimPrefix(s, "cbs_"), "cbt_")).Scan(&n); err != nil {
				t.Fatalf("%s: %v", tbl, err)
			}
			if n > 0 {
				t.Errorf("table %s holds the %s in %d rows", tbl, name, n)
			}
		}
	}
}

// ClientIP believes X-Forwarded-For only from a configured proxy, and then
// only up to the nearest address that is not a proxy.
func TestClientIP(t *testing.T) {
	t.Parallel()
	a := httpapi.New(httpapi.Options{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}})
	none := httpapi.New(httpapi.Options{})
	for _, c := range []struct {
		api    *httpapi.API
		remote string
		xff    []string
		want   string
	}{
		{a, "203.0.113.9:1234", nil, "203.0.113.9"},
		{a, "203.0.113.9:1234", []string{"1.2.3.4"}, "203.0.113.9"}, // not from a proxy: ignored
		{none, "10.0.0.1:1234", []string{"1.2.3.4"}, "10.0.0.1"},    // no proxies configured
		{a, "10.0.0.1:1234", nil, "10.0.0.1"},
		{a, "10.0.0.1:1234", []string{"1.2.3.4"}, "1.2.3.4"},
		{a, "10.0.0.1:1234", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},         // the client's own claim is not believed
		{a, "10.0.0.1:1234", []string{"6.6.6.6", "1.2.3.4"}, "1.2.3.4"},       // several headers
		{a, "10.0.0.1:1234", []string{"1.2.3.4, 10.0.0.7"}, "1.2.3.4"},        // two proxies
		{a, "10.0.0.1:1234", []string{"10.1.1.1, 10.0.0.7"}, "10.1.1.1"},      // all proxies
		{a, "10.0.0.1:1234", []string{"1.2.3.4, not-an-ip"}, "10.0.0.1"},      // garbage: stop at the last proxy
		{a, "10.0.0.1:1234", []string{"1.2.3.4, 10.0.0.7, junk"}, "10.0.0.1"}, // likewise
		{a, "10.0.0.1:1234", []string{"  1.2.3.4  "}, "1.2.3.4"},
		{a, "10.0.0.1:1234", []string{"::ffff:1.2.3.4"}, "1.2.3.4"},
		{a, "[::ffff:10.0.0.1]:1234", []string{"1.2.3.4"}, "1.2.3.4"}, // mapped proxy address
		{a, "[fd00::1]:1234", []string{"2001:db8::5"}, "2001:db8::5"},
		{a, "[2001:db8::9]:1234", []string{"2001:db8::5"}, "2001:db8::9"},
		{a, "10.0.0.1", []string{"1.2.3.4"}, "1.2.3.4"}, // no port
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.api.ClientIP(r).String(); got != c.want {
			t.Errorf("ClientIP(remote %s, X-Forwarded-For %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

// The API's requests are limited per user (and per IP when anonymous):
// 429 with Retry-After, for that caller only.
func TestAPIRateLimit(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{API: func(o *httpapi.Options) {
		o.RateBurst, o.Rate = 5, 0.05
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}})
	var secrets []string
	for i, u := range []string{"peggy", "trent"} {
		r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": u, "password": "password " + u},
			"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		if r.Status != http.StatusCreated {
			t.Fatalf("sign up: %v", r)
		}
		secrets = append(secrets, r.Session())
	}
	peggy, trent := apitest.Cred{Cookie: secrets[0]}, apitest.Cred{Cookie: secrets[1]}
	for i := range 5 {
		if r := e.call(peggy, "GET", "/api/boards", nil); r.Status != http.StatusOK {
			t.Fatalf("request %d: %v", i+1, r)
		}
	}
	// The sixth in a row, reading or writing, from any IP.
	for _, m := range []string{"GET", "POST"} {
		r := e.call(peggy, m, "/api/boards", map[string]string{"name": "b"}, "X-Forwarded-For", "192.0.2.77")
		apitest.CheckProblem(t, r, http.StatusTooManyRequests, board.ERateLimited)
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
			t.Errorf("Retry-After %q, want 1-20 s", r.Header.Get("Retry-After"))
		}
	}
	if n := e.count(`SELECT count(*) FROM boards`); n != 0 {
		t.Errorf("a rate-limited POST made %d boards", n)
	}
	if r := e.call(trent, "GET", "/api/boards", nil); r.Status != http.StatusOK {
		t.Errorf("another user was limited: %v", r)
	}
	// Anonymous requests are limited per client IP.
	for i := range 5 {
		e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": "peggy", "password": "x"},
			"X-Forwarded-For", "192.0.2.50", "X-Attempt", strconv.Itoa(i))
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": "peggy", "password": "x"},
		"X-Forwarded-For", "192.0.2.50"), http.StatusTooManyRequests, board.ERateLimited)
	if r := e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": "trent", "password": "password trent"},
		"X-Forwarded-For", "192.0.2.51"); r.Status != http.StatusOK {
		t.Errorf("another IP was limited: %v", r)
	}
}

func (e *authEnv) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.Store.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Every response carries the security headers: a CSP without inline script,
// nosniff, no framing, a strict referrer policy.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})
	for _, r := range []apitest.Response{
		e.call(apitest.Cred{}, "GET", "/api/auth/me", nil),
		e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "walter", "password": "walter's password"}),
		e.call(apitest.Cred{}, "GET", "/api/nowhere", nil),
		e.call(apitest.Cred{}, "GET", "/api/ws", nil),
		e.call(apitest.Cred{}, "POST", "/api/boards", nil, "Sec-Fetch-Site", "cross-site"),
	} {
		checkSecurityHeaders(t, r.Header)
	}
}

func checkSecurityHeaders(t testing.TB, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q allows %s", csp, bad)
		}
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "same-origin"} {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

// WebSocket limits: messages per connection (rate_limited error frames,
// then a 1008 close), connections per user, subscriptions per connection,
// and connections idle without a subscription.
func TestWebSocketLimits(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{WS: func(o *ws.Options) {
		o.MessageBurst = 1000
		o.MaxPerUser = 3
	}})
	r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "rupert", "password": "rupert's password"})
	rupert := apitest.Cred{Cookie: r.Session()}
	uid := apitest.Must[board.User](t, r, http.StatusCreated).ID
	victor := apitest.Cred{Cookie: e.call(apitest.Cred{}, "POST", "/api/auth/signup",
		map[string]string{"username": "victor", "password": "victor's password"}).Session()}

	t.Run("message rate", func(t *testing.T) {
		e := newAuthEnv(t, apitest.Options{WS: func(o *ws.Options) { o.MessageBurst, o.MessageEvery = 5, time.Hour }})
		r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "chatty", "password": "chatty's password"})
		c, _, err := e.dialWS(apitest.Cred{Cookie: r.Session()})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 12 {
			c.MustSend(map[string]any{"type": "ping", "id": strconv.Itoa(i)})
		}
		pongs, limited := 0, 0
		for pongs+limited < 12 {
			f, ok := c.Next(5 * time.Second)
			if !ok {
				t.Fatalf("after %d pongs and %d rate_limited: %v", pongs, limited, c.Err())
			}
			switch {
			case f.Type == "pong":
				pongs++
			case f.Type == "error" && f.Code == board.ERateLimited:
				limited++
			default:
				t.Fatalf("frame %+v", f)
			}
		}
		if pongs != 5 || limited != 7 {
			t.Errorf("%d pongs, %d rate_limited; want 5 and 7", pongs, limited)
		}
		// Past 100 refused messages the connection is closed.
		for range 100 {
			c.SendRaw(context.Background(), []byte(`{"type":"ping"}`)) //nolint:errcheck // may be closed
		}
		if st, ok := c.Closed(5 * time.Second); !ok || st != websocket.StatusPolicyViolation {
			t.Errorf("close status %v (closed %v), want 1008", st, ok)
		}
	})

	t.Run("connections per user", func(t *testing.T) {
		e := e.with(t)
		var conns []*apitest.Conn
		for range 3 {
			c, _, err := e.dialWS(rupert)
			if err != nil {
				t.Fatal(err)
			}
			if f := c.Ask(map[string]any{"type": "ping"}); f.Type != "pong" {
				t.Fatalf("ping: %+v", f)
			}
			conns = append(conns, c)
		}
		extra, _, err := e.dialWS(rupert)
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := extra.Closed(5 * time.Second); !ok || st != websocket.StatusPolicyViolation {
			t.Errorf("the 4th connection: close %v (closed %v), want 1008", st, ok)
		}
		if c, _, err := e.dialWS(victor); err != nil {
			t.Errorf("another user: %v", err)
		} else if f := c.Ask(map[string]any{"type": "ping"}); f.Type != "pong" {
			t.Errorf("another user's ping: %+v", f)
		}
		// Closing one frees its slot.
		conns[0].Close()
		conns[0].Closed(5 * time.Second)
		c, _, err := dialWSWait(t, e, rupert)
		if err != nil {
			t.Fatalf("after closing one: %v", err)
		}
		for _, c := range append(conns[1:], c) {
			c.Close()
		}
	})

	t.Run("subscriptions per connection", func(t *testing.T) {
		e := e.with(t)
		var ids []string
		for i := range hub.MaxSubscriptions + 1 {
			b, _, err := e.Store.CreateBoard(context.Background(), board.Meta{Actor: uid}, board.BoardInput{Name: fmt.Sprint("b", i)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, b.ID)
		}
		c, _, err := dialWSWait(t, e, rupert) // rupert's earlier connections may still be closing
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids[:hub.MaxSubscriptions] {
			if f := c.Ask(map[string]any{"type": "subscribe", "board": id}); f.Type != "subscribed" {
				t.Fatalf("subscription %d: %+v", i+1, f)
			}
		}
		f := c.Ask(map[string]any{"type": "subscribe", "board": ids[hub.MaxSubscriptions]})
		if f.Type != "error" || f.Code != board.EConflict || !strings.Contains(f.Message, strconv.Itoa(hub.MaxSubscriptions)) {
			t.Errorf("subscription %d: %+v, want error conflict", hub.MaxSubscriptions+1, f)
		}
		c.Close()
	})

	t.Run("idle", func(t *testing.T) {
		e := newAuthEnv(t, apitest.Options{WS: func(o *ws.Options) {
			o.PingInterval, o.IdleTimeout = 50*time.Millisecond, 300*time.Millisecond
		}})
		r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "idler", "password": "idler's password"})
		c, _, err := e.dialWS(apitest.Cred{Cookie: r.Session()})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if st, ok := c.Closed(5 * time.Second); !ok || st != websocket.StatusNormalClosure {
			t.Errorf("an idle connection: close %v (closed %v), want 1000", st, ok)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("closed after %v, before the idle timeout", d)
		}
	})
}

// dialWSWait dials until the connection is not refused for the per-user cap
// (earlier connections of the user may still be closing).
func dialWSWait(t *testing.T, e *authEnv, c apitest.Cred) (*apitest.Conn, *http.Response, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, resp, err := e.dialWS(c)
		if err != nil {
			return conn, resp, err
		}
		select {
		case <-conn.Done():
			if time.Now().After(deadline) {
				return nil, nil, fmt.Errorf("refused: %v", conn.Err())
			}
			time.Sleep(20 * time.Millisecond)
			continue
		case <-time.After(100 * time.Millisecond):
			return conn, resp, nil
		}
	}
}

// An Idempotency-Key on an account route does not leave the key stuck "in
// progress" (a bug once: the success was never stored, so every retry got
// 409 for half a minute); nor is the answer kept, as it may hold a secret.
func TestIdempotencyKeyOnAccountRoutes(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})
	s := apitest.Cred{Cookie: e.call(apitest.Cred{}, "POST", "/api/auth/signup",
		map[string]string{"username": "ursula", "password": "ursula's password"}).Session()}

	for i := range 2 {
		r := e.call(s, "POST", "/api/auth/tokens", map[string]string{"name": "ci"}, "Idempotency-Key", "tok")
		if r.Status != http.StatusCreated {
			t.Fatalf("attempt %d: %v", i+1, r)
		}
	}
	if n := e.count(`SELECT count(*) FROM idempotency_keys`); n != 0 {
		t.Errorf("%d idempotency keys kept for account routes", n)
	}
	// A refusal is final, as everywhere: replayed.
	for i := range 2 {
		r := e.call(s, "POST", "/api/auth/password", map[string]string{"current_password": "wrong", "new_password": "whatever it is"},
			"Idempotency-Key", "pw")
		apitest.CheckProblem(t, r, http.StatusForbidden, board.EForbidden)
		if replayed := r.Header.Get("Idempotent-Replayed") == "true"; replayed != (i == 1) {
			t.Errorf("attempt %d: Idempotent-Replayed %q", i+1, r.Header.Get("Idempotent-Replayed"))
		}
	}
}

// A removal from a board whose revocation never arrived (lost on the bus)
// still ends the subscription: connections check their user's memberships
// again with their credential. Other members keep theirs.
func TestLostRemovalEndsSubscription(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{WS: func(o *ws.Options) {
		o.PingInterval, o.RecheckInterval = 50*time.Millisecond, 100*time.Millisecond
	}})
	alice, bob, carol := e.Signup("alice"), e.Signup("bobby"), e.Signup("carol")
	owner := apitest.Cred{Cookie: e.login(alice)}
	var b board.Board
	e.must(owner, "POST", "/api/boards", map[string]string{"name": "shared"}, &b)
	var col board.Column
	e.must(owner, "POST", "/api/boards/"+b.ID+"/columns", map[string]string{"name": "c"}, &col)
	for _, u := range []string{"bobby", "carol"} {
		e.must(owner, "POST", "/api/boards/"+b.ID+"/members", map[string]string{"username": u, "role": board.RoleEditor}, nil)
	}
	conns := map[string]*apitest.Conn{}
	for _, a := range []apitest.Account{bob, carol} {
		c, _, err := e.dialWS(apitest.Cred{Cookie: e.login(a)})
		if err != nil {
			t.Fatal(err)
		}
		if f := c.Ask(map[string]any{"type": "subscribe", "board": b.ID}); f.Type != "subscribed" {
			t.Fatalf("%s subscribe: %+v", a.Username, f)
		}
		conns[a.Username] = c
	}
	// Removed in the database only: no revocation is sent.
	if _, err := e.Store.RemoveMember(context.Background(), board.Meta{Actor: alice.ID}, b.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		f, ok := conns["bobby"].Next(3 * time.Second)
		if !ok {
			t.Fatalf("the removed member's subscription did not end: %v", conns["bobby"].Err())
		}
		if f.Type == "unsubscribed" && f.Board == b.ID {
			break
		}
	}
	t.Logf("unsubscribed %v after the removal", time.Since(start))
	e.must(owner, "POST", "/api/boards/"+b.ID+"/cards", map[string]string{"column_id": col.ID, "title": "after"}, nil)
	for f, ok := conns["carol"].Next(3 * time.Second); ; f, ok = conns["carol"].Next(3 * time.Second) {
		if !ok {
			t.Fatalf("the remaining member got no event: %v", conns["carol"].Err())
		}
		if f.Type == "unsubscribed" {
			t.Fatalf("the remaining member was unsubscribed: %+v", f)
		}
		if f.Type == "event" && f.Kind == board.KindCardCreated {
			break
		}
	}
	if f := conns["bobby"].Ask(map[string]any{"type": "ping"}); f.Type != "pong" {
		t.Errorf("the removed member's connection: %+v", f)
	}
	if f, ok := conns["bobby"].Next(200 * time.Millisecond); ok && f.Type == "event" {
		t.Errorf("the removed member got %+v", f)
	}
}

// Guessing credentials costs the client IP's budget: once it is spent, even
// a wrong secret is answered 429, and other addresses are unaffected.
func TestBadCredentialsAreRateLimitedPerIP(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{API: func(o *httpapi.Options) {
		o.RateBurst, o.Rate = 3, 0.05
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}})
	guess := apitest.Cred{Bearer: "cbt_not-a-real-token"}
	for range 3 {
		r := e.call(guess, "GET", "/api/boards", nil, "X-Forwarded-For", "203.0.113.9")
		apitest.CheckProblem(t, r, http.StatusUnauthorized, board.EUnauthenticated)
	}
	r := e.call(guess, "GET", "/api/boards", nil, "X-Forwarded-For", "203.0.113.9")
	apitest.CheckProblem(t, r, http.StatusTooManyRequests, board.ERateLimited)
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	r = e.call(guess, "GET", "/api/boards", nil, "X-Forwarded-For", "203.0.113.10")
	apitest.CheckProblem(t, r, http.StatusUnauthorized, board.EUnauthenticated)
}

// GET /api/auth/session tells a page whether it is logged in without a
// failed request: 200 {"user": …} or {"user": null}, never 401; refused
// credentials still cost the address's budget (429 once spent), and a
// logged-in caller's requests cost theirs.
func TestSessionProbe(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{API: func(o *httpapi.Options) {
		o.RateBurst, o.Rate = 4, 0.001
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}})
	type probe struct {
		User *struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"user"`
	}
	r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "sam", "password": "password sam"},
		"X-Forwarded-For", "198.51.100.1")
	u := apitest.Must[board.User](t, r, http.StatusCreated)
	sam := apitest.Cred{Cookie: r.Session()}

	got := apitest.Must[probe](t, e.call(sam, "GET", "/api/auth/session", nil, "X-Forwarded-For", "198.51.100.2"), http.StatusOK)
	if got.User == nil || got.User.ID != u.ID || got.User.Username != "sam" {
		t.Fatalf("logged in: %+v", got.User)
	}
	for _, c := range []struct {
		name string
		cred apitest.Cred
		hdr  []string
	}{
		{"no credential", apitest.Cred{}, nil},
		{"an unknown session", apitest.Cred{Cookie: "cbs_" + strings.Repeat("x", 40)}, nil},
		{"an unknown token", apitest.Cred{Bearer: "cbt_" + strings.Repeat("y", 40)}, nil},
		{"a malformed Authorization", apitest.Cred{}, []string{"Authorization", "Basic abc"}},
	} {
		r := e.call(c.cred, "GET", "/api/auth/session", nil, append([]string{"X-Forwarded-For", "203.0.113.9"}, c.hdr...)...)
		got := apitest.Must[probe](t, r, http.StatusOK)
		if got.User != nil || !strings.Contains(string(r.Body), `"user":null`) {
			t.Errorf("%s: %s", c.name, r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", c.name, cc)
		}
	}
	// The four anonymous probes spent 203.0.113.9's budget.
	apitest.CheckProblem(t, e.call(apitest.Cred{}, "GET", "/api/auth/session", nil, "X-Forwarded-For", "203.0.113.9"),
		http.StatusTooManyRequests, board.ERateLimited)
	// sam has three requests left (the probe above took one), from anywhere.
	for i := range 3 {
		if r := e.call(sam, "GET", "/api/auth/session", nil, "X-Forwarded-For", "192.0.2.1"); r.Status != http.StatusOK {
			t.Fatalf("probe %d: %v", i+2, r)
		}
	}
	apitest.CheckProblem(t, e.call(sam, "GET", "/api/auth/session", nil, "X-Forwarded-For", "192.0.2.2"),
		http.StatusTooManyRequests, board.ERateLimited)
}
