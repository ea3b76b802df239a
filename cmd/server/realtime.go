package main

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"

	"github.com/corkboard/corkboard/internal/board"
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
}

// publisher takes a committed event to this instance's subscribers and, over
// NATS, to every other instance's.
type publisher struct {
	hub   *hub.Hub
	bus   *natsbus.Bus
	log   *slog.Logger
	hooks hooks
}

func (p *publisher) Publish(_ context.Context, e board.Event) {
	if p.hooks.beforePublish != nil && !p.hooks.beforePublish(e) {
		return
	}
	if err := p.bus.Publish(e); err != nil {
		// Other instances find the event by their head check.
		p.log.Warn("publish event to nats", "board", e.BoardID, "seq", e.Seq, "err", err)
	}
	p.hub.Publish(e)
}

var wsUserPattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// wsUser identifies the user of a WebSocket request by the X-User header or,
// since browsers cannot set headers on WebSockets, the user query parameter.
// Like the REST API's X-User it stands in for accounts and sessions.
func wsUser(r *http.Request) (string, error) {
	u := r.Header.Get("X-User")
	if u == "" {
		u = r.URL.Query().Get("user")
	}
	if u == "" {
		return "", board.Errorf(board.EUnauthenticated, "say who you are in the X-User header or the user query parameter")
	}
	if !wsUserPattern.MatchString(u) {
		return "", board.FieldError(board.EInvalid, "user", "must be 1-64 of A-Z a-z 0-9 . _ @ -")
	}
	return u, nil
}
