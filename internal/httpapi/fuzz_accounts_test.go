package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// The fuzz targets of the account and member decoders run requests through
// the real handlers, auth service and store, in process. Whatever the
// input: a 2xx, or a problem document with a known code and its status
// (never a 5xx or a panic), and a 4xx changes nothing.

// acctCodeStatus is every code these routes may answer with.
var acctCodeStatus = map[string]int{
	board.EMalformed:         400,
	board.EInvalid:           422,
	board.ETooLarge:          413,
	board.ENotFound:          404,
	board.EConflict:          409,
	board.EUnauthenticated:   401,
	board.EForbidden:         403,
	board.EIdempotencyReused: 422,
	"method_not_allowed":     405,
	"unsupported_media_type": 415,
}

// checkAnswer fails t unless r is a 2xx or a well-formed problem with a
// known code, and, for a 4xx, the database is as before.
func (e *authEnv) checkAnswer(t *testing.T, what string, r apitest.Response, before string) {
	t.Helper()
	switch {
	case r.Status >= 500:
		t.Fatalf("%s: %v", what, r)
	case r.Status >= 400:
		var p apitest.Problem
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: Content-Type %q: %v", what, ct, r)
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("%s: problem: %v: %v", what, err, r)
		}
		if want, known := acctCodeStatus[p.Code]; !known || want != r.Status || p.Status != r.Status {
			t.Fatalf("%s: status %d with code %q: %v", what, r.Status, p.Code, r)
		}
		if after := e.Fingerprint(); after != before {
			t.Fatalf("%s: %v, yet the database changed", what, r)
		}
	case r.Status < 200 || r.Status >= 300:
		t.Fatalf("%s: unexpected %v", what, r)
	}
}

