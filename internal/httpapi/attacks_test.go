package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/ratelimit"
)

// The attacks of a security review, each refused: lockouts, hashing floods,
// credentials that outlive a password change, upgrades outside the budgets,
// plain cookies over HTTPS, enumeration through invitations, caching.

func trustLoopback(o *httpapi.Options) {
	o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
}

// loginFrom logs in from a client address (through the trusted loopback
// proxy).
func (e *authEnv) loginFrom(ip, user, password string) apitest.Response {
	e.t.Helper()
	return e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": user, "password": password},
		"X-Forwarded-For", ip)
}

// Wrong passwords for an account, from any number of addresses, do not lock
// its owner out: the right password from an address that has not failed
// still logs in, with the default budgets. The attackers' addresses are
// refused.
func TestLockoutFromSecondAddress(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{Auth: func(o *auth.Options) { o.Limits = auth.Limits{} }, API: trustLoopback})
	victim := e.Signup("victim")
	refused := 0
	for i := range 4 { // 4 addresses × 10 attempts: past every per-account budget
		ip := fmt.Sprintf("203.0.113.%d", i+1)
		for range 10 {
			switch r := e.loginFrom(ip, "victim", "a wrong guess"); r.Status {
			case http.StatusUnauthorized:
			case http.StatusTooManyRequests:
				refused++
			default:
				t.Fatalf("guess: %v", r)
			}
		}
	}
	if refused == 0 {
		t.Fatal("40 wrong guesses from 4 addresses, none refused")
	}
	// An attacker's address is refused even with the right password.
	apitest.CheckProblem(t, e.loginFrom("203.0.113.1", "victim", victim.Password), http.StatusTooManyRequests, board.ERateLimited)
	// The owner, from an address of their own, gets in.
	if r := e.loginFrom("198.51.100.7", "victim", victim.Password); r.Status != http.StatusOK || r.Session() == "" {
		t.Fatalf("the right password from another address: %v", r)
	}
	// A fresh address guessing while the account's budget is spent gets
	// one try, then is refused.
	apitest.CheckProblem(t, e.loginFrom("192.0.2.9", "victim", "a wrong guess"), http.StatusUnauthorized, board.EUnauthenticated)
	apitest.CheckProblem(t, e.loginFrom("192.0.2.9", "victim", victim.Password), http.StatusTooManyRequests, board.ERateLimited)
}

// Login budgets are kept in PostgreSQL: two instances (two account
// services) on one database draw on one budget, so N instances do not
// allow N times the guesses.
func TestLoginBudgetsSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	limits := func(o *auth.Options) {
		o.Limits.Address = ratelimit.Limit{Burst: 7, Every: time.Hour}
		o.Limits.AccountAddress = ratelimit.Limit{Burst: 4, Every: time.Hour}
	}
	a := newAuthEnv(t, apitest.Options{Auth: limits, API: trustLoopback})
	b := newInstance(t, a.Store, apitest.Options{Auth: limits, API: trustLoopback})
	for i, u := range []string{"wendy", "xavier"} {
		if r := a.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": u, "password": "password of " + u},
			"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1)); r.Status != http.StatusCreated {
			t.Fatalf("sign up: %v", r)
		}
	}
	// Per account and address: 4 failures in all, alternating instances.
	for i := range 4 {
		apitest.CheckProblem(t, []*authEnv{a, b}[i%2].loginFrom("203.0.113.5", "wendy", "guess"), http.StatusUnauthorized, board.EUnauthenticated)
	}
	for _, e := range []*authEnv{a, b} {
		apitest.CheckProblem(t, e.loginFrom("203.0.113.5", "wendy", "guess"), http.StatusTooManyRequests, board.ERateLimited)
	}
	// Per address: 7 attempts in all (every attempt counts, the 2 refused
	// ones above too), whichever instance answers.
	apitest.CheckProblem(t, b.loginFrom("203.0.113.5", "xavier", "guess"), http.StatusUnauthorized, board.EUnauthenticated)
	apitest.CheckProblem(t, a.loginFrom("203.0.113.5", "xavier", "guess"), http.StatusTooManyRequests, board.ERateLimited)
	apitest.CheckProblem(t, b.loginFrom("203.0.113.5", "xavier", "password of xavier"), http.StatusTooManyRequests, board.ERateLimited)
}

