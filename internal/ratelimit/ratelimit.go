// Package ratelimit limits attempts per key with token buckets: API requests
// per user and address, WebSocket messages per connection, invitations of
// unknown users. (Login budgets, which must hold across instances, live in
// PostgreSQL with the same shape: see Limit and Take.)
package ratelimit

import (
	"sync"
	"time"
)

// Throttle limits attempts per key (an account, an IP) with a token bucket:
// Burst attempts at once, then one every Every. It is per process: with N
// instances an attacker gets at most N times the allowance.
type Throttle struct {
	Burst int
	Every time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// Allow takes one attempt for key. When none is left it returns false and
// how long until the next one.
func (t *Throttle) Allow(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buckets == nil {
		t.buckets = map[string]*bucket{}
	}
	full := time.Duration(t.Burst) * t.Every
	if now.Sub(t.sweep) > full {
		for k, b := range t.buckets {
			if now.Sub(b.at) > full {
				delete(t.buckets, k)
			}
		}
		t.sweep = now
	}
	b := t.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(t.Burst), at: now}
		t.buckets[key] = b
	}
	b.tokens = min(float64(t.Burst), b.tokens+float64(now.Sub(b.at))/float64(t.Every))
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(t.Every))
	}
	b.tokens--
	return true, 0
}

// Give returns one attempt to key's bucket (up to Burst): for an attempt
// that turned out not to count, such as an invitation of a user who exists.
func (t *Throttle) Give(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.buckets[key]; b != nil {
		b.tokens = min(float64(t.Burst), b.tokens+1)
	}
}

// Spent reports whether key's bucket has no attempt left at now, and how
// long until the next one, without taking any.
func (t *Throttle) Spent(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b == nil {
		return false, 0
	}
	tokens := min(float64(t.Burst), b.tokens+float64(now.Sub(b.at))/float64(t.Every))
	if tokens < 1 {
		return true, time.Duration((1 - tokens) * float64(t.Every))
	}
	return false, 0
}
