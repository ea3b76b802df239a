package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/commit"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/pgtest"
	"github.com/corkboard/corkboard/internal/ratelimit"
	"github.com/corkboard/corkboard/internal/store"
	"github.com/corkboard/corkboard/internal/ws"
	"github.com/corkboard/corkboard/internal/wsclient"
)

// authEnv is the API with real accounts, wired as cmd/server wires it: the
// auth service (cheap argon2id parameters) over the store on a fresh
// database, sessions in cookies and API tokens as Bearer credentials, the
// WebSocket endpoint on the same hub, security headers and cross-origin
// protection. Nothing replaces authentication (no Options.Identify).
type authEnv struct {
	t       testing.TB
	st      *store.Store
	hub     *hub.Hub
	api     *httpapi.API
	auth    *auth.Service
	handler http.Handler
	srv     *httptest.Server
}

// authOptions adjust the parts of an authEnv before they are built.
type authOptions struct {
	auth func(*auth.Options)
	api  func(*httpapi.Options)
	ws   func(*ws.Options)
}

func newAuthEnv(t testing.TB, o authOptions) *authEnv {
	t.Helper()
	url := pgtest.NewDatabase(t, "store", store.Migrate)
	st, err := store.Open(context.Background(), url, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return newInstance(t, st, o)
}

// newInstance is another server instance on st's database, with its own hub
// and account service (nothing shared in memory with the others).
func newInstance(t testing.TB, st *store.Store, o authOptions) *authEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := hub.New(hub.Options{Log: st, Logger: log})
	unlimited := ratelimit.Limit{Burst: 1 << 20, Every: time.Millisecond}
	ao := auth.Options{Store: st, Revoker: h, Params: auth.TestParams,
		Limits: auth.Limits{Address: unlimited, AccountAddress: unlimited, Account: unlimited, Password: unlimited}}
	if o.auth != nil {
		o.auth(&ao)
	}
	svc := auth.New(ao)
	po := httpapi.Options{Store: st, Budgets: st, Accounts: svc, Committer: commit.New(commit.Options{Local: h}), Logger: log,
		RateBurst: 1 << 30, Rate: 1e9}
	if o.api != nil {
		o.api(&po)
	}
	api := httpapi.New(po)
	wo := ws.Options{Hub: h, Logger: log, Identify: api.Principal}
	if o.ws != nil {
		o.ws(&wo)
	}
	csrf, err := httpapi.CrossOriginProtection(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(httpapi.SecurityHeaders)
	r.With(api.LimitUpgrade).Get("/api/ws", ws.New(wo).ServeHTTP)
	r.With(csrf).Mount("/api", api.Routes())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close) // first: ends the WebSockets
	return &authEnv{t: t, st: st, hub: h, api: api, auth: svc, handler: r, srv: srv}
}

// cred is how a request authenticates: a session secret in the session
// cookie, a secret (session or API token) as a Bearer token, or nothing.
type cred struct {
	cookie string
	bearer string
}

func (c cred) apply(h http.Header) {
	if c.cookie != "" {
		h.Add("Cookie", (&http.Cookie{Name: "corkboard_session", Value: c.cookie}).String())
	}
	if c.bearer != "" {
		h.Set("Authorization", "Bearer "+c.bearer)
	}
}

func (c cred) String() string {
	switch {
	case c.cookie != "":
		return "session cookie"
	case strings.HasPrefix(c.bearer, "cbt_"):
		return "Bearer API token"
	case c.bearer != "":
		return "Bearer session"
	}
	return "no credentials"
}

