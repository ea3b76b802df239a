// Package apitest is the test harness of Corkboard's HTTP API and WebSocket
// endpoint, shared by every package's tests: a client that sends requests
// with a credential and reads the whole answer (Client, Response), the
// assertions on answers (Must, CheckProblem), accounts (Signup, Login,
// NewToken), board fixtures (NewBoard, NewColumn, NewCard, Snapshot,
// AddMember), writes retried with an Idempotency-Key (Write), "changes
// nothing" checks (Fingerprint, Freeze), a WebSocket client (Dial, over
// devtools/wsclient) and a server wired as cmd/server wires the API and the
// WebSocket endpoint, on a fresh database (Start).
//
// It is test tooling: it has no init side effects and nothing in the
// server imports it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// SessionCookie is the name of the session cookie over plain HTTP.
const SessionCookie = "corkboard_session"

// Response is a response read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r Response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// Session returns the session secret the response sets in a cookie, or "".
func (r Response) Session() string {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == SessionCookie || c.Name == "__Host-"+SessionCookie {
			return c.Value
		}
	}
	return ""
}

// Cred is how a request authenticates: a session secret in the session
// cookie, a secret (session or API token) as a Bearer token, or nothing.
type Cred struct {
	Cookie string
	Bearer string
	// Header is more headers as name/value pairs: an identity header for an
	// API whose tests replace authentication, say.
	Header []string
}

// Apply sets the credential's headers.
func (c Cred) Apply(h http.Header) {
	if c.Cookie != "" {
		h.Add("Cookie", (&http.Cookie{Name: SessionCookie, Value: c.Cookie}).String())
	}
	if c.Bearer != "" {
		h.Set("Authorization", "Bearer "+c.Bearer)
	}
	for i := 0; i+1 < len(c.Header); i += 2 {
		h.Set(c.Header[i], c.Header[i+1])
	}
}

func (c Cred) String() string {
	switch {
	case c.Cookie != "":
		return "session cookie"
	case strings.HasPrefix(c.Bearer, "cbt_"):
		return "Bearer API token"
	case c.Bearer != "":
		return "Bearer session"
	case len(c.Header) > 0:
		return fmt.Sprint(c.Header)
	}
	return "no credentials"
}

// NewRequest builds a request with a credential. body is nil (none), a
// string or []byte (sent as is) or any other value (sent as JSON); a body
// gets Content-Type application/json unless hdr sets it. hdr is name/value
// pairs, set last.
func NewRequest(method, url string, c Cred, body any, hdr ...string) (*http.Request, error) {
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
			return nil, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.Apply(req.Header)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req, nil
}

// Client sends requests to one server (Base, as http://host:port) with one
// credential. Redirects are not followed.
type Client struct {
	T    testing.TB
	Base string
	Cred Cred
	// Transport sends the requests; nil is http.DefaultTransport.
	Transport http.RoundTripper
}

// NewClient returns a client of base for the test t.
func NewClient(t testing.TB, base string, c Cred) *Client {
	return &Client{T: t, Base: base, Cred: c}
}

// With returns a copy of c for the (sub)test t.
func (c *Client) With(t testing.TB) *Client {
	cc := *c
	cc.T = t
	return &cc
}

// As returns a copy of c with another credential.
func (c *Client) As(cred Cred) *Client {
	cc := *c
	cc.Cred = cred
	return &cc
}

// Send makes a request (see NewRequest for body and hdr) and reads the
// answer; safe from any goroutine.
func (c *Client) Send(method, path string, body any, hdr ...string) (Response, error) {
	return c.SendContext(context.Background(), method, path, body, hdr...)
}

// SendContext is Send with a context for the request.
func (c *Client) SendContext(ctx context.Context, method, path string, body any, hdr ...string) (Response, error) {
	req, err := NewRequest(method, c.Base+path, c.Cred, body, hdr...)
	if err != nil {
		return Response{}, err
	}
	req = req.WithContext(ctx)
	tr := c.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	res, err := tr.RoundTrip(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// Do is Send for the test goroutine; it fails the test on a transport error
// or a 5xx, which no request of a test that uses it may cause.
func (c *Client) Do(method, path string, body any, hdr ...string) Response {
	c.T.Helper()
	r, err := c.Send(method, path, body, hdr...)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Status >= 500 {
		c.T.Fatalf("%s %s: %v", method, path, r)
	}
	return r
}

// MustOK calls Do and decodes a 2xx JSON answer into out (when not nil); it
// fails the test on any other status.
func (c *Client) MustOK(method, path string, body, out any) Response {
	c.T.Helper()
	r := c.Do(method, path, body)
	if r.Status/100 != 2 {
		c.T.Fatalf("%s %s as %v: %v", method, path, c.Cred, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			c.T.Fatalf("%s %s: decode %T: %v (%v)", method, path, out, err, r)
		}
	}
	return r
}

// Must asserts the status and a JSON body, and decodes it into a T.
func Must[T any](t testing.TB, r Response, status int) T {
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

// Problem is an RFC 9457 document as clients read it.
type Problem struct {
	Type     string          `json:"type"`
	Title    string          `json:"title"`
	Status   int             `json:"status"`
	Detail   string          `json:"detail"`
	Code     string          `json:"code"`
	Field    string          `json:"field"`
	Instance string          `json:"instance"`
	Current  json.RawMessage `json:"current"`
}

// CheckProblem reports (with t.Errorf) unless r is a problem document with
// the status and code; it returns the document.
func CheckProblem(t testing.TB, r Response, status int, code string) Problem {
	t.Helper()
	var p Problem
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

// MustProblem is CheckProblem that stops the test on a mismatch.
func MustProblem(t testing.TB, r Response, status int, code string) Problem {
	t.Helper()
	p := CheckProblem(t, r, status, code)
	if t.Failed() {
		t.FailNow()
	}
	return p
}

// Serve runs a request through handler in process, from remoteAddr when
// not "" (for fuzzing: a panic surfaces in the test). path is the request
// URI; see NewRequest for body and hdr.
func Serve(handler http.Handler, remoteAddr string, c Cred, method, path string, body any, hdr ...string) Response {
	req, err := NewRequest(method, path, c, body, hdr...)
	if err != nil {
		panic(err)
	}
	if req.Body == nil {
		req.Body = http.NoBody // as a server passes it
	}
	if remoteAddr != "" {
		req.RemoteAddr = remoteAddr
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	return Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}