// FuzzAccountBodies feeds bodies to sign-up, login, token creation and the
// password change.
func FuzzAccountBodies(f *testing.F) {
	for _, s := range []struct {
		route uint8
		body  string
	}{
		{0, `{"username": "newbie", "password": "a long password"}`},
		{0, `{"username": " MiXeD.Case-1 ", "password": "pässwörd ünïcode"}`},
		{0, `{"username": "fuzzer", "password": "taken name"}`},
		{0, `{"username": "x", "password": "short"}`},
		{0, `{"username": "ok_name", "password": null}`},
		{0, `{"username": "ok_name", "password": "` + strings.Repeat("p", 257) + `"}`},
		{0, `{"username": "a\u0000b", "password": "long enough"}`},
		{0, `{"username": "name", "password": "long enough", "admin": true}`},
		{0, `{"username": ["x"], "password": 1}`},
		{0, `{"username": "dup", "username": "dup2", "password": "long enough"}`},
		{0, `null`},
		{0, `[]`},
		{0, `{} {}`},
		{1, `{"username": "fuzzer", "password": "fuzzer's password"}`},
		{1, `{"username": "FUZZER ", "password": "fuzzer's password"}`},
		{1, `{"username": "fuzzer", "password": "wrong"}`},
		{1, `{"username": "nobody", "password": "x"}`},
		{1, `{"username": "fuzzer"}`},
		{2, `{"name": "ci"}`},
		{2, `{"name": "ci", "expires_in": "720h"}`},
		{2, `{"name": "ci", "expires_in": "-1s"}`},
		{2, `{"name": "ci", "expires_in": "9223372036854775807ns"}`},
		{2, `{"name": "ci", "expires_in": "100000000h"}`},
		{2, `{"name": "  "}`},
		{2, `{"name": "a\u0000b"}`},
		{1, `{"username": "\u0000", "password": "x"}`},
		{3, `{"current_password": "fuzzer's password", "new_password": "fuzzer's password"}`},
		{3, `{"current_password": "wrong", "new_password": "another password"}`},
		{3, `{"current_password": "fuzzer's password", "new_password": "short"}`},
	} {
		f.Add(s.route, []byte(s.body))
	}
	e := newAuthEnv(f, apitest.Options{})
	fuzzer := e.Signup("fuzzer")
	session := apitest.Cred{Cookie: e.login(fuzzer)}
	routes := []struct {
		path string
		c    apitest.Cred
	}{{"/api/auth/signup", apitest.Cred{}}, {"/api/auth/login", apitest.Cred{}}, {"/api/auth/tokens", session}, {"/api/auth/password", session}}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		e := e.with(t)
		rt := routes[int(route)%len(routes)]
		before := e.Fingerprint()
		r := e.serve(rt.c, "POST", rt.path, body)
		what := "POST " + rt.path + " " + string(body)
		e.checkAnswer(t, what, r, before)
		if r.Status/100 != 2 {
			return
		}
		switch rt.path {
		case "/api/auth/signup", "/api/auth/login":
			var u board.User
			if err := json.Unmarshal(r.Body, &u); err != nil || board.CheckUsername(u.Username) != nil || !board.ValidID(u.ID) {
				t.Fatalf("%s: answered %v (%v)", what, r, err)
			}
			secret := r.Session()
			me := e.serve(apitest.Cred{Cookie: secret}, "GET", "/api/auth/me", nil)
			if secret == "" || me.Status != http.StatusOK || !bytes.Contains(me.Body, []byte(u.ID)) {
				t.Fatalf("%s: the new session does not work: %v", what, me)
			}
			if rt.path == "/api/auth/signup" {
				// The password, however odd, logs in.
				var in struct{ Username, Password string }
				json.Unmarshal(body, &in) //nolint:errcheck // it decoded on the server
				login, _ := json.Marshal(map[string]string{"username": u.Username, "password": in.Password})
				if lr := e.serve(apitest.Cred{}, "POST", "/api/auth/login", login); lr.Status != http.StatusOK {
					t.Fatalf("%s: login afterwards: %v", what, lr)
				}
			}
		case "/api/auth/tokens":
			var tok board.APIToken
			json.Unmarshal(r.Body, &tok) //nolint:errcheck // checked below
			if me := e.serve(apitest.Cred{Bearer: tok.Token}, "GET", "/api/auth/me", nil); me.Status != http.StatusOK {
				t.Fatalf("%s: the new token does not work: %v (%v)", what, me, r)
			}
		}
		// The fuzzer's own session survives whatever it did.
		if me := e.serve(session, "GET", "/api/auth/me", nil); me.Status != http.StatusOK {
			t.Fatalf("%s: the caller's session ended: %v", what, me)
		}
	})
}