// Per-address budgets count an IPv6 client by its /64: addresses of one
// network share a budget, another network has its own. The same holds for
// the request budget that refused credentials draw on.
func TestIPv6AddressesShareBudgetPer64(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{
		Auth: func(o *auth.Options) { o.Limits.Address = ratelimit.Limit{Burst: 3, Every: time.Hour} },
		API: func(o *httpapi.Options) {
			trustLoopback(o)
			o.RateBurst, o.Rate = 3, 0.001
		},
	})
	e.Signup("yolanda")
	for i := range 3 {
		apitest.CheckProblem(t, e.loginFrom(fmt.Sprintf("2001:db8:1:2::%x", i+1), "yolanda", "guess"),
			http.StatusUnauthorized, board.EUnauthenticated)
	}
	apitest.CheckProblem(t, e.loginFrom("2001:db8:1:2:ffff:ffff:ffff:ffff", "yolanda", "guess"), http.StatusTooManyRequests, board.ERateLimited)
	apitest.CheckProblem(t, e.loginFrom("2001:db8:1:3::1", "yolanda", "guess"), http.StatusUnauthorized, board.EUnauthenticated)

	guess := apitest.Cred{Bearer: "cbt_not-a-real-token"}
	for i := range 3 {
		apitest.CheckProblem(t, e.call(guess, "GET", "/api/boards", nil, "X-Forwarded-For", fmt.Sprintf("2001:db8:9:9::%x", i+1)),
			http.StatusUnauthorized, board.EUnauthenticated)
	}
	apitest.CheckProblem(t, e.call(guess, "GET", "/api/boards", nil, "X-Forwarded-For", "2001:db8:9:9:1:2:3:4"),
		http.StatusTooManyRequests, board.ERateLimited)
	apitest.CheckProblem(t, e.call(guess, "GET", "/api/boards", nil, "X-Forwarded-For", "2001:db8:9:a::1"),
		http.StatusUnauthorized, board.EUnauthenticated)
}

