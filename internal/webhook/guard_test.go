package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/webhook"
)

// Every class of address the Guard refuses, in the literal forms a dial
// hands to the Control hook (after resolution). Nothing is dialled.
func TestGuardRefusesEachClass(t *testing.T) {
	refused := map[string][]string{
		"loopback":         {"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::127.0.0.1"},
		"unspecified":      {"0.0.0.0", "0.1.2.3", "::", "::ffff:0.0.0.0"},
		"private":          {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.0.1", "192.168.255.255", "::ffff:10.1.2.3", "::ffff:192.168.1.1"},
		"unique local":     {"fc00::1", "fd12:3456:789a::1"},
		"link-local":       {"169.254.169.254", "169.254.0.1", "fe80::1", "febf::1", "::ffff:169.254.169.254"},
		"CGNAT":            {"100.64.0.1", "100.127.255.254", "::ffff:100.64.0.1"},
		"multicast":        {"224.0.0.1", "239.255.255.250", "ff02::1", "ff0e::1", "::ffff:224.0.0.251"},
		"broadcast":        {"255.255.255.255", "::ffff:255.255.255.255"},
		"reserved":         {"240.0.0.1", "198.18.0.1", "192.0.0.8"},
		"NAT64 of private": {"64:ff9b::a00:1", "64:ff9b::7f00:1"},
		"documentation":    {"2001:db8::1"},
	}
	g := &webhook.Guard{}
	for class, addrs := range refused {
		for _, a := range addrs {
			addr := net.JoinHostPort(a, "443")
			network := "tcp4"
			if strings.Contains(a, ":") {
				network = "tcp6"
			}
			err := webhook.Control(g, network, addr)
			if !errors.Is(err, webhook.ErrRefusedAddress) {
				t.Errorf("%s %s: %v, want refused", class, addr, err)
			}
			if err := webhook.Control(&webhook.Guard{AllowPrivateNetworks: true}, network, addr); err != nil {
				t.Errorf("%s %s with private networks allowed: %v", class, addr, err)
			}
		}
	}
	for _, a := range []string{"93.184.215.14", "8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "169.255.0.1",
		"2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808"} {
		network := "tcp4"
		if strings.Contains(a, ":") {
			network = "tcp6"
		}
		if err := webhook.Control(g, network, net.JoinHostPort(a, "443")); err != nil {
			t.Errorf("public %s refused: %v", a, err)
		}
	}
	if err := webhook.Control(g, "udp4", "8.8.8.8:53"); !errors.Is(err, webhook.ErrRefusedAddress) {
		t.Errorf("udp: %v, want refused", err)
	}
	if err := webhook.Control(g, "tcp6", "[fe80::1%eth0]:443"); !errors.Is(err, webhook.ErrRefusedAddress) {
		t.Errorf("zoned address: %v, want refused", err)
	}
}

// post sends one POST through c and returns the error, if any.
func post(c *http.Client, url string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{}`))
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// A loopback receiver is refused without private networks, and every
// redirect hop is checked: an allowed first hop that redirects to loopback
// (by address, by an IPv4-mapped address, by name) is refused there, and
// the target sees nothing.
func TestGuardChecksEveryHop(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())

	g := &webhook.Guard{}
	if _, err := post(g.NewClient(time.Second), target.URL); !errors.Is(err, webhook.ErrRefusedAddress) {
		t.Fatalf("direct to loopback: %v, want refused", err)
	}

	var to atomic.Value
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to.Load().(string), http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	webhook.Exempt(g, netip.MustParseAddrPort(first.Listener.Addr().String()))
	c := g.NewClient(time.Second)
	for _, u := range []string{target.URL, "http://[::ffff:127.0.0.1]:" + port + "/", "http://localhost:" + port + "/x",
		"http://0.0.0.0:" + port + "/"} {
		to.Store(u)
		_, err := post(c, first.URL)
		if !errors.Is(err, webhook.ErrRefusedAddress) {
			t.Errorf("redirect to %s: %v, want refused", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback target was reached %d times", n)
	}

	// With private networks allowed, redirects are followed, at most
	// MaxRedirects of them.
	open := (&webhook.Guard{AllowPrivateNetworks: true}).NewClient(time.Second)
	to.Store(target.URL)
	if code, err := post(open, first.URL); err != nil || code != 200 || hits.Load() != 1 {
		t.Fatalf("allowed redirect: %d %v, %d hits", code, err, hits.Load())
	}
	var chain *httptest.Server
	chain = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/%d", &n)
		http.Redirect(w, r, fmt.Sprintf("%s/%d", chain.URL, n+1), http.StatusTemporaryRedirect)
	}))
	defer chain.Close()
	if _, err := post(open, chain.URL+"/0"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("endless redirects: %v, want an error about redirects", err)
	}
}
