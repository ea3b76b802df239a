package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// An IPv4 address is its own key; IPv6 addresses share their /64's.
func TestAddrKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", "invalid"},
		{"not an address", "invalid"},
	} {
		if got := ParseAddrKey(c.in); got != c.want {
			t.Errorf("ParseAddrKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if AddrKey(netip.Addr{}) != "invalid" {
		t.Error("the zero address")
	}
}

// Give returns one attempt, never past Burst.
func TestGive(t *testing.T) {
	th := &Throttle{Burst: 2, Every: time.Hour}
	th.Give("k") // no bucket yet: nothing to return
	th.Allow("k", t0)
	th.Allow("k", t0)
	if ok, _ := th.Allow("k", t0); ok {
		t.Fatal("past the burst")
	}
	th.Give("k")
	if ok, _ := th.Allow("k", t0); !ok {
		t.Fatal("the given attempt was not there")
	}
	th.Give("k")
	th.Give("k")
	th.Give("k")
	for i := range 2 {
		if ok, _ := th.Allow("k", t0); !ok {
			t.Fatalf("attempt %d after gives", i+1)
		}
	}
	if ok, _ := th.Allow("k", t0); ok {
		t.Fatal("gives went past the burst")
	}
}

// Spent looks without taking.
func TestSpent(t *testing.T) {
	th := &Throttle{Burst: 1, Every: time.Second}
	if spent, _ := th.Spent("k", t0); spent {
		t.Fatal("an unused key is spent")
	}
	th.Allow("k", t0)
	if spent, wait := th.Spent("k", t0.Add(400*time.Millisecond)); !spent || wait != 600*time.Millisecond {
		t.Fatalf("spent %v, wait %v", spent, wait)
	}
	if spent, _ := th.Spent("k", t0.Add(time.Second)); spent {
		t.Fatal("still spent after refilling")
	}
	if ok, _ := th.Allow("k", t0.Add(time.Second)); !ok {
		t.Fatal("Spent took the attempt")
	}
}
