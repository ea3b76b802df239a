package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/openapi"
	"github.com/corkboard/corkboard/internal/store"
)

// TestResponsesMatchOpenAPI runs a scripted session against a real instance
// — accounts, boards, columns, cards, members, events, replays and errors —
// and validates every request it sends and every response it gets against
// the OpenAPI description the server serves: the route and method must be
// described, the status listed, headers and bodies must fit their schemas.
func TestResponsesMatchOpenAPI(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	_, natsURL := natsCluster(t, 1)
	a := startApp(t, testConfig(dbURL, natsURL))
	base := "http://" + a.Addr()

	// The server serves the document it is checked against.
	resp, err := http.Get(base + "/api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(served, openapi.Spec) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /api/openapi.yaml: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(served))
	}
	doc, err := openapi3.NewLoader().LoadFromData(served)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: base}} // the document's "/" is relative to wherever it is served
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	v := &validator{t: t, router: router, covered: map[string]bool{}, checked: map[string]bool{}}
	ann := &oaClient{t: t, base: base, http: &http.Client{Transport: v}}
	bob := &oaClient{t: t, base: base, http: &http.Client{Transport: v}}

	// Operations.
	ann.call("GET", "/healthz", nil, 200, nil)
	ann.call("GET", "/readyz", nil, 200, nil)

	// Accounts.
	var user map[string]any
	ann.call("POST", "/api/auth/signup", map[string]any{"username": "ann", "password": "correct horse"}, 201, &user)
	ann.secret = ann.lastCookie
	bob.call("POST", "/api/auth/signup", map[string]any{"username": "bob", "password": "battery staple"}, 201, nil)
	bob.call("POST", "/api/auth/login", map[string]any{"username": "bob", "password": "battery staple"}, 200, nil)
	bob.secret = bob.lastCookie
	bob.bad("POST", "/api/auth/signup", map[string]any{"username": "bob", "password": "battery staple"}, 409)
	bob.bad("POST", "/api/auth/login", map[string]any{"username": "bob", "password": "wrong password"}, 401)
	bob.bad("POST", "/api/auth/signup", map[string]any{"username": "x", "password": "short"}, 422)
	ann.call("GET", "/api/auth/me", nil, 200, nil)
	ann.call("GET", "/api/auth/session", nil, 200, nil)
	var sessions struct {
		Sessions []struct{ ID string } `json:"sessions"`
	}
	ann.call("GET", "/api/auth/sessions", nil, 200, &sessions)
	var tok struct{ ID, Token string }
	ann.call("POST", "/api/auth/tokens", map[string]any{"name": "ci", "expires_in": "24h"}, 201, &tok)
	ann.call("GET", "/api/auth/tokens", nil, 200, nil)
	ann.call("DELETE", "/api/auth/tokens/"+tok.ID, nil, 204, nil)
	ann.bad("DELETE", "/api/auth/tokens/"+tok.ID, nil, 404)
	ann.call("POST", "/api/auth/password", map[string]any{"current_password": "correct horse", "new_password": "correct horse 2"}, 200, nil)
	ann.bad("POST", "/api/auth/password", map[string]any{"current_password": "nope", "new_password": "correct horse 3"}, 403)
	(&oaClient{t: t, base: base, http: ann.http}).bad("GET", "/api/boards", nil, 401)

	// Boards.
	var b struct {
		ID      string
		Version int64
	}
	ann.call("POST", "/api/boards", map[string]any{"name": "Launch", "description": "ship it"}, 201, &b)
	ann.call("GET", "/api/boards", nil, 200, nil)
	ann.callH("PATCH", "/api/boards/"+b.ID, map[string]any{"name": "Launch!"}, 200, nil, "If-Match", `"1"`)
	ann.badH("PATCH", "/api/boards/"+b.ID, map[string]any{"name": "stale"}, 412, "If-Match", `"1"`)
	ann.bad("PATCH", "/api/boards/"+b.ID, map[string]any{}, 422)
	ann.bad("PATCH", "/api/boards/"+b.ID, map[string]any{"name": 7}, 422)
	ann.badRaw("PATCH", "/api/boards/"+b.ID, "application/json", "{", 400)
	ann.badRaw("PATCH", "/api/boards/"+b.ID, "text/plain", "name", 415)
	ann.bad("GET", "/api/boards/00000000-0000-4000-8000-000000000000", nil, 404)

	// Columns.
	var todo, done struct{ ID string }
	ann.call("POST", "/api/boards/"+b.ID+"/columns", map[string]any{"name": "To do"}, 201, &todo)
	ann.call("POST", "/api/boards/"+b.ID+"/columns", map[string]any{"name": "Done", "position": map[string]any{"after": todo.ID}}, 201, &done)
	ann.call("PATCH", "/api/boards/"+b.ID+"/columns/"+todo.ID, map[string]any{"name": "Todo"}, 200, nil)
	ann.call("POST", "/api/boards/"+b.ID+"/columns/"+done.ID+"/move", map[string]any{"position": map[string]any{"to": "top"}}, 200, nil)

	// Labels.
	var docs, spare struct{ ID string }
	ann.call("POST", "/api/boards/"+b.ID+"/labels", map[string]any{"name": "docs", "color": "sky"}, 201, &docs)
	ann.call("POST", "/api/boards/"+b.ID+"/labels", map[string]any{"name": "spare"}, 201, &spare)
	ann.bad("POST", "/api/boards/"+b.ID+"/labels", map[string]any{"name": "DOCS"}, 409)
	ann.bad("POST", "/api/boards/"+b.ID+"/labels", map[string]any{"name": "x", "color": "mauve"}, 422)
	ann.callH("PATCH", "/api/boards/"+b.ID+"/labels/"+spare.ID, map[string]any{"name": "Spare", "color": "lime"}, 200, nil, "If-Match", `"1"`)
	ann.call("GET", "/api/boards/"+b.ID+"/labels", nil, 200, nil)

	// Cards.
	var card, card2 struct{ ID string }
	ann.callH("POST", "/api/boards/"+b.ID+"/cards", map[string]any{"column_id": todo.ID, "title": "Notes",
		"labels": []string{docs.ID, spare.ID}, "due": "2026-12-01", "assignees": []string{user["id"].(string)}}, 201, &card, "X-Op-Id", "op-1")
	ann.callH("POST", "/api/boards/"+b.ID+"/cards", map[string]any{"column_id": todo.ID, "title": "Retro"}, 201, &card2,
		"Idempotency-Key", "retro-1")
	ann.callH("POST", "/api/boards/"+b.ID+"/cards", map[string]any{"column_id": todo.ID, "title": "Retro"}, 201, nil,
		"Idempotency-Key", "retro-1") // replayed
	ann.badH("POST", "/api/boards/"+b.ID+"/cards", map[string]any{"column_id": todo.ID, "title": "Other"}, 422,
		"Idempotency-Key", "retro-1")
	ann.call("GET", "/api/boards/"+b.ID+"/cards/"+card.ID, nil, 200, nil)
	ann.bad("PATCH", "/api/boards/"+b.ID+"/cards/"+card.ID, map[string]any{"labels": []string{"docs"}}, 422)
	ann.call("DELETE", "/api/boards/"+b.ID+"/labels/"+spare.ID, nil, 204, nil)
	ann.call("PATCH", "/api/boards/"+b.ID+"/cards/"+card.ID, map[string]any{"done": true, "due": nil}, 200, nil)
	ann.call("POST", "/api/boards/"+b.ID+"/cards/"+card.ID+"/move", map[string]any{"column_id": done.ID}, 200, nil)
	ann.call("POST", "/api/boards/"+b.ID+"/cards/"+card2.ID+"/move", map[string]any{"position": map[string]any{"before": card.ID}}, 404, nil)
	ann.call("POST", "/api/boards/"+b.ID+"/cards/"+card.ID+"/archive", nil, 200, nil)
	ann.bad("POST", "/api/boards/"+b.ID+"/cards/"+card.ID+"/archive", nil, 409)
	ann.call("POST", "/api/boards/"+b.ID+"/cards/"+card.ID+"/unarchive", nil, 200, nil)
	ann.bad("POST", "/api/boards/"+b.ID+"/cards", map[string]any{"column_id": todo.ID, "title": " "}, 422)

	// Comments and checklists.
	C := "/api/boards/" + b.ID + "/cards/" + card.ID
	var comment, list, item struct{ ID string }
	ann.call("POST", C+"/comments", map[string]any{"text": "first!"}, 201, &comment)
	ann.call("GET", C+"/comments", nil, 200, nil)
	ann.callH("PATCH", C+"/comments/"+comment.ID, map[string]any{"text": "edited"}, 200, nil, "If-Match", `"1"`)
	ann.bad("POST", C+"/comments", map[string]any{"text": " "}, 422)
	ann.call("POST", C+"/checklists", map[string]any{"name": "Steps"}, 201, &list)
	ann.call("PATCH", C+"/checklists/"+list.ID, map[string]any{"name": "Next steps"}, 200, nil)
	ann.call("POST", C+"/checklists/"+list.ID+"/items", map[string]any{"text": "write"}, 201, &item)
	ann.call("POST", C+"/checklists/"+list.ID+"/items", map[string]any{"text": "read", "position": map[string]any{"to": "top"}}, 201, nil)
	ann.call("PATCH", C+"/checklists/"+list.ID+"/items/"+item.ID, map[string]any{"done": true}, 200, nil)
	ann.call("POST", C+"/checklists/"+list.ID+"/items/"+item.ID+"/move", map[string]any{"position": map[string]any{"to": "top"}}, 200, nil)
	ann.call("GET", C+"/checklists", nil, 200, nil)
	ann.call("DELETE", C+"/checklists/"+list.ID+"/items/"+item.ID, nil, 204, nil)
	ann.call("DELETE", C+"/checklists/"+list.ID, nil, 204, nil)
	ann.call("DELETE", C+"/comments/"+comment.ID, nil, 204, nil)

	// Attachments: the body is the file.
	var att struct{ ID string }
	pixel := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
		"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
	ann.send(context.Background(), "POST", C+"/attachments?name=pixel.png", "application/octet-stream", pixel, 201, &att)
	ann.call("GET", C+"/attachments", nil, 200, nil)
	ann.call("GET", C+"/attachments/"+att.ID+"/content", nil, 200, nil)
	ann.call("GET", C+"/attachments/"+att.ID+"/thumbnail", nil, 200, nil)
	ann.call("PATCH", C, map[string]any{"cover": att.ID}, 200, nil)
	ann.bad("GET", C+"/attachments/00000000-0000-4000-8000-000000000000/content", nil, 404)
	ann.call("DELETE", C+"/attachments/"+att.ID, nil, 204, nil)

	// Export and import.
	var export map[string]any
	ann.call("GET", "/api/boards/"+b.ID+"/export", nil, 200, &export)
	ann.call("POST", "/api/boards/import", export, 201, nil)
	ann.bad("POST", "/api/boards/import", map[string]any{"format": "corkboard.board", "version": 9}, 422)

	// Members.
	ann.call("POST", "/api/boards/"+b.ID+"/members", map[string]any{"username": "bob", "role": "viewer"}, 201, nil)
	var members struct {
		Members []struct {
			UserID   string `json:"user_id"`
			Username string
		}
	}
	ann.call("GET", "/api/boards/"+b.ID+"/members", nil, 200, &members)
	bobID := ""
	for _, m := range members.Members {
		if m.Username == "bob" {
			bobID = m.UserID
		}
	}
	bob.bad("PATCH", "/api/boards/"+b.ID+"/cards/"+card.ID, map[string]any{"title": "mine"}, 403)
	ann.call("PATCH", "/api/boards/"+b.ID+"/members/"+bobID, map[string]any{"role": "editor"}, 200, nil)
	bob.call("GET", "/api/boards/"+b.ID, nil, 200, nil)

	// Notifications: a mention of bob, derived from the log shortly.
	ann.call("POST", C+"/comments", map[string]any{"text": "@bob have a look"}, 201, nil)
	var unread struct{ Unread int }
	for deadline := time.Now().Add(10 * time.Second); unread.Unread == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("bob's mention never became a notification")
		}
		bob.call("GET", "/api/notifications/unread", nil, 200, &unread)
	}
	var page struct{ Notifications []struct{ ID int64 } }
	bob.call("GET", "/api/notifications?order=newest&limit=5", nil, 200, &page)
	bob.bad("GET", "/api/notifications?order=sideways", nil, 422)
	bob.call("POST", "/api/notifications/read", map[string]any{"ids": []int64{page.Notifications[0].ID}}, 200, nil)
	bob.call("POST", "/api/notifications/read", map[string]any{"all": true}, 200, nil)
	bob.bad("POST", "/api/notifications/read", map[string]any{}, 422)
	bob.call("PUT", "/api/boards/"+b.ID+"/mute", nil, 200, nil)
	bob.call("GET", "/api/boards/"+b.ID+"/mute", nil, 200, nil)
	bob.call("DELETE", "/api/boards/"+b.ID+"/mute", nil, 200, nil)
	ann.call("DELETE", "/api/boards/"+b.ID+"/members/"+bobID, nil, 204, nil)

	ann.call("GET", "/api/boards/"+b.ID+"/activity", nil, 200, nil)

	// Events.
	ann.call("GET", "/api/boards/"+b.ID+"/events?since=2&limit=3", nil, 200, nil)
	ann.bad("GET", "/api/boards/"+b.ID+"/events?limit=0", nil, 422)

	// Search: a page with a cursor, one board, bad input.
	var found struct {
		Results    []map[string]any `json:"results"`
		NextCursor *string          `json:"next_cursor"`
	}
	ann.call("GET", "/api/search?limit=1&q=retro", nil, 200, &found)
	if len(found.Results) != 1 || found.NextCursor == nil { // the board's Retro and the imported copy's
		t.Fatalf("search for retro: %v, next %v", found.Results, found.NextCursor)
	}
	ann.call("GET", "/api/search?limit=1&q=retro&cursor="+url.QueryEscape(*found.NextCursor), nil, 200, nil)
	ann.call("GET", "/api/search?q=x&board="+b.ID, nil, 200, nil)
	ann.bad("GET", "/api/search?q=", nil, 422)
	bob.bad("GET", "/api/search?q=x&board="+b.ID, nil, 404)

	// Webhooks, to a loopback address the default settings refuse to reach:
	// the test event's refusal is logged as a failed delivery.
	var hook struct{ ID string }
	ann.call("POST", "/api/boards/"+b.ID+"/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "kinds": []string{"card.created"}}, 201, &hook)
	ann.bad("POST", "/api/boards/"+b.ID+"/webhooks", map[string]any{"url": "ftp://example.com/"}, 422)
	ann.call("GET", "/api/boards/"+b.ID+"/webhooks", nil, 200, nil)
	W := "/api/boards/" + b.ID + "/webhooks/" + hook.ID
	ann.call("GET", W, nil, 200, nil)
	ann.call("PATCH", W, map[string]any{"kinds": []string{}, "active": true}, 200, nil)
	bob.bad("GET", W, nil, 404)
	ann.call("POST", W+"/rotate-secret", nil, 200, nil)
	ann.call("POST", W+"/test", nil, 202, nil)
	var deliveries struct {
		Deliveries []struct{ ID int64 }
	}
	for deadline := time.Now().Add(30 * time.Second); len(deliveries.Deliveries) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the test event never reached the delivery log")
		}
		ann.call("GET", W+"/deliveries?limit=5", nil, 200, &deliveries)
	}
	ann.call("POST", W+"/deliveries/"+strconv.FormatInt(deliveries.Deliveries[0].ID, 10)+"/redeliver", nil, 202, nil)
	ann.call("DELETE", W, nil, 204, nil)

	// Deletions.
	ann.bad("DELETE", "/api/boards/"+b.ID+"/columns/"+todo.ID, nil, 409)
	ann.call("DELETE", "/api/boards/"+b.ID+"/columns/"+todo.ID+"?cards=move&to="+done.ID, nil, 204, nil)
	ann.call("DELETE", "/api/boards/"+b.ID+"/cards/"+card.ID, nil, 204, nil)
	ann.call("GET", "/api/boards/"+b.ID, nil, 200, nil)
	ann.call("DELETE", "/api/boards/"+b.ID, nil, 204, nil)
	ann.call("DELETE", "/api/auth/sessions/"+sessions.Sessions[0].ID, nil, 204, nil)
	bob.call("POST", "/api/auth/logout", nil, 204, nil)
	bob.bad("GET", "/api/auth/me", nil, 401)

	if t.Failed() {
		return
	}
	// Every operation was exercised, each with its success status.
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "websocket" || op.OperationID == "openapi" {
				continue // checked above, and in the WebSocket tests
			}
			if !v.covered[op.OperationID] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the scripted session never had a 2xx from: %v", missing)
	}
}

