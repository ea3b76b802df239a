package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/devtools/wsclient"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

const trustedOrigin = "https://app.example"

// startSecured starts one instance that trusts trustedOrigin.
func startSecured(t *testing.T) *App {
	t.Helper()
	cfg := testConfig(pgtest.NewDatabase(t, "corkboard", store.Migrate), "")
	cfg.TrustedOrigins = []string{trustedOrigin}
	return startApp(t, cfg)
}

// rawDo sends a request with exactly the given headers (name/value pairs)
// and returns the status, headers and body.
func rawDo(t *testing.T, method, url string, body any, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	r, err := apitest.NewClient(t, "", apitest.Cred{}).Send(method, url, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r.Status, r.Header, r.Body
}

// Cross-Site WebSocket Hijacking: an upgrade that carries a valid session
// cookie is refused with 403 (no upgrade) from a foreign Origin, from
// look-alikes of the server's own origin and from a trusted origin with
// another scheme; it is accepted from the server's own origin, from a
// trusted origin, and without an Origin (not a browser).
func TestCrossSiteWebSocketHijacking(t *testing.T) {
	t.Parallel()
	a := startSecured(t)
	c := a.api(t, "victim")
	boardID, _ := c.newBoard("private")
	_, port, _ := net.SplitHostPort(a.Addr())
	otherPort := "1"
	if port == "1" {
		otherPort = "2"
	}
	cookie := (&http.Cookie{Name: "corkboard_session", Value: c.secret}).String()

	dial := func(origin string) (*websocket.Conn, *http.Response, error) {
		h := http.Header{}
		h.Set("Cookie", cookie)
		if origin != "" {
			h.Set("Origin", origin)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return websocket.Dial(ctx, "ws://"+a.Addr()+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
	}
	for _, origin := range []string{
		"https://evil.example",
		"http://127.0.0.1.evil.example",
		"http://127.0.0.1.evil.example:" + port,
		"http://127.0.0.1:" + otherPort,
		"http://localhost:" + port,
		"http://evil.example/127.0.0.1:" + port,
		"http://127.0.0.1:" + port + "@evil.example",
		"null",
		"https://app.example.evil.example",
		"https://evil-app.example",
		"https://sub.app.example",
		"http://app.example", // a trusted host, but not over HTTPS
		"https://app.example:8443",
	} {
		conn, resp, err := dial(origin)
		if err == nil {
			conn.CloseNow()
			t.Errorf("UPGRADED with a valid session from Origin %q", origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden || resp.Header.Get("Upgrade") != "" {
			t.Errorf("Origin %q: %v, want 403 without an upgrade", origin, resp)
		}
	}
	for _, origin := range []string{"", "http://" + a.Addr(), "HTTP://" + strings.ToUpper(a.Addr()), trustedOrigin, "HTTPS://APP.EXAMPLE"} {
		conn, resp, err := dial(origin)
		if err != nil {
			t.Errorf("Origin %q refused: %v (%v)", origin, err, resp)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","board":"`+boardID+`"}`)) //nolint:errcheck // read below
		_, msg, err := conn.Read(ctx)
		cancel()
		if err != nil || !bytes.Contains(msg, []byte(`"subscribed"`)) {
			t.Errorf("Origin %q: subscribe answered %s, %v", origin, msg, err)
		}
		conn.Close(websocket.StatusNormalClosure, "")
	}
	// A foreign origin without credentials is refused as well (401 first).
	h := http.Header{"Origin": {"https://evil.example"}}
	if _, resp, err := websocket.Dial(context.Background(), "ws://"+a.Addr()+"/api/ws", &websocket.DialOptions{HTTPHeader: h}); err == nil ||
		resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous foreign upgrade: %v, %v", resp, err)
	}
}

// CSRF: unsafe requests that a browser marks cross-site (Sec-Fetch-Site) or
// that come from another Origin are refused with a 403 problem and change
// nothing, even with a valid session cookie; same-origin requests, the
// trusted origin, safe methods and non-browser clients pass.
func TestCrossSiteRequestForgery(t *testing.T) {
	t.Parallel()
	a := startSecured(t)
	c := a.api(t, "csrf-victim")
	boardID, colID := c.newBoard("mine")
	base := "http://" + a.Addr()
	cookie := (&http.Cookie{Name: "corkboard_session", Value: c.secret}).String()
	seq := func() int64 {
		var s int64
		if err := a.store.Pool().QueryRow(context.Background(), `SELECT seq FROM boards WHERE id = $1`, boardID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	count := func(sql string) int {
		var n int
		a.store.Pool().QueryRow(context.Background(), sql).Scan(&n) //nolint:errcheck // compared below
		return n
	}
	type req struct {
		method, path string
		body         any
	}
	unsafe := []req{
		{"POST", "/api/boards", map[string]string{"name": "forged"}},
		{"PATCH", "/api/boards/" + boardID, map[string]string{"name": "forged"}},
		{"POST", "/api/boards/" + boardID + "/cards", map[string]string{"column_id": colID, "title": "forged"}},
		{"DELETE", "/api/boards/" + boardID, nil},
		{"POST", "/api/boards/" + boardID + "/members", map[string]string{"username": "csrf-attacker", "role": "owner"}},
		{"POST", "/api/auth/tokens", map[string]string{"name": "forged"}},
		{"POST", "/api/auth/password", map[string]string{"current_password": "password of csrf-victim", "new_password": "forged password"}},
		{"POST", "/api/auth/logout", nil},
		{"POST", "/api/auth/login", map[string]string{"username": "csrf-attacker", "password": "password of csrf-attacker"}},
		{"POST", "/api/auth/signup", map[string]string{"username": "forged-user", "password": "forged password"}},
	}
	a.api(t, "csrf-attacker")
	_, port, _ := net.SplitHostPort(a.Addr())
	refusals := [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "same-site", "Origin", "http://evil.127.0.0.1.nip.io:" + port},
		{"Origin", "https://evil.example"},
		{"Origin", "http://127.0.0.1.evil.example:" + port},
		{"Origin", "http://127.0.0.1:1"},
		{"Origin", "null"},
		{"Origin", "http://app.example"}, // the trusted host, over HTTP
	}
	seq0, boards0, tokens0, users0 := seq(), count(`SELECT count(*) FROM boards`), count(`SELECT count(*) FROM api_tokens`),
		count(`SELECT count(*) FROM users`)
	for _, r := range unsafe {
		for _, h := range refusals {
			st, hdr, body := rawDo(t, r.method, base+r.path, r.body, append([]string{"Cookie", cookie}, h...)...)
			if st != http.StatusForbidden || hdr.Get("Content-Type") != "application/problem+json" ||
				!bytes.Contains(body, []byte(`"code":"forbidden"`)) {
				t.Errorf("%s %s with %q: %d %s, want a 403 problem", r.method, r.path, h, st, body)
			}
		}
	}
	if seq() != seq0 || count(`SELECT count(*) FROM boards`) != boards0 || count(`SELECT count(*) FROM api_tokens`) != tokens0 ||
		count(`SELECT count(*) FROM users`) != users0 {
		t.Errorf("refused cross-site requests changed something")
	}
	if st := c.do("GET", "/api/auth/me", nil, nil); st != http.StatusOK {
		t.Errorf("the victim's session after a forged logout: %d", st)
	}
	// Safe methods pass whatever their origin.
	if st, _, body := rawDo(t, "GET", base+"/api/boards/"+boardID, nil, "Cookie", cookie, "Sec-Fetch-Site", "cross-site",
		"Origin", "https://evil.example"); st != http.StatusOK {
		t.Errorf("cross-site GET: %d %s", st, body)
	}
	// Same-origin, user-initiated, trusted-origin and non-browser writes pass.
	for i, h := range [][]string{
		{"Sec-Fetch-Site", "same-origin", "Origin", base},
		{"Sec-Fetch-Site", "none"},
		{"Origin", base},
		{"Origin", trustedOrigin},
		{"Sec-Fetch-Site", "cross-site", "Origin", trustedOrigin},
		{}, // curl, scripts
	} {
		st, _, body := rawDo(t, "POST", base+"/api/boards/"+boardID+"/cards",
			map[string]string{"column_id": colID, "title": "ok"}, append([]string{"Cookie", cookie}, h...)...)
		if st != http.StatusCreated {
			t.Errorf("write %d with %q: %d %s", i, h, st, body)
		}
	}
	if got := seq(); got != seq0+6 {
		t.Errorf("seq %d after six accepted writes from %d", got, seq0)
	}
}

// The real server's responses carry the security headers, the API's, the
// WebSocket refusals', the static files' and the health checks' alike.
func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	a := startSecured(t)
	base := "http://" + a.Addr()
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/auth/me"}, {"GET", "/api/nowhere"}, {"GET", "/api/ws"}, {"GET", "/"}, {"GET", "/healthz"},
		{"POST", "/api/auth/login"},
	} {
		_, h, _ := rawDo(t, r.method, base+r.path, nil)
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s %s: CSP %q", r.method, r.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: headers %v", r.method, r.path, h)
		}
	}
}

// --- Revocation of open WebSockets across instances ---

// dialAs opens a WebSocket at an instance with a secret as the Bearer
// credential.
func dialAs(t *testing.T, a *App, secret string) *apitest.Conn {
	t.Helper()
	return apitest.MustDial(t, "http://"+a.Addr(), apitest.Cred{Bearer: secret})
}

// loginAt logs a user in at an instance and returns the session secret.
func loginAt(t *testing.T, a *App, user string) string {
	t.Helper()
	return apitest.Login(t, "http://"+a.Addr(), apitest.Account{User: board.User{Username: user}, Password: apitest.Password(user)})
}

// as is a client of an instance with a given secret.
func as(t *testing.T, a *App, user, secret string) *api {
	c := *a.api(t, user)
	c.secret = secret
	return &c
}

// Logging out, a password change, ending a session, revoking an API token
// and removal from a board end the affected WebSockets on every instance
// within a second or two, and nothing else.
func TestRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 2, nil)
	a0, a1 := cl.apps[0], cl.apps[1]
	const limit = 2 * time.Second

	t.Run("logout", func(t *testing.T) {
		a0.api(t, "leaver")
		s1, s2 := loginAt(t, a0, "leaver"), loginAt(t, a1, "leaver")
		boardID, _ := as(t, a0, "leaver", s1).newBoard("b")
		w1 := dialAs(t, a1, s1) // the session that logs out, on the other instance
		w1b := dialAs(t, a0, s1)
		w2 := dialAs(t, a1, s2) // another session of the user
		for _, w := range []*apitest.Conn{w1, w1b, w2} {
			w.Join(boardID)
		}
		if st := as(t, a0, "leaver", s1).do("POST", "/api/auth/logout", nil, nil); st != http.StatusNoContent {
			t.Fatalf("logout: %d", st)
		}
		d := w1.ClosedWithin(limit, websocket.StatusPolicyViolation, "the logged-out session's socket on the other instance")
		w1b.ClosedWithin(limit, websocket.StatusPolicyViolation, "the logged-out session's socket on this instance")
		t.Logf("closed on the other instance %v after the logout answered", d)
		w2.Alive("the user's other session")
		// The other session still gets events.
		as(t, a0, "leaver", s2).mustDo("PATCH", "/api/boards/"+boardID, map[string]string{"name": "renamed"}, nil)
		w2.Await(limit, "an event", func(f wsclient.Frame) bool { return f.Type == "event" && f.Kind == board.KindBoardUpdated })
		// A logged-out session cannot connect again.
		if _, err := wsclient.Dial(context.Background(), "ws://"+a1.Addr()+"/api/ws", s1, 1); err == nil {
			t.Error("the ended session opened a WebSocket")
		}
	})

	t.Run("end another session", func(t *testing.T) {
		a0.api(t, "ender")
		s1, s2 := loginAt(t, a0, "ender"), loginAt(t, a0, "ender")
		w2 := dialAs(t, a1, s2)
		w1 := dialAs(t, a1, s1)
		var list struct{ Sessions []board.Session }
		as(t, a1, "ender", s2).mustDo("GET", "/api/auth/sessions", nil, &list)
		id2 := ""
		for _, s := range list.Sessions {
			if s.Current {
				id2 = s.ID
			}
		}
		as(t, a0, "ender", s1).mustDo("DELETE", "/api/auth/sessions/"+id2, nil, nil)
		w2.ClosedWithin(limit, websocket.StatusPolicyViolation, "the ended session's socket")
		w1.Alive("the session that ended the other")
	})

	t.Run("password change", func(t *testing.T) {
		a0.api(t, "changer")
		s1, s2, s3 := loginAt(t, a0, "changer"), loginAt(t, a1, "changer"), loginAt(t, a0, "changer")
		boardID, _ := as(t, a0, "changer", s1).newBoard("b")
		var tok board.APIToken
		as(t, a0, "changer", s1).mustDo("POST", "/api/auth/tokens", map[string]string{"name": "script"}, &tok)
		w1 := dialAs(t, a1, s1) // the session that changes the password
		w2 := dialAs(t, a1, s2)
		w3 := dialAs(t, a0, s3)
		wt := dialAs(t, a1, tok.Token)
		for _, w := range []*apitest.Conn{w1, w2, w3, wt} {
			w.Join(boardID)
		}
		if st := as(t, a0, "changer", s1).do("POST", "/api/auth/password",
			map[string]string{"current_password": "password of changer", "new_password": "a new password"}, nil); st != http.StatusOK {
			t.Fatalf("password change: %d", st)
		}
		w2.ClosedWithin(limit, websocket.StatusPolicyViolation, "another session's socket on the other instance")
		w3.ClosedWithin(limit, websocket.StatusPolicyViolation, "another session's socket on this instance")
		wt.ClosedWithin(limit, websocket.StatusPolicyViolation, "an API token's socket on the other instance")
		w1.Alive("the session that changed the password")
		if st := as(t, a1, "changer", s2).do("GET", "/api/auth/me", nil, nil); st != http.StatusUnauthorized {
			t.Errorf("another session after the password change: %d", st)
		}
		// The token is revoked, not only its socket closed: REST refuses it
		// on every instance.
		for _, a := range []*App{a0, a1} {
			if st := as(t, a, "changer", tok.Token).do("GET", "/api/boards", nil, nil); st != http.StatusUnauthorized {
				t.Errorf("the API token after the password change: %d", st)
			}
		}
	})

	t.Run("token revoked", func(t *testing.T) {
		c := a0.api(t, "scripter")
		var t1, t2 board.APIToken
		c.mustDo("POST", "/api/auth/tokens", map[string]string{"name": "one"}, &t1)
		c.mustDo("POST", "/api/auth/tokens", map[string]string{"name": "two"}, &t2)
		w1, w2 := dialAs(t, a1, t1.Token), dialAs(t, a1, t2.Token)
		ws := dialAs(t, a1, c.secret)
		c.mustDo("DELETE", "/api/auth/tokens/"+t1.ID, nil, nil)
		w1.ClosedWithin(limit, websocket.StatusPolicyViolation, "the revoked token's socket")
		w2.Alive("another token's socket")
		ws.Alive("a session's socket")
	})

	t.Run("removed from a board", func(t *testing.T) {
		owner := a0.api(t, "remover")
		shared, colID := owner.newBoard("shared")
		own, _ := a0.api(t, "member").newBoard("member's own")
		addMember(t, a0, "remover", shared, "member", board.RoleEditor)
		m := a0.api(t, "member")
		w := dialAs(t, a1, m.secret)  // on the other instance
		wl := dialAs(t, a0, m.secret) // and on this one
		for _, x := range []*apitest.Conn{w, wl} {
			x.Join(shared)
			x.Join(own)
		}
		start := time.Now()
		owner.mustDo("DELETE", "/api/boards/"+shared+"/members/"+m.id, nil, nil)
		for _, x := range []*apitest.Conn{w, wl} {
			f := x.Await(limit, "unsubscribed", func(f wsclient.Frame) bool { return f.Type == "unsubscribed" && f.Board == shared })
			if f.Reason == "" {
				t.Errorf("unsubscribed without a reason: %+v", f)
			}
		}
		t.Logf("unsubscribed on both instances within %v", time.Since(start))
		// Later events of the board do not reach the removed member; those
		// of the member's own board do; the socket stays open.
		owner.mustDo("POST", "/api/boards/"+shared+"/cards", map[string]string{"column_id": colID, "title": "after"}, nil)
		m.mustDo("PATCH", "/api/boards/"+own, map[string]string{"name": "still mine"}, nil)
		for _, x := range []*apitest.Conn{w, wl} {
			x.Await(limit, "an event of the member's own board", func(f wsclient.Frame) bool {
				if f.Type == "event" && f.Board == shared && f.Kind != board.KindMemberRemoved {
					t.Errorf("the removed member got %s of the board", f.Kind)
				}
				return f.Type == "event" && f.Board == own
			})
			// Resubscribing is refused.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			x.Subscribe(ctx, shared, -1) //nolint:errcheck // answered below
			cancel()
			x.Await(limit, "not_found", func(f wsclient.Frame) bool {
				if f.Type == "subscribed" && f.Board == shared {
					t.Errorf("the removed member subscribed again")
				}
				return f.Type == "error" && f.Board == shared && f.Code == board.ENotFound
			})
		}
		if st := m.do("GET", "/api/boards/"+shared, nil, nil); st != http.StatusNotFound {
			t.Errorf("the removed member reads the board: %d", st)
		}
	})
}

