// Package natsbus carries messages between Corkboard instances over core
// NATS. It is a thin, generic seam: every message is one envelope (a kind,
// the board it is about, an opaque payload); Send puts one on the bus and
// the handler registered for its kind receives it on every other instance.
// Events, presence and revocations are kinds like any other (see kinds.go);
// a new kind of real-time message needs only its payload type and a
// Register call.
//
// Board messages reach the instances that joined the board (Join, on the
// board's first local subscriber); instance-wide messages (Board "") reach
// every instance. Core NATS is at-most-once: the hub's seq checks and head
// checks make event delivery complete.
package natsbus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Message is the bus's one envelope.
type Message struct {
	Kind    string // what the payload is: KindEvent, KindPresence, KindRevoke or a kind of the caller's
	Board   string // the board it is about; "" for a message to every instance
	Payload []byte
}

// Handler receives the messages of one kind sent by other instances (never
// the instance's own). Every handler runs on the bus's one delivery
// goroutine, so it must not block; messages of one board arrive in the order
// they were sent.
type Handler func(Message)

// Options configure a Bus.
type Options struct {
	URL string // one URL or a comma-separated list (a cluster)
	// Server, when set, is a server of this process (StartServer) that the
	// bus talks to through an in-process pipe instead of a socket: no
	// system call and no network stack per message, and it reconnects the
	// same way. URL is then only what ConnectedURL reports. The server
	// should be started with NoProducerStall (see ServerOptions).
	Server *Server
	Name   string // connection name, shown by the NATS server
	Logger *slog.Logger
	// User and Password authenticate to the NATS server (they may also be
	// given in the URL as nats://user:password@host:port).
	User, Password string
	// TLS, when set, makes the connection use TLS with this configuration
	// (root CAs, a client certificate); see TLSConfig.
	TLS *tls.Config
	// Drop, when set, is asked for every message received and drops those
	// it returns true for: a test hook for lost messages.
	Drop func(subject string) bool
}

// Bus is a NATS connection for one instance. It is safe for concurrent use.
type Bus struct {
	o   Options
	log *slog.Logger
	nc  *nats.Conn

	mu          sync.RWMutex
	handlers    map[string]Handler
	onReconnect []func()

	// inbox takes the messages of every subscription, in the order the
	// connection read them, for the one goroutine that runs the handlers
	// (dispatch), which ends with stop.
	inbox    chan *nats.Msg
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// inboxLen bounds the messages read but not yet handled. Past it NATS drops
// what arrives (and the error handler logs a slow consumer); the hub's gap
// fills and head checks deliver the events lost. The handlers take
// microseconds, so only an instance stalled for many seconds gets there.
const inboxLen = 1 << 16

// Connect connects to NATS and returns the bus, receiving instance-wide
// messages at once (board messages after Join). It keeps reconnecting for as
// long as the bus is open. Handlers are registered afterwards with Register.
func Connect(ctx context.Context, o Options) (*Bus, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	b := &Bus{o: o, log: o.Logger, handlers: map[string]Handler{},
		inbox: make(chan *nats.Msg, inboxLen), stop: make(chan struct{}), done: make(chan struct{})}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.NoEcho(), // an instance applies its own messages locally
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
			b.mu.RLock()
			fs := b.onReconnect
			b.mu.RUnlock()
			for _, f := range fs {
				f()
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
	if o.User != "" || o.Password != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.TLS != nil {
		opts = append(opts, nats.Secure(o.TLS))
	}
	if deadline, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(deadline)))
	}
	if o.Server != nil {
		opts = append(opts, nats.InProcessServer(o.Server))
		if o.URL == "" {
			o.URL = o.Server.ClientURL()
		}
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats at %s: %w", o.URL, err)
	}
	b.nc = nc
	go b.dispatch()
	if _, err := nc.ChanSubscribe(instanceSubjects, b.inbox); err != nil {
		b.Abort()
		return nil, fmt.Errorf("subscribe to instance-wide messages: %w", err)
	}
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		b.Abort()
		return nil, fmt.Errorf("subscribe to instance-wide messages: %w", err)
	}
	return b, nil
}

// dispatch runs the handlers of the messages every subscription puts in the
// inbox, until stop. One goroutine for all of them: a message that arrives
// while it runs is taken without waking anything, in the order the
// connection read it, where a goroutine per subscription (nats.go's
// callbacks) would wake one goroutine per message and let the scheduler run
// them in another order than they came.
func (b *Bus) dispatch() {
	defer close(b.done)
	for {
		select {
		case m := <-b.inbox:
			b.receive(m)
		case <-b.stop:
			return
		}
	}
}

