package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
)

// Account is a user a test signed up: the user, its password and the
// session that signing up (or logging in) opened.
type Account struct {
	board.User
	Password string
	Session  string
}

// Password is the password Signup gives a user.
func Password(username string) string { return "password of " + username }

// StatusError is an unexpected answer to SignUp or LogIn.
type StatusError struct {
	Path string
	Response
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Response) }

// SignUp signs a user up at base over hc and returns the account with its
// session; an answer other than 201 with a session cookie is a
// *StatusError.
func SignUp(ctx context.Context, hc *http.Client, base, username, password string) (Account, error) {
	return authRequest(ctx, hc, base, "/api/auth/signup", http.StatusCreated, username, password)
}

// LogIn logs a user in at base over hc and returns the account with the new
// session.
func LogIn(ctx context.Context, hc *http.Client, base, username, password string) (Account, error) {
	return authRequest(ctx, hc, base, "/api/auth/login", http.StatusOK, username, password)
}

func authRequest(ctx context.Context, hc *http.Client, base, path string, status int, username, password string) (Account, error) {
	a := Account{Password: password}
	c := Client{Base: base}
	if hc != nil {
		c.Transport = hc.Transport
	}
	r, err := c.SendContext(ctx, http.MethodPost, path, map[string]string{"username": username, "password": password})
	if err != nil {
		return a, fmt.Errorf("%s: %w", path, err)
	}
	if r.Status != status {
		return a, &StatusError{Path: path, Response: r}
	}
	if err := json.Unmarshal(r.Body, &a.User); err != nil || a.ID == "" {
		return a, fmt.Errorf("%s: no user in %v: %w", path, r, err)
	}
	if a.Session = r.Session(); a.Session == "" {
		return a, fmt.Errorf("%s: no session cookie: %v", path, r)
	}
	return a, nil
}

// Signup signs a user up at base with Password(username) and returns the
// account; it fails the test on any error.
func Signup(t testing.TB, base, username string) Account {
	t.Helper()
	a, err := SignUp(context.Background(), nil, base, username, Password(username))
	if err != nil {
		t.Fatalf("sign up %s: %v", username, err)
	}
	return a
}

// Login opens a new session of a at base and returns its secret.
func Login(t testing.TB, base string, a Account) string {
	t.Helper()
	b, err := LogIn(context.Background(), nil, base, a.Username, a.Password)
	if err != nil {
		t.Fatalf("login %s: %v", a.Username, err)
	}
	return b.Session
}

// NewToken creates an API token with c's credential and returns it (with
// its secret).
func (c *Client) NewToken(name string) board.APIToken {
	c.T.Helper()
	var tok board.APIToken
	c.MustOK("POST", "/api/auth/tokens", map[string]string{"name": name}, &tok)
	if !strings.HasPrefix(tok.Token, "cbt_") || tok.ID == "" {
		c.T.Fatalf("token %+v", tok)
	}
	return tok
}

// CurrentSession returns the id of the session c's credential belongs to.
func (c *Client) CurrentSession() string {
	c.T.Helper()
	var list struct{ Sessions []board.Session }
	c.MustOK("GET", "/api/auth/sessions", nil, &list)
	for _, s := range list.Sessions {
		if s.Current {
			return s.ID
		}
	}
	c.T.Fatalf("no current session in %+v", list.Sessions)
	return ""
}
