package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/pgtest"
	"github.com/corkboard/corkboard/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is the API mounted at /api on a test server, over the real store on a
// fresh database.
type env struct {
	t       testing.TB
	st      *store.Store
	handler http.Handler
	srv     *httptest.Server
}

// newEnv starts the API on a fresh migrated database. opts may adjust the
// API's options (the store is already set).
func newEnv(t testing.TB, opts ...func(*httpapi.Options)) *env {
	t.Helper()
	url := pgtest.NewDatabase(t, "store", store.Migrate)
	st, err := store.Open(context.Background(), url, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	o := httpapi.Options{Store: st, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Identify: headerIdentity, RateBurst: 1 << 30, Rate: 1e9}
	for _, f := range opts {
		f(&o)
	}
	r := chi.NewRouter()
	r.Mount("/api", httpapi.New(o).Routes())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, handler: r, srv: srv}
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

// response is a response read in full.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// request builds a request. body is nil (none), a string or []byte (sent as
// is) or any other value (sent as JSON); a body gets Content-Type
// application/json unless hdr sets it. hdr is name/value pairs.
func (e *env) request(method, path, user string, body any, hdr ...string) *http.Request {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, path, rd)
	if err != nil {
		panic(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("X-User", user)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// send makes a request to the test server; safe from any goroutine.
func (e *env) send(method, path, user string, body any, hdr ...string) (response, error) {
	req := e.request(method, e.srv.URL+path, user, body, hdr...)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// do is send for the test goroutine; it fails the test on a transport error
// or a 5xx, which no request of these tests may cause.
func (e *env) do(method, path, user string, body any, hdr ...string) response {
	e.t.Helper()
	r, err := e.send(method, path, user, body, hdr...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Status >= 500 {
		e.t.Fatalf("%s %s: %v", method, path, r)
	}
	return r
}

// serve runs a request through the handler in process (for fuzzing: a panic
// surfaces in the test).
func (e *env) serve(method, path, user string, body any, hdr ...string) response {
	rec := httptest.NewRecorder()
	req := e.request(method, path, user, body, hdr...)
	if req.Body == nil {
		req.Body = http.NoBody // as a server passes it
	}
	e.handler.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// ok asserts status and decodes the JSON body into a T.
func ok[T any](t testing.TB, r response, status int) T {
	t.Helper()
	var v T
	if r.Status != status {
		t.Fatalf("got %v, want %d", r, status)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json (%v)", ct, r)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %T: %v (%v)", v, err, r)
	}
	return v
}

// problem is an RFC 9457 document as clients read it.
type problem struct {
	Type     string          `json:"type"`
	Title    string          `json:"title"`
	Status   int             `json:"status"`
	Detail   string          `json:"detail"`
	Code     string          `json:"code"`
	Field    string          `json:"field"`
	Instance string          `json:"instance"`
	Current  json.RawMessage `json:"current"`
}

// checkProblem reports (with t.Errorf) unless r is a problem document with
// the status and code; it returns the document.
func checkProblem(t testing.TB, r response, status int, code string) problem {
	t.Helper()
	var p problem
	if r.Status != status {
		t.Errorf("got %v, want %d %s", r, status, code)
		return p
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json (%v)", ct, r)
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Errorf("decode problem: %v (%v)", err, r)
		return p
	}
	if p.Code != code || p.Status != status || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Errorf("problem %+v, want status %d code %s", p, status, code)
	}
	return p
}

func mustProblem(t testing.TB, r response, status int, code string) problem {
	t.Helper()
	p := checkProblem(t, r, status, code)
	if t.Failed() {
		t.FailNow()
	}
	return p
}

const (
	alice = "alice"
	bob   = "bob"
	carol = "carol"
)

func (e *env) mkBoard(user, name string) board.Board {
	e.t.Helper()
	return ok[board.Board](e.t, e.do("POST", "/api/boards", user, board.BoardInput{Name: name}), http.StatusCreated)
}

func (e *env) mkColumn(user, boardID, name string) board.Column {
	e.t.Helper()
	return ok[board.Column](e.t, e.do("POST", "/api/boards/"+boardID+"/columns", user,
		map[string]any{"name": name}), http.StatusCreated)
}

func (e *env) mkCard(user, boardID, colID, title string) board.Card {
	e.t.Helper()
	return ok[board.Card](e.t, e.do("POST", "/api/boards/"+boardID+"/cards", user,
		map[string]any{"column_id": colID, "title": title}), http.StatusCreated)
}

func (e *env) snapshot(user, boardID string) board.Snapshot {
	e.t.Helper()
	return ok[board.Snapshot](e.t, e.do("GET", "/api/boards/"+boardID, user, nil), http.StatusOK)
}

func (e *env) card(boardID, cardID string) board.Card {
	e.t.Helper()
	return ok[board.Card](e.t, e.do("GET", "/api/boards/"+boardID+"/cards/"+cardID, alice, nil), http.StatusOK)
}

// seq reads the board's seq straight from the database.
func (e *env) seq(boardID string) int64 {
	e.t.Helper()
	var seq int64
	if err := e.st.Pool().QueryRow(context.Background(), `SELECT seq FROM boards WHERE id = $1`, boardID).Scan(&seq); err != nil {
		e.t.Fatalf("seq of board %s: %v", boardID, err)
	}
	return seq
}

// count runs a count(*) query.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.st.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// addMember makes user a member of the board with role, directly in SQL
// (the API has no member management yet).
func (e *env) addMember(boardID, user, role string) {
	e.t.Helper()
	if _, err := e.st.Pool().Exec(context.Background(),
		`INSERT INTO board_members (board_id, user_id, role) VALUES ($1, $2, $3)`, boardID, user, role); err != nil {
		e.t.Fatal(err)
	}
}

// frozen records the state of boards (seq and the snapshot's bytes, read as
// their owner) and checks later that nothing changed.
type frozen struct {
	e     *env
	seqs  map[string]int64
	snaps map[string][]byte
}

func (e *env) freeze(boardIDs ...string) *frozen {
	e.t.Helper()
	f := &frozen{e: e, seqs: map[string]int64{}, snaps: map[string][]byte{}}
	for _, id := range boardIDs {
		f.seqs[id] = e.seq(id)
		r := e.do("GET", "/api/boards/"+id, alice, nil)
		if r.Status != http.StatusOK {
			e.t.Fatalf("snapshot of %s: %v", id, r)
		}
		f.snaps[id] = r.Body
	}
	return f
}

// check reports every board whose seq or snapshot changed since freeze.
func (f *frozen) check(t testing.TB, what string) {
	t.Helper()
	for id, seq := range f.seqs {
		if got := f.e.seq(id); got != seq {
			t.Errorf("%s: board %s seq %d, want %d (unchanged)", what, id, got, seq)
		}
		r := f.e.do("GET", "/api/boards/"+id, alice, nil)
		if !bytes.Equal(r.Body, f.snaps[id]) {
			t.Errorf("%s: board %s snapshot changed:\n was %s\n now %s", what, id, f.snaps[id], r.Body)
		}
	}
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
