package webhook

import (
	"net/netip"
	"syscall"
)

// Exempt lets g reach addr whatever its class (a test's first hop).
func Exempt(g *Guard, addr netip.AddrPort) { g.exempt = addr }

// Control is g's net.Dialer Control hook.
func Control(g *Guard, network, address string) error {
	return g.control(network, address, syscall.RawConn(nil))
}
