package ratelimit

import (
	"net/netip"
	"time"
)

// Limit is a token bucket's shape: Burst attempts at once, then one every
// Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// Take is the outcome of taking one attempt from a bucket.
type Take struct {
	OK     bool          // the attempt was allowed (and took a token)
	Before float64       // the tokens the bucket held before the attempt
	Wait   time.Duration // when refused: how long until the next token
}

// Full reports whether the bucket was full before the attempt: nothing
// taken from it lately.
func (t Take) Full(l Limit) bool { return t.Before >= float64(l.Burst) }

// AddrKey is the budget key of a client address: an IPv4 address itself, an
// IPv6 address by its /64 (one subscriber's network, which hands its
// machines any number of addresses), an invalid address as "invalid".
func AddrKey(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return "invalid"
	case a.Is4():
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// ParseAddrKey is AddrKey of an address in text (as auth.Client carries it).
func ParseAddrKey(s string) string {
	a, _ := netip.ParseAddr(s)
	return AddrKey(a)
}
