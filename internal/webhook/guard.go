package webhook

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrRefusedAddress is the cause of a dial the Guard refused.
var ErrRefusedAddress = errors.New("address not allowed")

// blocked are the address ranges a webhook must not reach unless private
// networks are allowed: the host itself, the local networks, the cloud
// metadata endpoints and what is not a unicast destination. IPv4-mapped
// IPv6 addresses are unmapped before the check.
var blocked = []struct {
	prefix netip.Prefix
	class  string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and 255.255.255.255, broadcast
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
}

// Guard decides which addresses outbound requests may connect to. The zero
// Guard refuses every non-public address.
type Guard struct {
	// AllowPrivateNetworks lets requests reach every address: a self-hoster
	// delivering to their own network.
	AllowPrivateNetworks bool

	// exempt, for tests, is one address allowed whatever its class.
	exempt netip.AddrPort
}

// Check returns an error wrapping ErrRefusedAddress unless a connection to
// addr may be made.
func (g *Guard) Check(addr netip.AddrPort) error {
	if g.AllowPrivateNetworks || (g.exempt.IsValid() && addr == g.exempt) {
		return nil
	}
	ip := addr.Addr().Unmap()
	if ip.Zone() != "" {
		return fmt.Errorf("%w: %s has a zone", ErrRefusedAddress, ip)
	}
	for _, b := range blocked {
		if b.prefix.Contains(ip) {
			return fmt.Errorf("%w: %s is %s", ErrRefusedAddress, ip, b.class)
		}
	}
	// IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) forms embed an
	// IPv4 address: judge that one.
	if ip.Is6() {
		a := ip.As16()
		for _, p := range []netip.Prefix{netip.MustParsePrefix("::/96"), netip.MustParsePrefix("64:ff9b::/96")} {
			if p.Contains(ip) {
				v4 := netip.AddrFrom4([4]byte(a[12:]))
				if err := g.Check(netip.AddrPortFrom(v4, addr.Port())); err != nil {
					return fmt.Errorf("%w (as %s)", err, ip)
				}
			}
		}
	}
	return nil
}

// control is a net.Dialer Control: it runs after name resolution, before
// each connection attempt, with the address actually dialled.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %s", ErrRefusedAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrRefusedAddress, address)
	}
	return g.Check(ap)
}

// MaxRedirects is how many redirects a delivery follows.
const MaxRedirects = 3

// MaxResponseBytes is how much of a response body is read.
const MaxResponseBytes = 4 << 10

// NewClient returns an HTTP client whose every connection, redirects
// included (at most MaxRedirects), goes only where g allows, through no
// proxy, connecting within connectTimeout.
func (g *Guard) NewClient(connectTimeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second, Control: g.control}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   connectTimeout,
		ResponseHeaderTimeout: 0, // the request's context bounds it
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("more than %d redirects", MaxRedirects)
			}
			return nil
		},
	}
}

// drain reads at most MaxResponseBytes of a response body and closes it.
func drain(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, MaxResponseBytes)) //nolint:errcheck // the body is not used
	body.Close()
}
