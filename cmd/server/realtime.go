package main

import (
	"context"
	"log/slog"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/ops"
	"github.com/corkboard/corkboard/internal/store"
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
}

// publisher takes a committed event to this instance's subscribers and, over
// NATS, to every other instance's.
type publisher struct {
	hub     *hub.Hub
	bus     *natsbus.Bus
	seq     *store.Sequencer // woken to give the event its place in the global log
	log     *slog.Logger
	hooks   hooks
	metrics *ops.Metrics
}

func (p *publisher) Publish(_ context.Context, e board.Event) {
	if p.hooks.beforePublish != nil && !p.hooks.beforePublish(e) {
		return
	}
	p.seq.Wake()
	err := p.bus.Publish(e)
	if err != nil {
		// Other instances find the event by their head check.
		p.log.Warn("publish event to nats", "board", e.BoardID, "seq", e.Seq, "err", err)
	}
	p.metrics.Committed(err == nil)
	p.hub.Publish(e)
}

// revoker ends live access on this instance at once and on the others over
// NATS.
type revoker struct {
	hub *hub.Hub
	bus *natsbus.Bus
	log *slog.Logger
}

func (r *revoker) Revoke(rv board.Revocation) {
	r.hub.Revoke(rv)
	if err := r.bus.PublishRevocation(rv); err != nil {
		r.log.Error("publish revocation", "user", rv.UserID, "err", err)
	}
}