// A password change revokes every API token and every other session: the
// token answers 401 afterwards, over REST and on /api/ws, and the answer
// says what was revoked. The session that changed it goes on.
func TestTokenAfterPasswordChange(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})
	zoe := e.Signup("zoe")
	s1, s2 := e.login(zoe), e.login(zoe)
	t1, t2 := e.Client(apitest.Cred{Cookie: s1}).NewToken("ci"), e.Client(apitest.Cred{Cookie: s2}).NewToken("laptop")
	for _, tok := range []board.APIToken{t1, t2} {
		if r := e.call(apitest.Cred{Bearer: tok.Token}, "GET", "/api/boards", nil); r.Status != http.StatusOK {
			t.Fatalf("token before the change: %v", r)
		}
	}
	r := e.call(apitest.Cred{Cookie: s1}, "POST", "/api/auth/password",
		map[string]string{"current_password": zoe.Password, "new_password": "a brand new password"})
	got := apitest.Must[auth.PasswordChange](t, r, http.StatusOK)
	// The sign-up's session and s2 ended; both tokens revoked.
	if got.RevokedSessions != 2 || got.RevokedTokens != 2 {
		t.Errorf("password change answered %s, want 2 sessions and 2 tokens revoked", r.Body)
	}
	for _, tok := range []board.APIToken{t1, t2} {
		apitest.CheckProblem(t, e.call(apitest.Cred{Bearer: tok.Token}, "GET", "/api/boards", nil), http.StatusUnauthorized, board.EUnauthenticated)
		if _, resp, err := e.dialWS(apitest.Cred{Bearer: tok.Token}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("WebSocket with a revoked token: %v, %v", resp, err)
		}
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{Cookie: s2}, "GET", "/api/auth/me", nil), http.StatusUnauthorized, board.EUnauthenticated)
	if r := e.call(apitest.Cred{Cookie: s1}, "GET", "/api/auth/tokens", nil); r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"tokens":[]`)) {
		t.Errorf("tokens after the change: %v", r)
	}
	if r := e.call(apitest.Cred{Cookie: s1}, "GET", "/api/auth/me", nil); r.Status != http.StatusOK {
		t.Errorf("the session that changed the password: %v", r)
	}
}

// heapSampler samples the Go heap (bytes in heap objects, live or not yet
// collected) every few milliseconds and keeps the peak.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(h.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			h.peak = max(h.peak, s[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}

// post sends a JSON POST from any goroutine; no test failure on errors.
func post(url string, body any, hdr ...string) (apitest.Response, error) {
	return (&apitest.Client{}).Send("POST", url, body, hdr...)
}

// The bound on the Go heap while 100 logins with the production argon2id
// parameters (19 MiB each) arrive at once, hashes bounded to 2 at a time:
// the hashes' own 2 × 19 MiB, the garbage of finished ones the collector
// lets pile up to about as much again, and the rest of the test process.
// Unbounded, the same run peaks near 100 × 19 MiB = 1.9 GiB.
const hashHeapBound = 256 << 20

// 100 concurrent logins never run more password hashes at once than the
// bound, and the heap stays below hashHeapBound. (Not parallel: the heap is
// the process's.)
func TestConcurrentLoginsBoundedHashing(t *testing.T) {
	e := newAuthEnv(t, apitest.Options{
		Auth: func(o *auth.Options) {
			o.Params = auth.DefaultParams
			o.MaxHashes = 2
			o.HashWait = 5 * time.Minute // all wait their turn: this test is about the bound
		},
		API: trustLoopback,
	})
	e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "heidi", "password": "password of heidi"})
	heap := sampleHeap()
	var wg sync.WaitGroup
	var statuses sync.Map
	for i := range 100 {
		wg.Go(func() {
			pw := "a wrong password"
			if i%2 == 0 {
				pw = "password of heidi"
			}
			r, err := post(e.HTTP.URL+"/api/auth/login", map[string]string{"username": "heidi", "password": pw},
				"X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", i/200, i%200+1))
			if err != nil {
				statuses.Store(i, err.Error())
				return
			}
			statuses.Store(i, strconv.Itoa(r.Status))
		})
	}
	wg.Wait()
	peak := heap.Stop()
	counts := map[string]int{}
	statuses.Range(func(_, v any) bool { counts[v.(string)]++; return true })
	st := e.Auth.HashStats()
	t.Logf("100 concurrent logins: answers %v; hashes at once: peak %d (bound %d); heap peak %.1f MiB (bound %d MiB)",
		counts, st.Peak, st.Max, float64(peak)/(1<<20), hashHeapBound>>20)
	if counts["200"] != 50 || counts["401"] != 50 {
		t.Errorf("answers %v, want 50 × 200 and 50 × 401", counts)
	}
	if st.Peak > 2 || st.Peak < 1 {
		t.Errorf("peak of %d hashes at once, bound 2", st.Peak)
	}
	if peak > hashHeapBound {
		t.Errorf("heap peaked at %.1f MiB, bound %d MiB", float64(peak)/(1<<20), hashHeapBound>>20)
	}
}

// A login that finds no free hashing slot within the wait is refused with
// 503 unavailable and a Retry-After, never a 500; the others go through. A
// refused login does not count against the account: retried, it is
// checked.
func TestHashingOverloadAnswers503(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{
		Auth: func(o *auth.Options) {
			o.Params = auth.Params{Memory: 8 * 1024, Time: 8, Threads: 1} // slow enough to queue behind
			o.MaxHashes = 1
			o.HashWait = time.Millisecond
			o.Limits.AccountAddress = ratelimit.Limit{Burst: 1, Every: time.Hour}
		},
		API: trustLoopback,
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var answers []apitest.Response
	refusedAt := map[int]bool{}
	for i := range 20 {
		wg.Go(func() {
			r, err := post(e.HTTP.URL+"/api/auth/login", map[string]string{"username": "nobody-" + strconv.Itoa(i), "password": "whatever"},
				"X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			answers = append(answers, r)
			if r.Status == http.StatusServiceUnavailable {
				refusedAt[i] = true
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	unavailable := 0
	for _, r := range answers {
		switch r.Status {
		case http.StatusUnauthorized:
		case http.StatusServiceUnavailable:
			unavailable++
			apitest.CheckProblem(t, r, http.StatusServiceUnavailable, board.EUnavailable)
			if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("503 with Retry-After %q", r.Header.Get("Retry-After"))
			}
		default:
			t.Errorf("answer %v", r)
		}
	}
	if st := e.Auth.HashStats(); unavailable == 0 || int64(unavailable) != st.Refused || st.Peak != 1 {
		t.Errorf("%d answered 503; stats %+v", unavailable, st)
	}
	for i := range refusedAt {
		r := e.loginFrom(fmt.Sprintf("192.0.2.%d", i+1), "nobody-"+strconv.Itoa(i), "whatever")
		apitest.CheckProblem(t, r, http.StatusUnauthorized, board.EUnauthenticated)
	}
}

// WebSocket upgrades draw on the request budgets: a bogus credential on the
// client address's (refused 429 before any lookup once spent), a valid one
// on its user's. Many users' upgrades from one address (a NAT, a load
// generator) are not limited by the address.
func TestUpgradeBudget(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{API: func(o *httpapi.Options) {
		trustLoopback(o)
		o.RateBurst, o.Rate = 5, 0.001
	}})
	bogus := apitest.Cred{Cookie: "cbs_made-up"}
	statuses := map[int]int{}
	for range 20 {
		_, resp, err := e.dialWS(bogus, "X-Forwarded-For", "203.0.113.50")
		if err == nil || resp == nil {
			t.Fatalf("a bogus session was upgraded: %v", err)
		}
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if statuses[http.StatusUnauthorized] != 5 || statuses[http.StatusTooManyRequests] != 15 {
		t.Errorf("20 upgrades with a bogus session: %v, want 5 × 401 and 15 × 429", statuses)
	}

	// Valid users from one address: the address's budget is not theirs.
	for i := range 8 {
		r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": fmt.Sprintf("natted%d", i), "password": "a password"},
			"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", 70+i))
		c, _, err := e.dialWS(apitest.Cred{Cookie: r.Session()}, "X-Forwarded-For", "203.0.113.77")
		if err != nil {
			t.Fatalf("user %d of 8 behind one address: %v", i+1, err)
		}
		c.Kill() //nolint:errcheck // done with it
	}

	// A valid user, each upgrade from a fresh address: the user's budget.
	r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "opener", "password": "password of opener"},
		"X-Forwarded-For", "198.51.100.60")
	user := apitest.Cred{Cookie: r.Session()}
	opened, limited := 0, 0
	for i := range 10 {
		c, resp, err := e.dialWS(user, "X-Forwarded-For", fmt.Sprintf("192.0.2.%d", 100+i))
		switch {
		case err == nil:
			opened++
			c.Kill() //nolint:errcheck // done with it
		case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("upgrade %d: %v", i+1, err)
		}
	}
	// The sign-up took nothing of the user's budget (it is anonymous): 5.
	if opened != 5 || limited != 5 {
		t.Errorf("10 upgrades of one user: %d opened, %d refused; want 5 and 5", opened, limited)
	}
}

// Over HTTPS (a trusted proxy's X-Forwarded-Proto, or TLS itself) only the
// __Host- cookie authenticates: a plain corkboard_session cookie, which a
// sibling domain or a network attacker can plant, does not.
func TestHostCookieOnlyOverHTTPS(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{API: trustLoopback})
	r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "hostie", "password": "password of hostie"},
		"X-Forwarded-Proto", "https")
	secret := r.Session()
	plain := (&http.Cookie{Name: "corkboard_session", Value: secret}).String()
	host := (&http.Cookie{Name: "__Host-corkboard_session", Value: secret}).String()
	if r := e.call(apitest.Cred{}, "GET", "/api/auth/me", nil, "Cookie", host, "X-Forwarded-Proto", "https"); r.Status != http.StatusOK {
		t.Fatalf("__Host- cookie over HTTPS: %v", r)
	}
	apitest.CheckProblem(t, e.call(apitest.Cred{}, "GET", "/api/auth/me", nil, "Cookie", plain, "X-Forwarded-Proto", "https"),
		http.StatusUnauthorized, board.EUnauthenticated)
	// Over plain HTTP the plain cookie is the one the server sets.
	if r := e.call(apitest.Cred{}, "GET", "/api/auth/me", nil, "Cookie", plain); r.Status != http.StatusOK {
		t.Fatalf("plain cookie over HTTP: %v", r)
	}

	// TLS itself, no proxy.
	tls := httptest.NewTLSServer(e.Handler)
	t.Cleanup(tls.Close)
	for _, c := range []struct {
		cookie string
		want   int
	}{{host, http.StatusOK}, {plain, http.StatusUnauthorized}} {
		req, _ := http.NewRequest("GET", tls.URL+"/api/auth/me", nil)
		req.Header.Set("Cookie", c.cookie)
		res, err := tls.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("over TLS with %.24s…: %d, want %d", c.cookie, res.StatusCode, c.want)
		}
	}
}

// Inviting usernames that do not exist spends the inviter's budget; past
// it every invitation is refused alike with 429 (a user who exists too), so
// invitations cannot enumerate usernames, on any instance. Invitations of
// existing users cost nothing.
func TestInviteEnumerationThrottled(t *testing.T) {
	t.Parallel()
	limit := apitest.Options{API: func(o *httpapi.Options) { o.Invites = ratelimit.Limit{Burst: 5, Every: time.Hour} }}
	e := newAuthEnv(t, limit)
	e2 := newInstance(t, e.Store, limit)
	owner := apitest.Cred{Cookie: e.login(e.Signup("inviter"))}
	for _, u := range []string{"guest0", "guest1", "guest2", "guest3", "guest4", "guest5", "guest6"} {
		e.Signup(u)
	}
	var b board.Board
	e.must(owner, "POST", "/api/boards", map[string]string{"name": "party"}, &b)
	invite := func(u string) apitest.Response {
		return e.call(owner, "POST", "/api/boards/"+b.ID+"/members", map[string]string{"username": u, "role": board.RoleViewer})
	}
	for i := range 6 { // existing users: free
		if r := invite(fmt.Sprintf("guest%d", i)); r.Status != http.StatusCreated {
			t.Fatalf("invite guest%d: %v", i, r)
		}
	}
	for i := range 5 {
		apitest.CheckProblem(t, invite(fmt.Sprintf("maybe%d", i)), http.StatusNotFound, board.ENotFound)
	}
	invite2 := func(u string) apitest.Response {
		return e2.call(owner, "POST", "/api/boards/"+b.ID+"/members", map[string]string{"username": u, "role": board.RoleViewer})
	}
	for _, r := range []apitest.Response{invite("maybe5"), invite("guest6"), invite2("maybe6"), invite2("guest6")} {
		apitest.CheckProblem(t, r, http.StatusTooManyRequests, board.ERateLimited)
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("invite: no Retry-After: %v", r)
		}
	}
	// Another inviter has a budget of their own.
	other := apitest.Cred{Cookie: e.login(e.Signup("inviter2"))}
	var b2 board.Board
	e.must(other, "POST", "/api/boards", map[string]string{"name": "other"}, &b2)
	if r := e.call(other, "POST", "/api/boards/"+b2.ID+"/members", map[string]string{"username": "guest6", "role": board.RoleViewer}); r.Status != http.StatusCreated {
		t.Errorf("another inviter: %v", r)
	}
}

// Answers to authenticated requests, and the answers that set a session,
// carry Cache-Control: no-store — above all the one with a new token's
// secret.
func TestAuthenticatedAnswersNotStored(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})
	var n atomic.Int32
	check := func(what string, r apitest.Response) {
		t.Helper()
		n.Add(1)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s (%d): Cache-Control %q, want no-store", what, r.Status, got)
		}
	}
	r := e.call(apitest.Cred{}, "POST", "/api/auth/signup", map[string]string{"username": "cachy", "password": "password of cachy"})
	check("sign-up", r)
	s := apitest.Cred{Cookie: r.Session()}
	check("login", e.call(apitest.Cred{}, "POST", "/api/auth/login", map[string]string{"username": "cachy", "password": "password of cachy"}))
	check("new token", e.call(s, "POST", "/api/auth/tokens", map[string]string{"name": "ci"}))
	check("new token, with an Idempotency-Key", e.call(s, "POST", "/api/auth/tokens", map[string]string{"name": "ci2"}, "Idempotency-Key", "k1"))
	check("me", e.call(s, "GET", "/api/auth/me", nil))
	check("tokens", e.call(s, "GET", "/api/auth/tokens", nil))
	check("sessions", e.call(s, "GET", "/api/auth/sessions", nil))
	check("boards", e.call(s, "GET", "/api/boards", nil))
	r = e.call(s, "POST", "/api/boards", map[string]string{"name": "b"}, "Idempotency-Key", "k2")
	check("new board", r)
	check("new board, replayed", e.call(s, "POST", "/api/boards", map[string]string{"name": "b"}, "Idempotency-Key", "k2"))
	var b board.Board
	json.Unmarshal(r.Body, &b) //nolint:errcheck // checked by the next call
	check("snapshot", e.call(s, "GET", "/api/boards/"+b.ID, nil))
	if n.Load() != 11 {
		t.Fatal("not every answer was checked")
	}
}
