package webhook

import (
	"net/netip"
	"syscall"
	"time"
)

// Exempt lets g reach addr whatever its class (a test's first hop).
func Exempt(g *Guard, addr netip.AddrPort) { g.exempt = addr }

// Control is g's net.Dialer Control hook.
func Control(g *Guard, network, address string) error {
	return g.control(network, address, syscall.RawConn(nil))
}

// Backoff is w's delay before retry n.
func Backoff(w *Worker, n int) time.Duration { return w.backoff(n) }
