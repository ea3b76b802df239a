package httpapi_test

import (
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is the API alone mounted at /api on a test server, over the real
// store on a fresh database, with injected options: the caller is taken
// from the X-User header (headerIdentity) unless opts say otherwise. The
// API with real accounts, as cmd/server wires it, is authEnv.
type env struct {
	t       testing.TB
	Store   *store.Store
	Handler http.Handler
	HTTP    *httptest.Server
}

// newEnv starts the API on a fresh migrated database. opts may adjust the
// API's options (the store is already set).
func newEnv(t testing.TB, opts ...func(*httpapi.Options)) *env {
	t.Helper()
	return serveAPI(t, apitest.OpenStore(t), opts...)
}

// serveAPI starts the API on st.
func serveAPI(t testing.TB, st *store.Store, opts ...func(*httpapi.Options)) *env {
	t.Helper()
	o := httpapi.Options{Store: st, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Identify: headerIdentity, RateBurst: 1 << 30, Rate: 1e9}
	for _, f := range opts {
		f(&o)
	}
	r := chi.NewRouter()
	r.Mount("/api", httpapi.New(o).Routes())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &env{t: t, Store: st, Handler: r, HTTP: srv}
}

// headerIdentity takes the caller from the X-User header: these tests are
// about the API's behaviour for a known caller; authentication has its own
// tests.
func headerIdentity(r *http.Request) (board.Principal, error) {
	u := r.Header.Get("X-User")
	if u == "" {
		return board.Principal{}, board.Errorf(board.EUnauthenticated, "no X-User")
	}
	return board.Principal{UserID: u, Username: u}, nil
}

// with returns e for use by the (sub)test t.
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// as is a client of the API as user (none when "").
func (e *env) as(user string) *apitest.Client {
	c := apitest.NewClient(e.t, e.HTTP.URL, apitest.Cred{})
	if user != "" {
		c.Cred.Header = []string{"X-User", user}
	}
	return c
}

// request builds a request as user (see apitest.NewRequest).
func (e *env) request(method, url, user string, body any, hdr ...string) *http.Request {
	req, err := apitest.NewRequest(method, url, e.as(user).Cred, body, hdr...)
	if err != nil {
		panic(err)
	}
	return req
}

// send makes a request as user; safe from any goroutine.
func (e *env) send(method, path, user string, body any, hdr ...string) (apitest.Response, error) {
	return e.as(user).Send(method, path, body, hdr...)
}

// do is send for the test goroutine; it fails the test on a transport error
// or a 5xx, which no request of these tests may cause.
func (e *env) do(method, path, user string, body any, hdr ...string) apitest.Response {
	e.t.Helper()
	return e.as(user).Do(method, path, body, hdr...)
}

// serve runs a request through the handler in process (for fuzzing: a panic
// surfaces in the test).
func (e *env) serve(method, path, user string, body any, hdr ...string) apitest.Response {
	return apitest.Serve(e.Handler, "", e.as(user).Cred, method, path, body, hdr...)
}

const (
	alice = "alice"
	bob   = "bob"
	carol = "carol"
)

func (e *env) mkBoard(user, name string) board.Board {
	e.t.Helper()
	return e.as(user).NewBoard(name)
}

func (e *env) mkColumn(user, boardID, name string) board.Column {
	e.t.Helper()
	return e.as(user).NewColumn(boardID, name)
}

func (e *env) mkCard(user, boardID, colID, title string) board.Card {
	e.t.Helper()
	return e.as(user).NewCard(boardID, colID, title)
}

func (e *env) snapshot(user, boardID string) board.Snapshot {
	e.t.Helper()
	return e.as(user).Snapshot(boardID)
}

func (e *env) card(boardID, cardID string) board.Card {
	e.t.Helper()
	return apitest.Must[board.Card](e.t, e.do("GET", "/api/boards/"+boardID+"/cards/"+cardID, alice, nil), http.StatusOK)
}

// seq reads the board's seq straight from the database.
func (e *env) seq(boardID string) int64 {
	e.t.Helper()
	return apitest.Seq(e.t, e.Store.Pool(), boardID)
}

// count runs a count(*) query.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	return apitest.Count(e.t, e.Store.Pool(), sql, args...)
}

// addMember makes user a member of the board with role, directly in SQL
// (these users have no accounts to invite).
func (e *env) addMember(boardID, user, role string) {
	e.t.Helper()
	apitest.Exec(e.t, e.Store.Pool(), `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, $2, $3)`, boardID, user, role)
}

// freeze records the state of boards (seq and the snapshot's bytes, read as
// their owner alice) to check later that nothing changed.
func (e *env) freeze(boardIDs ...string) *apitest.Frozen {
	e.t.Helper()
	return apitest.Freeze(e.as(alice), e.Store.Pool(), boardIDs...)
}

// requestHash is the hash the API stores with an Idempotency-Key: method,
// request URI and body. Tests use it to claim a key as an in-flight request
// would.
func requestHash(method, uri string, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(method + " " + uri + "\n"))
	h.Write(body)
	return h.Sum(nil)
}
