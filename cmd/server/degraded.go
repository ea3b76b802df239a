package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/corkboard/corkboard/internal/ops"
)

// busState is what watchBus reads of the NATS connection (natsbus.Bus).
type busState interface{ Connected() bool }

// headChecker is what watchBus asks of the hub.
type headChecker interface{ CheckHeads() }

// watchBus keeps cross-instance delivery going while the NATS connection is
// down. The instance stays ready (its readiness check of NATS only
// degrades it): REST and delivery to its own subscribers go on, and the
// events other instances commit reach its subscribers through head checks,
// which run every `every` while the bus is down instead of every
// HEAD_CHECK_INTERVAL. It logs when the instance becomes degraded and when
// it recovers, and sets corkboard_degraded{dependency="nats"}. It returns
// when ctx is done.
func watchBus(ctx context.Context, bus busState, h headChecker, every time.Duration, m *ops.Metrics, log *slog.Logger) {
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	m.Degraded("nats", false)
	var since time.Time // when the bus went down; zero while it is up
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		up := bus.Connected()
		switch {
		case !up && since.IsZero():
			since = time.Now()
			m.Degraded("nats", true)
			log.Warn("nats down: degraded, still serving; other instances' events arrive by head checks",
				"head_check_interval", every)
		case up && !since.IsZero():
			log.Info("nats back: no longer degraded", "down_for", time.Since(since).Round(time.Millisecond))
			since = time.Time{}
			m.Degraded("nats", false)
		}
		if !up {
			h.CheckHeads()
		}
	}
}