// validator is a RoundTripper that validates each request (unless the test
// sends a bad one on purpose) and each response against the document.
//
// Validation compiles the schemas each time (slow under -race), so each
// operation's requests and each operation and status's responses are
// validated once: the first time they occur.
type validator struct {
	t       *testing.T
	router  routers.Router
	mu      sync.Mutex
	covered map[string]bool // operationIds that answered 2xx
	checked map[string]bool // operationId (requests), operationId + status (responses)
}

// first reports whether key is seen for the first time.
func (v *validator) first(key string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.checked[key] {
		return false
	}
	v.checked[key] = true
	return true
}

type badRequestKey struct{}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("%s %s is not described: %v", req.Method, req.URL.Path, err)
		return http.DefaultTransport.RoundTrip(req)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if req.Context().Value(badRequestKey{}) == nil && v.first(route.Operation.OperationID) {
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
			v.t.Errorf("%s %s: the request does not fit the document: %v", req.Method, req.URL, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		v.mu.Lock()
		v.covered[route.Operation.OperationID] = true
		v.mu.Unlock()
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)), Options: opts}
	if !v.first(fmt.Sprintf("%s %d", route.Operation.OperationID, resp.StatusCode)) {
		return resp, nil
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("%s %s → %d: the response does not fit the document: %v\nbody: %.300s", req.Method, req.URL, resp.StatusCode, err, body)
	}
	return resp, nil
}