// stopDispatch ends dispatch and waits for it (after the connection closed:
// nothing is put in the inbox any more).
func (b *Bus) stopDispatch() {
	b.stopOnce.Do(func() { close(b.stop) })
	<-b.done
}

// validKind reports whether kind is a subject token like "typing": a
// lowercase letter, then up to 31 lowercase letters, digits, _ and -. (A
// loop, not a regular expression: Send checks every message's kind.)
func validKind(kind string) bool {
	if len(kind) == 0 || len(kind) > 32 || kind[0] < 'a' || kind[0] > 'z' {
		return false
	}
	for i := 1; i < len(kind); i++ {
		if c := kind[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Register makes h receive the messages of kind from now on, replacing the
// handler registered before for it. Messages of a kind nobody registered
// are dropped. kind is lowercase letters, digits, _ and - (it is a subject
// token); Register panics on another, as a programming error.
func (b *Bus) Register(kind string, h Handler) {
	if !validKind(kind) {
		panic(fmt.Sprintf("natsbus: kind %q is not a subject token like \"typing\"", kind))
	}
	b.mu.Lock()
	b.handlers[kind] = h
	b.mu.Unlock()
}

// OnReconnect makes f be called after the connection came back, when
// messages may have been lost.
func (b *Bus) OnReconnect(f func()) {
	b.mu.Lock()
	b.onReconnect = append(b.onReconnect, f)
	b.mu.Unlock()
}

// Send puts m on the bus for the other instances: those that joined
// m.Board, or every instance when m.Board is "". It does not wait for them;
// a lost message is not sent again. It does not keep m.Payload: the
// caller may reuse it once Send returned. While nobody could receive it
// (unheard), m is not sent at all.
func (b *Bus) Send(m Message) error {
	if !validKind(m.Kind) {
		return fmt.Errorf("send %q: not a message kind", m.Kind)
	}
	if b.unheard() {
		return nil
	}
	return b.publish(m)
}

// unheard reports whether nothing sent now could reach anyone: the bus is
// connected to its own server (Options.Server), which is alone.
func (b *Bus) unheard() bool { return b.o.Server != nil && b.o.Server.alone() }

// publish sends m, whose kind is valid.
func (b *Bus) publish(m Message) error {
	if err := b.nc.Publish(subject(m.Kind, m.Board), m.Payload); err != nil {
		return fmt.Errorf("send %s message: %w", m.Kind, err)
	}
	return nil
}

// Connected reports whether the connection is up.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// ConnectedURL is the URL of the server the bus is connected to.
func (b *Bus) ConnectedURL() string { return b.nc.ConnectedUrl() }

// Reconnects is how many times the connection was re-established.
func (b *Bus) Reconnects() uint64 { return b.nc.Stats().Reconnects }

// Join subscribes to a board's messages and returns once the server has the
// subscription. leave unsubscribes.
func (b *Bus) Join(boardID string) (leave func(), err error) {
	sub, err := b.nc.ChanSubscribe(boardSubjects(boardID), b.inbox)
	if err != nil {
		return nil, fmt.Errorf("subscribe to board %s: %w", boardID, err)
	}
	if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
		// Still subscribed (the client resubscribes after a reconnect);
		// the hub's head check covers the window.
		b.log.Warn("nats flush after subscribe", "board", boardID, "err", err)
	}
	return func() { sub.Unsubscribe() }, nil //nolint:errcheck // closed connections unsubscribe anyway
}

// receive hands a message to the handler of its kind.
func (b *Bus) receive(m *nats.Msg) {
	if b.o.Drop != nil && b.o.Drop(m.Subject) {
		return
	}
	kind, boardID, ok := parseSubject(m.Subject)
	if !ok {
		b.log.Warn("dropping a message on an unknown subject", "subject", m.Subject)
		return
	}
	b.mu.RLock()
	h := b.handlers[kind]
	b.mu.RUnlock()
	if h == nil {
		b.log.Debug("dropping a message of an unregistered kind", "kind", kind)
		return
	}
	h(Message{Kind: kind, Board: boardID, Payload: m.Data})
}

// Close drains the connection: subscriptions stop, sent messages are
// flushed, then it closes (bounded by ctx). No handler runs after it
// returned; a handler must not call it (nor Abort), as they wait for the
// handlers.
func (b *Bus) Close(ctx context.Context) error {
	defer b.stopDispatch()
	done := make(chan struct{})
	b.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := b.nc.Drain(); err != nil {
		if errors.Is(err, nats.ErrConnectionClosed) {
			return nil
		}
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
func (b *Bus) Abort() {
	b.nc.Close()
	b.stopDispatch()
}
