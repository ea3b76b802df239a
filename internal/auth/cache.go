package auth

import (
	"context"
	"sync"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// maxCachedCredentials bounds the cache; past it, expired entries are swept
// and, if that is not enough, everything is dropped (it refills from the
// database at one read per credential).
const maxCachedCredentials = 100_000

// credentialCache remembers, for a few seconds, whom a credential's hash
// belongs to, so that a request costs no database read to authenticate.
// Revocation stays live: every revocation (logout, ended session, revoked
// token, changed password), on this instance or arriving over the bus,
// forgets the user's entries at once; only a revocation this instance never
// hears of (the bus down) and a session's natural expiry take up to the TTL
// to be noticed.
type credentialCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedCredential // by the credential's hash
	gen     uint64                      // moves with every Forget
}

type cachedCredential struct {
	p     board.Principal
	until time.Time
}

func newCredentialCache(ttl time.Duration) *credentialCache {
	return &credentialCache{ttl: ttl, now: time.Now, entries: map[string]cachedCredential{}}
}

// get returns the principal kept for hash, and the generation to pass to
// put after a database read when there is none.
func (c *credentialCache) get(hash []byte) (board.Principal, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[string(hash)]
	if ok && c.now().Before(e.until) {
		return e.p, true, c.gen
	}
	if ok {
		delete(c.entries, string(hash))
	}
	return board.Principal{}, false, c.gen
}

// put keeps p for hash unless something was forgotten since gen was read:
// the database read that found p may have raced a revocation, and keeping
// its answer would undo the revocation for the TTL.
func (c *credentialCache) put(hash []byte, p board.Principal, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	now := c.now()
	if len(c.entries) >= maxCachedCredentials {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedCredentials {
			clear(c.entries)
		}
	}
	c.entries[string(hash)] = cachedCredential{p: p, until: now.Add(c.ttl)}
}

// drop forgets one credential, found invalid.
func (c *credentialCache) drop(hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, string(hash))
}

// forget drops every entry of userID ("": every entry).
func (c *credentialCache) forget(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if userID == "" {
		clear(c.entries)
		return
	}
	for k, e := range c.entries {
		if e.p.UserID == userID {
			delete(c.entries, k)
		}
	}
}

// Forget drops what the credential cache knows of the user a revocation is
// about; call it for every revocation that arrives from other instances
// (this instance's own are forgotten as they are made). A revocation of
// one board's access is not about credentials and changes nothing.
func (s *Service) Forget(r board.Revocation) {
	if s.cache == nil || r.BoardID != "" {
		return
	}
	s.cache.forget(r.UserID)
}

// ForgetAll empties the credential cache: after the bus was down, when
// revocations may have been missed.
func (s *Service) ForgetAll() {
	if s.cache != nil {
		s.cache.forget("")
	}
}

type uncachedKey struct{}

// Uncached marks ctx so that Authenticate reads the credential from the
// database whatever the cache holds (a periodic recheck of a live
// connection must not be answered by the cache it is there to correct).
func Uncached(ctx context.Context) context.Context {
	return context.WithValue(ctx, uncachedKey{}, true)
}

func uncached(ctx context.Context) bool { return ctx.Value(uncachedKey{}) != nil }
