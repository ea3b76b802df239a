package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/board"
)

// lookupCounter counts the credential reads that reach the database.
type lookupCounter struct {
	auth.Store
	n atomic.Int64
}

func (c *lookupCounter) SessionPrincipal(ctx context.Context, h []byte) (board.Principal, error) {
	c.n.Add(1)
	return c.Store.SessionPrincipal(ctx, h)
}

func (c *lookupCounter) TokenPrincipal(ctx context.Context, h []byte) (board.Principal, error) {
	c.n.Add(1)
	return c.Store.TokenPrincipal(ctx, h)
}

// bus stands in for NATS between two instances' account services: every
// revocation either makes reaches both (the hubs too), unless cut.
type bus struct {
	mu   sync.Mutex
	cut  bool
	subs []func(board.Revocation)
}

func (b *bus) Revoke(r board.Revocation) {
	b.mu.Lock()
	subs, cut := b.subs, b.cut
	b.mu.Unlock()
	for i, f := range subs {
		if cut && i > 0 {
			continue // only the instance that made it hears it
		}
		f(r)
	}
}

// TestCredentialCache: with a credential cache (an hour long here) on two
// instances, repeated requests read a session once; a logout on one
// instance refuses the session at once on both; a revocation an instance
// never hears of lasts until its cache is dropped (as when NATS comes
// back); and no request that starts after a logout has answered is let in,
// however many race it.
func TestCredentialCache(t *testing.T) {
	t.Parallel()
	st := apitest.OpenStore(t)
	var b bus
	lookups := [2]*lookupCounter{}
	inst := [2]*authEnv{}
	for i := range inst {
		lookups[i] = &lookupCounter{}
		inst[i] = newInstance(t, st, apitest.Options{Auth: func(o *auth.Options) {
			lookups[i].Store = o.Store
			o.Store = lookups[i]
			o.CredentialTTL = time.Hour
			o.Revoker = &b
		}})
	}
	for i := range inst {
		b.subs = append(b.subs, func(r board.Revocation) { inst[i].Auth.Forget(r); inst[i].Hub.Revoke(r) })
	}
	A, B := inst[0], inst[1]
	acc := A.Signup("cachey")
	cred := apitest.Cred{Cookie: acc.Session}
	boards := func(e *authEnv, c apitest.Cred) int {
		r, err := e.Client(c).Send("GET", "/api/boards", nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}

	for range 5 {
		if st := boards(B, cred); st != http.StatusOK {
			t.Fatalf("GET /api/boards on B: %d", st)
		}
	}
	if n := lookups[1].n.Load(); n != 1 {
		t.Errorf("5 requests on B read the session %d times, want 1", n)
	}

	// A logout on A: refused at once on A and on B.
	if r := A.call(cred, "POST", "/api/auth/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %v", r)
	}
	for i, e := range inst {
		if st := boards(e, cred); st != http.StatusUnauthorized {
			t.Errorf("instance %d after the logout: %d, want 401", i, st)
		}
	}

	// A token revoked while B is cut off: B takes it until its cache is
	// dropped, then refuses it.
	s2 := apitest.Cred{Cookie: apitest.Login(t, A.URL, acc)}
	tok := A.Client(s2).NewToken("ci")
	tc := apitest.Cred{Bearer: tok.Token}
	if st := boards(B, tc); st != http.StatusOK {
		t.Fatalf("token on B: %d", st)
	}
	b.mu.Lock()
	b.cut = true
	b.mu.Unlock()
	if r := A.call(s2, "DELETE", "/api/auth/tokens/"+tok.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke token: %v", r)
	}
	if st := boards(A, tc); st != http.StatusUnauthorized {
		t.Errorf("revoked token on A: %d, want 401", st)
	}
	if st := boards(B, tc); st != http.StatusOK {
		t.Errorf("revoked token on B, which never heard of it, within its cache TTL: %d (the test's premise)", st)
	}
	B.Auth.ForgetAll()
	if st := boards(B, tc); st != http.StatusUnauthorized {
		t.Errorf("revoked token on B after its cache was dropped: %d, want 401", st)
	}
	b.mu.Lock()
	b.cut = false
	b.mu.Unlock()

	// 8 readers on B race a logout on A, 20 times: every request that
	// started after the logout answered is refused.
	for round := range 20 {
		s := apitest.Cred{Cookie: apitest.Login(t, A.URL, acc)}
		var loggedOut atomic.Int64 // unix nanos, once the logout answered
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					started := time.Now().UnixNano()
					st := boards(B, s)
					if done := loggedOut.Load(); done != 0 && started > done && st != http.StatusUnauthorized {
						t.Errorf("round %d: a request started %v after the logout answered got %d",
							round, time.Duration(started-done), st)
					}
					if done := loggedOut.Load(); done != 0 && started > done {
						return
					}
				}
			})
		}
		time.Sleep(5 * time.Millisecond)
		if r := A.call(s, "POST", "/api/auth/logout", nil); r.Status != http.StatusNoContent {
			t.Fatalf("logout: %v", r)
		}
		loggedOut.Store(time.Now().UnixNano())
		wg.Wait()
	}
}
