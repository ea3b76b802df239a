// Package natsbus carries board events and presence between Corkboard
// instances over core NATS. It is a thin seam: Publish sends a committed
// event out, Join subscribes to one board's subjects (on its first local
// subscriber) and hands what arrives to the hub. Core NATS is at-most-once;
// the hub's seq checks and head checks make delivery complete.
package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/corkboard/corkboard/internal/board"
)

// Subjects of one board: every subject is built here.
func eventSubject(boardID string) string    { return "corkboard.board." + boardID + ".events" }
func presenceSubject(boardID string) string { return "corkboard.board." + boardID + ".presence" }
func boardSubjects(boardID string) string   { return "corkboard.board." + boardID + ".*" }

// revokeSubject carries revocations to every instance.
const revokeSubject = "corkboard.revoke"

// Options configure a Bus.
type Options struct {
	URL    string // one URL or a comma-separated list (a cluster)
	Name   string // connection name, shown by the NATS server
	Logger *slog.Logger
	// OnEvent receives events of joined boards published by other instances.
	OnEvent func(board.Event)
	// OnPresence receives presence announcements of joined boards.
	OnPresence func(boardID, instance string, users []string)
	// OnRevoke receives revocations published by other instances.
	OnRevoke func(board.Revocation)
	// OnReconnect is called after the connection came back, when messages
	// may have been lost.
	OnReconnect func()
	// Drop, when set, is asked for every message received and drops those
	// it returns true for: a test hook for lost messages.
	Drop func(subject string) bool
}

// Bus is a NATS connection for one instance. It is safe for concurrent use.
type Bus struct {
	o   Options
	log *slog.Logger
	nc  *nats.Conn
}

// Connect connects to NATS and returns the bus. It keeps reconnecting for as
// long as the bus is open.
func Connect(ctx context.Context, o Options) (*Bus, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	b := &Bus{o: o, log: o.Logger}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.NoEcho(), // an instance delivers its own events locally
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
			if o.OnReconnect != nil {
				o.OnReconnect()
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) { b.log.Info("nats connection closed") }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			b.log.Error("nats error", "subject", subject, "err", err)
		}),
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats at %s: %w", o.URL, err)
	}
	b.nc = nc
	if o.OnRevoke != nil {
		if _, err := nc.Subscribe(revokeSubject, b.receiveRevocation); err != nil {
			nc.Close()
			return nil, fmt.Errorf("subscribe to revocations: %w", err)
		}
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			nc.Close()
			return nil, fmt.Errorf("subscribe to revocations: %w", err)
		}
	}
	return b, nil
}

// Connected reports whether the connection is up.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// ConnectedURL is the URL of the server the bus is connected to.
func (b *Bus) ConnectedURL() string { return b.nc.ConnectedUrl() }

// Reconnects is how many times the connection was re-established.
func (b *Bus) Reconnects() uint64 { return b.nc.Stats().Reconnects }

// Publish sends a committed event to the instances subscribed to its board.
// It does not wait for them; a lost message is recovered from the log.
func (b *Bus) Publish(e board.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	if err := b.nc.Publish(eventSubject(e.BoardID), data); err != nil {
		return fmt.Errorf("publish event %d of board %s: %w", e.Seq, e.BoardID, err)
	}
	return nil
}

type presenceMsg struct {
	Instance string   `json:"instance"`
	Users    []string `json:"users"`
}

// PublishPresence announces the users viewing a board on instance.
func (b *Bus) PublishPresence(boardID, instance string, users []string) {
	data, _ := json.Marshal(presenceMsg{Instance: instance, Users: users})
	if err := b.nc.Publish(presenceSubject(boardID), data); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		b.log.Warn("publish presence", "board", boardID, "err", err)
	}
}

// PublishRevocation sends a revocation to every other instance (NoEcho: the
// caller applies it locally itself).
func (b *Bus) PublishRevocation(r board.Revocation) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode revocation: %w", err)
	}
	if err := b.nc.Publish(revokeSubject, data); err != nil {
		return fmt.Errorf("publish revocation: %w", err)
	}
	return nil
}

func (b *Bus) receiveRevocation(m *nats.Msg) {
	if b.o.Drop != nil && b.o.Drop(m.Subject) {
		return
	}
	var r board.Revocation
	if err := json.Unmarshal(m.Data, &r); err != nil || r.UserID == "" {
		b.log.Warn("dropping a malformed revocation", "err", err)
		return
	}
	b.o.OnRevoke(r)
}

// Join subscribes to a board's events and presence and returns once the
// server has the subscription. leave unsubscribes.
func (b *Bus) Join(boardID string) (leave func(), err error) {
	sub, err := b.nc.Subscribe(boardSubjects(boardID), b.receive)
	if err != nil {
		return nil, fmt.Errorf("subscribe to board %s: %w", boardID, err)
	}
	// Unlimited pending: the hub never blocks, so the handler keeps up.
	sub.SetPendingLimits(-1, -1) //nolint:errcheck // only fails on a closed subscription
	if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
		// Still subscribed (the client resubscribes after a reconnect);
		// the hub's head check covers the window.
		b.log.Warn("nats flush after subscribe", "board", boardID, "err", err)
	}
	return func() { sub.Unsubscribe() }, nil //nolint:errcheck // closed connections unsubscribe anyway
}

func (b *Bus) receive(m *nats.Msg) {
	if b.o.Drop != nil && b.o.Drop(m.Subject) {
		return
	}
	switch {
	case strings.HasSuffix(m.Subject, ".events"):
		var e board.Event
		if err := json.Unmarshal(m.Data, &e); err != nil || !board.ValidID(e.BoardID) || e.Seq < 1 {
			b.log.Warn("dropping a malformed event message", "subject", m.Subject, "err", err)
			return
		}
		if b.o.OnEvent != nil {
			b.o.OnEvent(e)
		}
	default:
		var p presenceMsg
		if err := json.Unmarshal(m.Data, &p); err != nil {
			b.log.Warn("dropping a malformed presence message", "subject", m.Subject, "err", err)
			return
		}
		boardID := strings.TrimSuffix(strings.TrimPrefix(m.Subject, "corkboard.board."), ".presence")
		if b.o.OnPresence != nil {
			b.o.OnPresence(boardID, p.Instance, p.Users)
		}
	}
}

// Close drains the connection: subscriptions stop, published messages are
// flushed, then it closes (bounded by ctx).
func (b *Bus) Close(ctx context.Context) error {
	done := make(chan struct{})
	b.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := b.nc.Drain(); err != nil {
		b.nc.Close()
		return fmt.Errorf("drain nats: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		b.nc.Close()
		return ctx.Err()
	}
}

// Abort closes the connection at once, without draining, as a crashed
// instance would lose it.
func (b *Bus) Abort() { b.nc.Close() }
