//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/auth"
)

// identity is how loadgen authenticates as one user: an API token
// (Authorization: Bearer) of an account it made, or, while it makes the
// token, the session cookie of the sign-up.
type identity struct {
	username string
	header   string // Authorization or Cookie
	value    string
}

// set adds the credential to a request's headers.
func (id identity) set(h http.Header) { h.Set(id.header, id.value) }

// raw is the credential as an HTTP header line, for the WebSocket handshake.
func (id identity) raw() string { return id.header + ": " + id.value + "\r\n" }

// loadgenPassword is the password of the accounts loadgen signs up; they
// live only as long as the run's database (or, with -targets, until removed).
const loadgenPassword = "loadgen-password-not-secret"

// signup creates the account username and an API token for it.
func signup(ctx context.Context, hc *http.Client, base, username string) (identity, error) {
	anon := apiClient{hc: hc, base: base}
	var resp *http.Response
	err := anon.doResp(ctx, "POST", "/api/auth/signup", map[string]string{"username": username, "password": loadgenPassword}, nil,
		func(r *http.Response) { resp = r })
	if err != nil {
		return identity{}, fmt.Errorf("sign up %s: %w", username, err)
	}
	var cookie string
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "session") && c.Value != "" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		return identity{}, fmt.Errorf("sign up %s: no session cookie in the answer", username)
	}
	session := apiClient{hc: hc, base: base, id: identity{username: username, header: "Cookie", value: cookie}}
	var tok struct {
		Token string `json:"token"`
	}
	if err := session.do(ctx, "POST", "/api/auth/tokens", map[string]string{"name": "loadgen"}, &tok); err != nil {
		return identity{}, fmt.Errorf("API token for %s: %w", username, err)
	}
	if tok.Token == "" {
		return identity{}, fmt.Errorf("API token for %s: no token in the answer", username)
	}
	return identity{username: username, header: "Authorization", value: "Bearer " + tok.Token}, nil
}

// users are the run's identities: one per writer (each writes to the boards
// it owns, and is added to others' when there are more writers than boards,
// so no user goes over the server's per-user request rate), and the
// subscribers' users (see planSubscribers), viewers of the boards they
// watch.
type users struct {
	writers []identity
	subs    []identity
	subOf   []int   // subscriber -> index in subs
	watches [][]int // subs index -> the boards it watches
}

// owner is the user who creates board b.
func (u *users) owner(b int) identity {
	if len(u.writers) > 0 {
		return u.writers[b%len(u.writers)]
	}
	return u.subs[0]
}

// sub is the identity of subscriber i.
func (u *users) sub(i int) identity {
	return u.subs[u.subOf[i]]
}

// planSubscribers gives each of n subscribers a user: subscribers watching
// the same boards share users, at least minUsers of them (round-robin), and
// no user has more than perUser connections on one instance (the server
// refuses more). It returns each subscriber's user and each user's boards.
func planSubscribers(n, minUsers, perUser int, instanceOf func(int) int, boardsOf func(int) []int) (userOf []int, watches [][]int) {
	type group struct {
		users []int
		next  int
	}
	groups := map[string]*group{}
	count := map[[2]int]int{} // (user, instance) -> connections
	userOf = make([]int, n)
	for i := range n {
		bs := boardsOf(i)
		key := fmt.Sprint(bs)
		g := groups[key]
		if g == nil {
			g = &group{}
			groups[key] = g
		}
		inst := instanceOf(i)
		u := -1
		if len(g.users) >= minUsers {
			for k := range g.users {
				c := g.users[(g.next+k)%len(g.users)]
				if count[[2]int{c, inst}] < perUser {
					u, g.next = c, (g.next+k+1)%len(g.users)
					break
				}
			}
		}
		if u < 0 {
			u = len(watches)
			watches = append(watches, bs)
			g.users = append(g.users, u)
		}
		count[[2]int{u, inst}]++
		userOf[i] = u
	}
	return userOf, watches
}

// makeUsers makes the run's accounts. The first account is signed up through the API (which also
// shows the shape of API tokens); the server lets one address sign up 20
// accounts at once and then one every 6 s, so with the database at hand
// (loadgen's own topology, or -database-url) the others are inserted in
// SQL, each with an API token, and one of them is checked with
// GET /api/auth/me. Without it they are signed up through the API, which is
// slow past 20.
func makeUsers(ctx context.Context, c Config, hc *http.Client, base, dbURL, prefix string, userOf []int, watches [][]int) (*users, error) {
	u := &users{subOf: userOf, watches: watches}
	first, err := signup(ctx, hc, base, prefix+"s0")
	if err != nil {
		return nil, err
	}
	u.subs = make([]identity, max(1, len(watches)))
	u.writers = make([]identity, c.Writers)
	u.subs[0] = first
	if len(u.watches) == 0 { // no subscribers: the first user watches nothing
		u.watches = [][]int{nil}
	}
	var dsts []*identity
	var names []string
	for i := 1; i < len(u.subs); i++ {
		dsts, names = append(dsts, &u.subs[i]), append(names, fmt.Sprintf("%ss%d", prefix, i))
	}
	for i := range c.Writers {
		dsts, names = append(dsts, &u.writers[i]), append(names, fmt.Sprintf("%sw%d", prefix, i))
	}
	if len(names) == 0 {
		return u, nil
	}
	if dbURL != "" {
		tokenPrefix, _, ok := strings.Cut(strings.TrimPrefix(first.value, "Bearer "), "_")
		if !ok {
			return nil, fmt.Errorf("API token %q...: no prefix", first.value[:min(len(first.value), 12)])
		}
		ids, err := insertAccounts(ctx, dbURL, names, tokenPrefix+"_")
		if err != nil {
			return nil, err
		}
		for i, id := range ids {
			*dsts[i] = id
		}
		me := apiClient{hc: hc, base: base, id: ids[0]}
		if err := me.do(ctx, "GET", "/api/auth/me", nil, nil); err != nil {
			return nil, fmt.Errorf("an account made in SQL is not accepted: %w", err)
		}
		return u, nil
	}
	errs := make([]error, len(names))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			*dsts[i], errs[i] = signup(ctx, hc, base, names[i])
		})
	}
	wg.Wait()
	return u, errors.Join(errs...)
}

// insertAccounts creates the accounts names with loadgen's password and an
// API token each, straight in the database.
func insertAccounts(ctx context.Context, dbURL string, names []string, tokenPrefix string) ([]identity, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	hash := auth.HashPassword(loadgenPassword, auth.DefaultParams)
	ids := make([]identity, len(names))
	var batch pgx.Batch
	for i, name := range names {
		secret, tokenHash := auth.NewSecret(tokenPrefix)
		ids[i] = identity{username: name, header: "Authorization", value: "Bearer " + secret}
		batch.Queue(`WITH u AS (INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id)
			INSERT INTO api_tokens (token_hash, user_id, name) SELECT $3, id, 'loadgen' FROM u`, name, hash, tokenHash)
	}
	if err := conn.SendBatch(ctx, &batch).Close(); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return ids, nil
}
