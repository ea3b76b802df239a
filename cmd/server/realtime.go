package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/commit"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/natsbus"
)

// hooks let tests inject faults into a running instance.
type hooks struct {
	// beforePublish is called after a commit, before the event is
	// published; returning false drops the publication, as if the
	// instance died between COMMIT and publish.
	beforePublish func(board.Event) bool
	// dropNATS drops messages received from NATS when it returns true.
	dropNATS func(subject string) bool
	// cheapAuth makes password hashing cheap and login throttling lax.
	cheapAuth bool
	// requestRate, when set, is the per-caller request budget's refill
	// rate (per second), for tests that must see a spent budget stay spent.
	requestRate float64
}

// startRealtime connects to NATS (starting an in-process server without
// NATS_URL), starts the hub, registers the hub's handlers for the bus's
// kinds, and builds the committer that publishes what this instance
// commits.
func (a *App) startRealtime(ctx context.Context) error {
	o := natsbus.Options{URL: a.cfg.NATSURL, Name: "corkboard", Logger: a.log,
		User: a.cfg.NATSUser, Password: a.cfg.NATSPassword, Drop: a.cfg.hooks.dropNATS}
	if o.URL == "" {
		// Private to this process, yet reachable on loopback: nobody else
		// may publish on it. The instance itself talks to it through an
		// in-process pipe, without a socket.
		if o.User == "" {
			o.User = "corkboard"
		}
		if o.Password == "" {
			o.Password = randomSecret()
		}
		srv, err := natsbus.StartServer(natsbus.ServerOptions{Port: -1, Name: "corkboard-embedded",
			User: o.User, Password: o.Password, NoProducerStall: true})
		if err != nil {
			return fmt.Errorf("start in-process nats: %w", err)
		}
		a.nats, o.Server = srv, srv
	} else if a.cfg.NATSTLS() {
		tc, err := natsbus.TLSConfig(a.cfg.NATSTLSCA, a.cfg.NATSTLSCert, a.cfg.NATSTLSKey)
		if err != nil {
			return err
		}
		o.TLS = tc
	}
	bus, err := natsbus.Connect(ctx, o)
	if err != nil {
		if a.nats != nil {
			a.nats.Shutdown()
		}
		return err
	}
	h := hub.New(hub.Options{Log: a.store, Bus: bus, HeadInterval: a.cfg.HeadInterval,
		QueueBytes: a.cfg.WSQueueBytes, Logger: a.log, OnDeliver: a.metrics.Delivered})
	bus.Register(natsbus.KindEvent, natsbus.EventHandler(a.log, h.Publish))
	bus.Register(natsbus.KindPresence, natsbus.PresenceHandler(a.log, h.RemotePresence))
	bus.Register(natsbus.KindRevoke, natsbus.RevocationHandler(a.log, func(r board.Revocation) {
		if acc := a.accounts.Load(); acc != nil {
			acc.Forget(r)
		}
		h.Revoke(r)
	}))
	bus.Register(natsbus.KindUser, natsbus.UserHandler(a.log, h.SendUser))
	bus.OnReconnect(h.CheckHeads)
	co := commit.Options{Bus: bus, Local: h, Logger: a.log, Published: a.metrics.Committed}
	if before := a.cfg.hooks.beforePublish; before != nil {
		co.Skip = func(e board.Event) bool { return !before(e) }
	}
	a.bus, a.hub, a.commit = bus, h, commit.New(co)
	return nil
}

func (a *App) stopRealtime(ctx context.Context) error {
	a.hub.Close()
	err := a.bus.Close(ctx)
	if a.nats != nil {
		a.nats.Shutdown()
	}
	return err
}

func randomSecret() string {
	var b [24]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
