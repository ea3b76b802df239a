package main

import (
	"context"
	"log/slog"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/natsbus"
)

// userSink delivers derived user messages live: on the bus for the other
// instances, then to this instance's hub. The bus is at-most-once; a page
// that reconnects reads the state again over HTTP (docs/protocol.md).
type userSink struct {
	hub *hub.Hub
	bus *natsbus.Bus
	log *slog.Logger
}

var _ board.UserSink = userSink{}

func (s userSink) Deliver(_ context.Context, msgs []board.UserMessage) {
	for _, m := range msgs {
		msg, err := natsbus.UserMessage(m)
		if err == nil {
			err = s.bus.Send(msg)
		}
		if err != nil {
			s.log.Warn("publish user message to the bus", "user", m.User, "kind", m.Kind, "err", err)
		}
		s.hub.SendUser(m)
	}
}
