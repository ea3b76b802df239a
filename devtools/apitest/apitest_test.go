package apitest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/devtools/wsclient"
	"github.com/corkboard/corkboard/internal/board"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recorder is a testing.TB that records Errorf instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// Write retries what did not reach an instance with the same key, and
// reports an answer that is a refusal.
func TestWrite(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		switch {
		case r.URL.Path == "/bad":
			w.WriteHeader(http.StatusBadRequest)
		case n <= 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c1"}`)
		}
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	c := apitest.NewClient(rec, srv.URL, apitest.Cred{Bearer: "x"})
	var out struct{ ID string }
	if !c.Write("POST", "/ok", "k1", map[string]string{"a": "b"}, &out) || out.ID != "c1" {
		t.Errorf("Write = false or %+v, want true and c1 (errors %q)", out, rec.errs)
	}
	if len(keys) != 3 || keys[0] != "k1" || keys[2] != "k1" {
		t.Errorf("keys sent %q, want k1 three times", keys)
	}
	if c.Write("POST", "/bad", "k2", nil, nil) || len(rec.errs) != 1 {
		t.Errorf("a 400 was not reported once: %q", rec.errs)
	}
}

// CheckProblem accepts only a problem document with the status and code.
func TestCheckProblem(t *testing.T) {
	hdr := http.Header{"Content-Type": {"application/problem+json"}}
	good := apitest.Response{Status: 404, Header: hdr,
		Body: []byte(`{"type":"about:blank","title":"Not Found","status":404,"detail":"no such board","code":"not_found"}`)}
	for _, c := range []struct {
		r      apitest.Response
		status int
		code   string
		fails  bool
	}{
		{good, 404, "not_found", false},
		{good, 404, "forbidden", true},
		{good, 403, "not_found", true},
		{apitest.Response{Status: 404, Header: http.Header{"Content-Type": {"application/json"}}, Body: good.Body}, 404, "not_found", true},
		{apitest.Response{Status: 404, Header: hdr, Body: []byte(`{"status":404,"code":"not_found"}`)}, 404, "not_found", true},
	} {
		rec := &recorder{TB: t}
		apitest.CheckProblem(rec, c.r, c.status, c.code)
		if (len(rec.errs) > 0) != c.fails {
			t.Errorf("CheckProblem(%v, %d, %s): errors %q, want failing %v", c.r, c.status, c.code, rec.errs, c.fails)
		}
	}
}

// The server, its accounts, the fixtures, the WebSocket client and the
// fingerprint work together: a write is delivered and changes the
// fingerprint, a refused request does not.
func TestServer(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	alice := s.Signup("alice")
	c := s.Client(apitest.Cred{Cookie: alice.Session})
	tok := c.NewToken("ws")
	b := c.NewBoard("b")
	col := c.NewColumn(b.ID, "todo")
	w := apitest.MustDial(t, s.URL, apitest.Cred{Bearer: tok.Token})
	w.Join(b.ID)

	before := s.Fingerprint()
	apitest.MustProblem(t, c.Do("POST", "/api/boards/"+b.ID+"/cards", map[string]any{"column_id": col.ID}),
		http.StatusUnprocessableEntity, board.EInvalid)
	if s.Fingerprint() != before {
		t.Error("a refused request changed the fingerprint")
	}
	f := apitest.Freeze(c, s.Store.Pool(), b.ID)
	card := c.NewCard(b.ID, col.ID, "first")
	if s.Fingerprint() == before {
		t.Error("a new card left the fingerprint as it was")
	}
	rec := &recorder{TB: t}
	f.Check(rec, "a new card")
	if len(rec.errs) != 2 {
		t.Errorf("Check after a write: %q, want the seq and the snapshot reported", rec.errs)
	}
	got := w.Await(10*time.Second, "the card's event", func(f wsclient.Frame) bool { return f.Type == "event" })
	if got.Kind != board.KindCardCreated || got.Board != b.ID {
		t.Errorf("event %+v, want card.created on %s", got, b.ID)
	}
	if snap := c.Snapshot(b.ID); len(snap.Cards) != 1 || snap.Cards[0].ID != card.ID {
		t.Errorf("snapshot %+v, want the card", snap)
	}
	if login := apitest.Login(t, s.URL, alice); login == "" || login == alice.Session {
		t.Errorf("login gave %q, want a new session", login)
	}
	if _, resp, err := apitest.Dial(t, s.URL, apitest.Cred{}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("dial without a credential: %v %v, want a 401 refusal", resp, err)
	}
}

// Options.Handler replaces the router and gets the parts to build on.
func TestStartWithHandler(t *testing.T) {
	var got *apitest.Server
	s := apitest.Start(t, apitest.Options{Handler: func(s *apitest.Server) http.Handler {
		got = s
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	}})
	if got != s || s.API == nil || s.Hub == nil || s.Auth == nil || s.Store == nil {
		t.Fatalf("the handler got %p with %+v, want the server %p with its parts", got, got, s)
	}
	if r := s.Client(apitest.Cred{}).Do("GET", "/api/boards", nil); r.Status != http.StatusTeapot {
		t.Errorf("got %v, want the plugged handler's 418", r)
	}
}
