package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/store"
)

// authEnv is the API with real accounts, wired as cmd/server wires it
// (apitest.Server): nothing replaces authentication.
type authEnv struct {
	*apitest.Server
	t testing.TB
}

func newAuthEnv(t testing.TB, o apitest.Options) *authEnv {
	t.Helper()
	return &authEnv{Server: apitest.Start(t, o), t: t}
}

// newInstance is another server instance on st's database, with its own hub
// and account service (nothing shared in memory with the others).
func newInstance(t testing.TB, st *store.Store, o apitest.Options) *authEnv {
	t.Helper()
	o.Store = st
	return newAuthEnv(t, o)
}

// with returns e for use by the (sub)test t.
func (e *authEnv) with(t testing.TB) *authEnv {
	s := *e.Server
	s.T = t
	return &authEnv{Server: &s, t: t}
}

// call sends a request with the credential (see apitest.Client.Do).
func (e *authEnv) call(c apitest.Cred, method, path string, body any, hdr ...string) apitest.Response {
	e.t.Helper()
	return e.Client(c).Do(method, path, body, hdr...)
}

// serve runs a request through the handler in process (for fuzzing: a
// panic surfaces in the test); body is sent as is.
func (e *authEnv) serve(c apitest.Cred, method, path string, body []byte, hdr ...string) apitest.Response {
	var b any
	if len(body) > 0 {
		b = body
	}
	return apitest.Serve(e.Handler, "192.0.2.1:1234", c, method, path, b, hdr...)
}

// must calls and decodes a 2xx JSON answer into out (when not nil).
func (e *authEnv) must(c apitest.Cred, method, path string, body, out any) apitest.Response {
	e.t.Helper()
	return e.Client(c).MustOK(method, path, body, out)
}

// login opens a new session of a and returns its secret.
func (e *authEnv) login(a apitest.Account) string {
	e.t.Helper()
	return apitest.Login(e.t, e.URL, a)
}

// dialWS opens /api/ws with a credential (and extra headers as name/value
// pairs). It returns the HTTP response when the upgrade is refused.
func (e *authEnv) dialWS(c apitest.Cred, hdr ...string) (*apitest.Conn, *http.Response, error) {
	return apitest.Dial(e.t, e.URL, c, hdr...)
}