// FuzzMemberBodies feeds bodies and user path segments to the member
// routes, as the board's owner. Whatever happens, the board keeps an owner
// and every member is a real user.
func FuzzMemberBodies(f *testing.F) {
	for _, s := range []struct {
		route      uint8
		user, body string
	}{
		{0, "", `{"username": "bobby", "role": "viewer"}`},
		{0, "", `{"username": "CARLA ", "role": "editor"}`},
		{0, "", `{"username": "nobody", "role": "viewer"}`},
		{0, "", `{"username": "bobby", "role": "admin"}`},
		{0, "", `{"username": "bobby", "role": "Owner"}`},
		{0, "", `{"username": "bobby"}`},
		{0, "", `{"username": "", "role": ""}`},
		{0, "", `{"username": "$BOBBY", "role": "viewer"}`},
		{0, "", `{"username": "bobby", "role": "viewer", "extra": 1}`},
		{1, "$BOBBY", `{"role": "owner"}`},
		{1, "$ALICE", `{"role": "viewer"}`},
		{1, "$CARLA", `{"role": "editor"}`},
		{1, "bobby", `{"role": "viewer"}`},
		{1, "$BOBBY", `{"role": null}`},
		{1, "$BOBBY", `{}`},
		{2, "$BOBBY", ``},
		{2, "$ALICE", ``},
		{2, "../$ALICE", ``},
		{2, "%00", ``},
		{2, strings.Repeat("u", 65), ``},
	} {
		f.Add(s.route, s.user, []byte(s.body))
	}
	e := newAuthEnv(f, apitest.Options{})
	alice, bobby, carla := e.Signup("alice"), e.Signup("bobby"), e.Signup("carla")
	e.Signup("dave")
	owner := apitest.Cred{Bearer: e.Client(apitest.Cred{Cookie: e.login(alice)}).NewToken("owner").Token}
	var b board.Board
	e.must(owner, "POST", "/api/boards", map[string]string{"name": "members"}, &b)
	e.must(owner, "POST", "/api/boards/"+b.ID+"/members", map[string]string{"username": "bobby", "role": "editor"}, nil)
	expand := strings.NewReplacer("$ALICE", alice.ID, "$BOBBY", bobby.ID, "$CARLA", carla.ID).Replace
	B := "/api/boards/" + b.ID + "/members"
	f.Fuzz(func(t *testing.T, route uint8, user string, body []byte) {
		e := e.with(t)
		body = []byte(expand(string(body)))
		var method, path string
		switch route % 3 {
		case 0:
			method, path = "POST", B
		case 1:
			method, path = "PATCH", B+"/"+url.PathEscape(expand(user))
		case 2:
			method, path, body = "DELETE", B+"/"+url.PathEscape(expand(user)), nil
		}
		before := e.Fingerprint()
		r := e.serve(owner, method, path, body)
		e.checkAnswer(t, method+" "+path+" "+string(body), r, before)
		var owners, strangers int
		ctx := context.Background()
		e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM board_members WHERE board_id = $1 AND role = 'owner'`, b.ID).Scan(&owners)
		e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM board_members m LEFT JOIN users u ON u.id::text = m.user_id
			WHERE u.id IS NULL`).Scan(&strangers)
		if owners < 1 || strangers != 0 {
			t.Fatalf("%s %s %s: %v; the board has %d owners and %d members who are not users", method, path, body, r, owners, strangers)
		}
	})
}

// FuzzCredentials: whatever the Authorization header and session cookie,
// the caller is someone only when the request holds that someone's secret.
func FuzzCredentials(f *testing.F) {
	e := newAuthEnv(f, apitest.Options{})
	u := e.Signup("holder")
	session := e.login(u)
	token := e.Client(apitest.Cred{Cookie: session}).NewToken("fuzz").Token
	for _, s := range [][2]string{
		{"Bearer " + session, ""}, {"Bearer " + token, ""}, {"", session}, {"", token},
		{"bearer  " + token + " ", ""}, {"Bearer " + token + "x", ""}, {"Bearer", session}, {"Basic " + token, ""},
		{"", session + "; corkboard_session=x"}, {"", "\"" + session + "\""}, {"Bearer cbs_", ""}, {"Bearer cbt_\x00", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authorization, cookie string) {
		e := e.with(t)
		var hdr []string
		if authorization != "" {
			hdr = append(hdr, "Authorization", authorization)
		}
		if cookie != "" {
			hdr = append(hdr, "Cookie", "corkboard_session="+cookie)
		}
		r := e.serve(apitest.Cred{}, "GET", "/api/auth/me", nil, hdr...)
		switch r.Status {
		case http.StatusOK:
			if !bytes.Contains(r.Body, []byte(u.ID)) {
				t.Fatalf("authenticated as someone else: %v", r)
			}
			if !strings.Contains(authorization+cookie, session) && !strings.Contains(authorization+cookie, token) {
				t.Fatalf("authenticated without the secret: Authorization %q, cookie %q", authorization, cookie)
			}
		case http.StatusUnauthorized:
			apitest.CheckProblem(t, r, http.StatusUnauthorized, board.EUnauthenticated)
		default:
			t.Fatalf("Authorization %q, cookie %q: %v", authorization, cookie, r)
		}
	})
}