// oaClient sends the scripted requests as one user.
type oaClient struct {
	t          *testing.T
	base       string
	http       *http.Client
	secret     string
	lastCookie string
}

func (c *oaClient) call(method, path string, body any, want int, out any) {
	c.t.Helper()
	c.send(context.Background(), method, path, "application/json", body, want, out)
}

func (c *oaClient) callH(method, path string, body any, want int, out any, kv ...string) {
	c.t.Helper()
	c.send(context.Background(), method, path, "application/json", body, want, out, kv...)
}

// bad sends a request that is wrong on purpose: only the response is
// validated.
func (c *oaClient) bad(method, path string, body any, want int) {
	c.t.Helper()
	c.send(context.WithValue(context.Background(), badRequestKey{}, true), method, path, "application/json", body, want, nil)
}

func (c *oaClient) badH(method, path string, body any, want int, kv ...string) {
	c.t.Helper()
	c.send(context.WithValue(context.Background(), badRequestKey{}, true), method, path, "application/json", body, want, nil, kv...)
}

func (c *oaClient) badRaw(method, path, contentType, body string, want int) {
	c.t.Helper()
	c.send(context.WithValue(context.Background(), badRequestKey{}, true), method, path, contentType, rawBody(body), want, nil)
}

type rawBody string

func (c *oaClient) send(ctx context.Context, method, path, contentType string, body any, want int, out any, kv ...string) {
	c.t.Helper()
	if rb, ok := body.(rawBody); ok {
		body = string(rb)
	}
	if body != nil {
		kv = append([]string{"Content-Type", contentType}, kv...)
	}
	cl := &apitest.Client{T: c.t, Base: c.base, Cred: apitest.Cred{Bearer: c.secret}, Transport: c.http.Transport}
	r, err := cl.SendContext(ctx, method, path, body, kv...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if s := r.Session(); s != "" {
		c.lastCookie = s
	}
	if out != nil && r.Status/100 == 2 {
		if err := json.Unmarshal(r.Body, out); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, fmt.Errorf("decode %s: %w", r.Body, err))
		}
	}
}
