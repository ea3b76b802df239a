package webhook_test

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"testing"

	"github.com/corkboard/corkboard/internal/webhook"
)

// FuzzGuard checks the Guard against the standard library's own idea of
// non-public addresses: whatever net.IP calls loopback, private,
// link-local, multicast or unspecified (in either form of an IPv4-mapped
// address) is refused.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "::ffff:192.168.0.1", "fe80::1", "169.254.169.254", "8.8.8.8",
		"2606:4700::1", "ff02::1", "::", "100.64.1.1", "fd00::1", "224.0.0.1", "::ffff:127.0.0.1"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:])
	}
	g := &webhook.Guard{}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) != 4 && len(raw) != 16 {
			return
		}
		addr, _ := netip.AddrFromSlice(raw)
		ip := net.IP(raw)
		err := g.Check(netip.AddrPortFrom(addr, 443))
		if err != nil && !errors.Is(err, webhook.ErrRefusedAddress) {
			t.Fatalf("%s: an error that is not a refusal: %v", addr, err)
		}
		if (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
			ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()) && err == nil {
			t.Fatalf("%s (%v) allowed", addr, ip)
		}
		if err := (&webhook.Guard{AllowPrivateNetworks: true}).Check(netip.AddrPortFrom(addr, 443)); err != nil {
			t.Fatalf("%s refused with private networks allowed: %v", addr, err)
		}
	})
}

// FuzzCheckURL: an accepted URL is an absolute http(s) URL with a host
// that the HTTP client can request.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.com/hook", "http://[::1]:8080/x?y=z", "ftp://x", "https://", "javascript:alert(1)",
		"https://a b", "http://example.com:99999/", "HTTPS://EXAMPLE.COM", "https://user:pw@example.com/", "//example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if webhook.CheckURL(s) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || len(s) > webhook.MaxURLLen {
			t.Fatalf("accepted %q (%v)", s, err)
		}
	})
}