// /api/ws upgrades are wired through the request budgets (with the
// production limits): a flood of upgrades with a bogus session from one
// address turns from 401 to 429 once the address's budget is spent, and
// then that address's REST requests with bogus credentials are refused
// too: one budget.
func TestUpgradeFloodRefused(t *testing.T) {
	t.Parallel()
	cfg := testConfig(pgtest.NewDatabase(t, "corkboard", store.Migrate), "")
	cfg.hooks.cheapAuth = false
	cfg.hooks.requestRate = 0.1 // a spent budget stays spent for the test's length
	a := startApp(t, cfg)
	base := "http://" + a.Addr()
	cookie := (&http.Cookie{Name: "corkboard_session", Value: "cbs_made-up"}).String()
	counts := map[int]int{}
	for range 300 {
		st, h, _ := rawDo(t, "GET", base+"/api/ws", nil, "Cookie", cookie, "Connection", "Upgrade", "Upgrade", "websocket",
			"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		counts[st]++
		if st == http.StatusTooManyRequests {
			if h.Get("Retry-After") == "" || h.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("429 without Retry-After or problem: %v", h)
			}
			break
		}
	}
	if counts[http.StatusTooManyRequests] != 1 || counts[http.StatusUnauthorized] < 100 || len(counts) != 2 {
		t.Fatalf("upgrades with a bogus session: %v, want 401s (the burst of 100) then 429", counts)
	}
	if st, _, _ := rawDo(t, "GET", base+"/api/boards", nil, "Cookie", cookie); st != http.StatusTooManyRequests {
		t.Errorf("a REST request with a bogus session after the upgrade flood: %d, want 429", st)
	}
}

// A logout made while every NATS node is down cannot travel on the bus; the
// logged-out session's socket on another instance is closed all the same,
// within degradedRecheck (plus the watch's tick and the check itself),
// because credentials are checked that often while the bus is down.
func TestRevocationWhileNATSDown(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	nodes, natsURL := natsCluster(t, 2)
	a0, a1 := startApp(t, testConfig(dbURL, natsURL)), startApp(t, testConfig(dbURL, natsURL))
	a0.api(t, "cutoff")
	s1 := loginAt(t, a0, "cutoff")
	boardID, _ := as(t, a0, "cutoff", s1).newBoard("b")
	w := dialAs(t, a1, s1)
	w.Join(boardID)

	for _, n := range nodes {
		n.Shutdown()
	}
	waitFor(t, 10*time.Second, "both instances to lose the bus", func() bool {
		return !a0.bus.Connected() && !a1.bus.Connected()
	})
	if st := as(t, a0, "cutoff", s1).do("POST", "/api/auth/logout", nil, nil); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}
	d := w.ClosedWithin(degradedRecheck+5*time.Second, websocket.StatusPolicyViolation,
		"the logged-out session's socket on the other instance, with the bus down")
	t.Logf("closed %v after the logout answered (bus down)", d)
}