// call sends a request with the credential; body is nil, a string (sent as
// is) or a value sent as JSON. hdr is name/value pairs.
func (e *authEnv) call(c cred, method, path string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.apply(req.Header)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if res.StatusCode >= 500 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// serve runs a request through the handler in process (for fuzzing: a
// panic surfaces in the test); body is sent as is.
func (e *authEnv) serve(c cred, method, path string, body []byte, hdr ...string) response {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.1:1234"
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	c.apply(req.Header)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// must calls and decodes a 2xx JSON answer into out (when not nil).
func (e *authEnv) must(c cred, method, path string, body, out any) response {
	e.t.Helper()
	r := e.call(c, method, path, body)
	if r.Status/100 != 2 {
		e.t.Fatalf("%s %s as %v: %v", method, path, c, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			e.t.Fatalf("%s %s: decode %T: %v (%v)", method, path, out, err, r)
		}
	}
	return r
}

// sessionCookie returns the session secret a response sets, or "".
func sessionCookie(r response) string {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "corkboard_session" || c.Name == "__Host-corkboard_session" {
			return c.Value
		}
	}
	return ""
}

// account is a user the test signed up, with its password.
type account struct {
	board.User
	password string
}

func (e *authEnv) signup(username string) account {
	e.t.Helper()
	a := account{password: "password of " + username}
	r := e.must(cred{}, "POST", "/api/auth/signup", map[string]string{"username": username, "password": a.password}, &a.User)
	if r.Status != http.StatusCreated || sessionCookie(r) == "" {
		e.t.Fatalf("sign up %s: %v without a session cookie", username, r)
	}
	return a
}

// login opens a new session of a and returns its secret.
func (e *authEnv) login(a account) string {
	e.t.Helper()
	r := e.must(cred{}, "POST", "/api/auth/login", map[string]string{"username": a.Username, "password": a.password}, nil)
	s := sessionCookie(r)
	if s == "" {
		e.t.Fatalf("login %s: no session cookie: %v", a.Username, r)
	}
	return s
}

// currentSession returns the id of the session a secret belongs to.
func (e *authEnv) currentSession(secret string) string {
	e.t.Helper()
	var list struct{ Sessions []board.Session }
	e.must(cred{cookie: secret}, "GET", "/api/auth/sessions", nil, &list)
	for _, s := range list.Sessions {
		if s.Current {
			return s.ID
		}
	}
	e.t.Fatalf("no current session in %+v", list.Sessions)
	return ""
}

// newToken creates an API token with a session and returns it (with its
// secret).
func (e *authEnv) newToken(session, name string) board.APIToken {
	e.t.Helper()
	var tok board.APIToken
	e.must(cred{cookie: session}, "POST", "/api/auth/tokens", map[string]string{"name": name}, &tok)
	if !strings.HasPrefix(tok.Token, "cbt_") || tok.ID == "" {
		e.t.Fatalf("token %+v", tok)
	}
	return tok
}

// fingerprint digests the state a refused request must not change: boards
// (seq, version), members, columns, cards, comments, checklists and their
// items, the event log, users (with their
// password hashes), sessions and API tokens (which exist; not when they
// were last used), webhooks, their delivery logs and pending jobs.
func (e *authEnv) fingerprint() string {
	e.t.Helper()
	var fp string
	err := e.st.Pool().QueryRow(context.Background(), `
		SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
			SELECT 'b:' || id || ':' || seq || ':' || version || ':' || name FROM boards
			UNION ALL SELECT 'm:' || board_id || ':' || user_id || ':' || role FROM board_members
			UNION ALL SELECT 'l:' || id || ':' || version || ':' || rank FROM columns
			UNION ALL SELECT 'c:' || id || ':' || version || ':' || rank || ':' || column_id FROM cards
			UNION ALL SELECT 'e:' || board_id || ':' || seq FROM events
			UNION ALL SELECT 'k:' || id || ':' || version || ':' || text FROM comments
			UNION ALL SELECT 'h:' || id || ':' || version || ':' || name FROM checklists
			UNION ALL SELECT 'i:' || id || ':' || version || ':' || rank || ':' || done FROM checklist_items
			UNION ALL SELECT 'u:' || id || ':' || username || ':' || password_hash FROM users
			UNION ALL SELECT 's:' || id || ':' || expires_at FROM sessions
			UNION ALL SELECT 't:' || id || ':' || coalesce(expires_at::text, '') FROM api_tokens
			UNION ALL SELECT 'w:' || id || ':' || url || ':' || active || ':' || kinds::text || ':' || md5(secret) || ':' || updated_at FROM webhooks
			UNION ALL SELECT 'wd:' || id || ':' || webhook_id FROM webhook_deliveries
			UNION ALL SELECT 'wj:' || id FROM webhook_jobs
		) f(x)`).Scan(&fp)
	if err != nil {
		e.t.Fatalf("fingerprint: %v", err)
	}
	return fp
}

// wsConn is a WebSocket client that reads frames as they come.
type wsConn struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan wsclient.Frame
	done   chan struct{}
	err    error
}

// dialWS opens /api/ws with a credential (and extra headers as name/value
// pairs). It returns the HTTP response when the upgrade is refused.
func (e *authEnv) dialWS(c cred, hdr ...string) (*wsConn, *http.Response, error) {
	h := http.Header{}
	c.apply(h)
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return dialWSURL(e.t, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/ws", h)
}

func dialWSURL(t testing.TB, url string, h http.Header) (*wsConn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	w := &wsConn{t: t, c: conn, frames: make(chan wsclient.Frame, 1024), done: make(chan struct{})}
	go w.read()
	t.Cleanup(func() { conn.CloseNow() })
	return w, resp, nil
}

func (w *wsConn) read() {
	defer close(w.done)
	defer close(w.frames)
	for {
		_, msg, err := w.c.Read(context.Background())
		if err != nil {
			w.err = err
			return
		}
		for _, line := range bytes.Split(msg, []byte{'\n'}) {
			var f wsclient.Frame
			if err := json.Unmarshal(line, &f); err != nil {
				w.err = fmt.Errorf("bad frame %q: %w", line, err)
				return
			}
			select {
			case w.frames <- f:
			default:
				w.err = fmt.Errorf("test client: frame buffer full")
				return
			}
		}
	}
}

func (w *wsConn) send(v any) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, _ := json.Marshal(v)
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("send %s: %v", b, err)
	}
}

// next returns the next frame that is not presence, within d.
func (w *wsConn) next(d time.Duration) (wsclient.Frame, bool) {
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				return wsclient.Frame{}, false
			}
			if f.Type == "presence" {
				continue
			}
			return f, true
		case <-timeout:
			return wsclient.Frame{}, false
		}
	}
}

// ask sends a frame with an id and returns the answer carrying that id.
func (w *wsConn) ask(v map[string]any) wsclient.Frame {
	w.t.Helper()
	id := fmt.Sprint(time.Now().UnixNano())
	v["id"] = id
	w.send(v)
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, ok := w.next(time.Until(deadline))
		if !ok {
			w.t.Fatalf("no answer to %v (connection: %v)", v, w.err)
		}
		if f.ID == id || (f.Type == "subscribed" && f.Board == v["board"]) {
			return f
		}
	}
}

// closed waits for the connection to end and returns its close status.
func (w *wsConn) closed(d time.Duration) (websocket.StatusCode, bool) {
	select {
	case <-w.done:
		return websocket.CloseStatus(w.err), true
	case <-time.After(d):
		return -1, false
	}
}
