package apitest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/commit"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/ratelimit"
	"github.com/corkboard/corkboard/internal/store"
	"github.com/corkboard/corkboard/internal/ws"
)

// Options adjust the parts of a Server before they are built.
type Options struct {
	// Store is the database to serve; nil starts a fresh migrated one.
	Store *store.Store
	// Auth, API and WS adjust the options of the account service, the API
	// and the WebSocket endpoint.
	Auth func(*auth.Options)
	API  func(*httpapi.Options)
	WS   func(*ws.Options)
	// Handler, when set, replaces the router: it gets the parts and returns
	// what the test server serves.
	Handler func(*Server) http.Handler
}

// Server is the API with real accounts, wired as cmd/server wires it: the
// account service (cheap argon2id parameters, no rate limits) over the store,
// sessions in cookies and API tokens as Bearer credentials, the WebSocket
// endpoint on the same hub, security headers and cross-origin protection,
// served over TCP. Nothing replaces authentication.
type Server struct {
	T       testing.TB
	Store   *store.Store
	Hub     *hub.Hub
	API     *httpapi.API
	Auth    *auth.Service
	Files   *attachment.Files // the API's attachment files (PostgreSQL unless Options.API chose others)
	Handler http.Handler
	HTTP    *httptest.Server
	URL     string // http://host:port
}

// OpenStore opens the store on a fresh migrated database, closed when the
// test ends.
func OpenStore(t testing.TB) *store.Store {
	t.Helper()
	return OpenStoreAt(t, pgtest.NewDatabase(t, "store", store.Migrate), store.Options{MaxConns: 8})
}

// OpenStoreAt opens the store on the database at url with options o,
// closed when the test ends.
func OpenStoreAt(t testing.TB, url string, o store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// Start starts a Server, closed when the test ends. Another Start on the
// same o.Store is another instance on that database, with its own hub and
// account service.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	st := o.Store
	if st == nil {
		st = OpenStore(t)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := hub.New(hub.Options{Log: st, Logger: log})
	unlimited := ratelimit.Limit{Burst: 1 << 20, Every: time.Millisecond}
	ao := auth.Options{Store: st, Revoker: h, Params: auth.TestParams,
		Limits: auth.Limits{Address: unlimited, AccountAddress: unlimited, Account: unlimited, Password: unlimited}}
	if o.Auth != nil {
		o.Auth(&ao)
	}
	svc := auth.New(ao)
	files := attachment.New(attachment.Options{Storage: attachment.NewPostgres(st.Pool()), Ledger: st, Logger: log})
	po := httpapi.Options{Store: st, Budgets: st, Accounts: svc, Committer: commit.New(commit.Options{Local: h}), Logger: log,
		RateBurst: 1 << 30, Rate: 1e9, Files: files}
	if o.API != nil {
		o.API(&po)
	}
	api := httpapi.New(po)
	wo := ws.Options{Hub: h, Logger: log, Identify: api.Principal}
	if o.WS != nil {
		o.WS(&wo)
	}
	s := &Server{T: t, Store: st, Hub: h, API: api, Auth: svc}
	if f, ok := po.Files.(*attachment.Files); ok {
		s.Files = f
	}
	if o.Handler != nil {
		s.Handler = o.Handler(s)
	} else {
		csrf, err := httpapi.CrossOriginProtection(nil)
		if err != nil {
			t.Fatal(err)
		}
		r := chi.NewRouter()
		r.Use(httpapi.SecurityHeaders)
		r.With(api.LimitUpgrade).Get("/api/ws", ws.New(wo).ServeHTTP)
		r.With(csrf).Mount("/api", api.Routes())
		s.Handler = r
	}
	s.HTTP = httptest.NewServer(s.Handler)
	s.URL = s.HTTP.URL
	t.Cleanup(s.HTTP.Close)
	t.Cleanup(h.Close) // first: ends the WebSockets
	return s
}

// Client returns a client of the server with a credential.
func (s *Server) Client(c Cred) *Client { return NewClient(s.T, s.URL, c) }

// Signup signs a user up on the server.
func (s *Server) Signup(username string) Account {
	s.T.Helper()
	return Signup(s.T, s.URL, username)
}

// Fingerprint digests the server's database (see Fingerprint).
func (s *Server) Fingerprint() string {
	s.T.Helper()
	return Fingerprint(s.T, s.Store.Pool())
}
