// Package commit owns what happens after a mutation commits. A Committer
// runs one store mutation (one transaction that appends one event to its
// board's log) and, once COMMIT succeeded, and only then:
//
//  1. sends the event on the bus, for the other instances' subscribers;
//  2. hands it to this instance's hub, for the local subscribers;
//  3. applies the revocations the change implies (a member removed from a
//     board loses their live subscription to it on every instance);
//  4. calls the hooks registered with OnCommitted (webhook workers, log
//     sequencers: anything that wants a wake-up).
//
// HTTP handlers call Run and never publish or revoke themselves. The bus is
// at-most-once and an instance may die between COMMIT and publish: the
// per-board seq, gap fills and head checks make delivery complete, so a
// failed send is logged and counted, not retried.
package commit

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/natsbus"
)

// Bus carries messages to the other instances (natsbus.Bus).
type Bus interface {
	SendEvent(e board.Event) error // natsbus.EventMessage's message
	Send(m natsbus.Message) error
}

var _ Bus = (*natsbus.Bus)(nil)

// Local is this instance's real-time fan-out (hub.Hub).
type Local interface {
	Publish(e board.Event)
	Revoke(r board.Revocation)
}

// Options configure a Committer. Every field may be left zero: without Bus
// the instance is alone, without Local nothing is delivered live.
type Options struct {
	Bus    Bus
	Local  Local
	Logger *slog.Logger
	// Published, when set, is told after each committed event whether the
	// bus took it (metrics).
	Published func(busOK bool)
	// Skip, when set, is asked after each commit; true leaves the event
	// unpublished, as if the instance died between COMMIT and publish (a
	// test hook for fault injection). Hooks still run.
	Skip func(board.Event) bool
}

// Committer is safe for concurrent use.
type Committer struct {
	o   Options
	log *slog.Logger

	mu    sync.RWMutex
	hooks []func(board.Event)
}

// New returns a Committer.
func New(o Options) *Committer {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Committer{o: o, log: o.Logger}
}

// Run runs m, one store call: a transaction that returns its result and the
// event it appended (with its seq) only when it committed. Then Run, when it committed, publishes its event, applies the
// revocations it implies and calls the OnCommitted hooks, in that order,
// before returning. Those effects do not depend on ctx: a caller that has
// gone does not keep a committed change from being published. An event
// without a seq (a replayed idempotent call, which committed nothing now)
// has no effects.
func (c *Committer) Run(ctx context.Context, m func(context.Context) (any, board.Event, error)) (any, error) {
	result, ev, err := m(ctx)
	if err != nil {
		return nil, err
	}
	if ev.Seq > 0 {
		c.committed(ev)
	}
	return result, nil
}

// OnCommitted registers f to be called with every event this instance
// commits, after it was published, on the committing goroutine: f must be
// quick (signal a worker) and must not call Run.
func (c *Committer) OnCommitted(f func(board.Event)) {
	c.mu.Lock()
	c.hooks = append(c.hooks, f)
	c.mu.Unlock()
}

func (c *Committer) committed(ev board.Event) {
	if c.o.Skip == nil || !c.o.Skip(ev) {
		c.publish(ev)
	}
	if r, ok := revocationOf(ev); ok {
		c.Revoke(r)
	}
	c.mu.RLock()
	hooks := c.hooks
	c.mu.RUnlock()
	for _, f := range hooks {
		f(ev)
	}
}

// publish sends ev on the bus first, then to the local hub: a subscriber
// elsewhere learns of it as early as one here.
func (c *Committer) publish(ev board.Event) {
	busOK := true
	if c.o.Bus != nil {
		if err := c.o.Bus.SendEvent(ev); err != nil {
			// Other instances find the event by their head check.
			busOK = false
			c.log.Warn("publish event to the bus", "board", ev.BoardID, "seq", ev.Seq, "err", err)
		}
	}
	if c.o.Published != nil {
		c.o.Published(busOK)
	}
	if c.o.Local != nil {
		c.o.Local.Publish(ev)
	}
}

// Revoke ends live access on this instance at once and on the others over
// the bus (for the changes of accounts, sessions and tokens, which are not
// board events).
func (c *Committer) Revoke(r board.Revocation) {
	if c.o.Local != nil {
		c.o.Local.Revoke(r)
	}
	if c.o.Bus == nil {
		return
	}
	msg, err := natsbus.RevocationMessage(r)
	if err == nil {
		err = c.o.Bus.Send(msg)
	}
	if err != nil {
		// Other instances recheck credentials on their own schedule.
		c.log.Error("publish revocation", "user", r.UserID, "err", err)
	}
}

// revocationOf is the revocation a committed change implies: a member
// removed from a board loses their subscription to it.
func revocationOf(ev board.Event) (board.Revocation, bool) {
	if ev.Kind != board.KindMemberRemoved {
		return board.Revocation{}, false
	}
	var m board.Member
	if err := json.Unmarshal(ev.Data, &m); err != nil || m.UserID == "" {
		return board.Revocation{}, false
	}
	return board.Revocation{UserID: m.UserID, BoardID: ev.BoardID, Reason: "removed from the board"}, true
}
