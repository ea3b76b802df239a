// Package ws serves Corkboard's WebSocket endpoint: it reads client frames
// (subscribe, unsubscribe, subscribe_user, unsubscribe_user, ping) and writes what the hub queues for the
// connection. One reader goroutine per connection handles commands in
// order; a small pool of writers shared by every connection (pool.go)
// writes every queued frame of a connection as one message (frames
// separated by newlines) without ever waiting on a socket, each socket's
// backlog bounded by the write timeout (lean.go); pings and credential
// rechecks run from timers. See docs/protocol.md.
package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/hub"
)

// Close codes beyond RFC 6455's (1000 normal, 1001 going away on shutdown,
// 1008 policy violation, 1009 message too big, 1011 internal error).
const (
	// StatusTooSlow closes a connection whose queue overflowed: reconnect
	// and resubscribe with since = the last seq received.
	StatusTooSlow websocket.StatusCode = 4001
)

// Limits of client frames.
const (
	MaxFrameBytes = 4 << 10  // larger frames get a too_large error frame
	readLimit     = 64 << 10 // larger messages close the connection with 1009
)

// Options configure the endpoint.
type Options struct {
	Hub          *hub.Hub
	Logger       *slog.Logger
	PingInterval time.Duration // 0: 25s
	WriteTimeout time.Duration // 0: 10s
	// OriginPatterns are the origins allowed besides the request's own,
	// as path.Match patterns: "https://app.example" (scheme and host, as
	// TRUSTED_ORIGINS gives them) or, without a scheme, a host alone.
	OriginPatterns []string
	// Identify returns the caller of the request, or an error to refuse it.
	Identify func(r *http.Request) (board.Principal, error)
	// MaxPerUser caps a user's connections on this instance; 0: 20.
	MaxPerUser int
	// Each connection may send Burst frames at once, then one every Every;
	// zero: 20 and 50ms (20 a second).
	MessageBurst int
	MessageEvery time.Duration
	// IdleTimeout closes a connection that has had no subscription (to a
	// board or to its user stream) for
	// this long; 0: 5 minutes.
	IdleTimeout time.Duration
	// RecheckInterval is how often a connection's credential, and its
	// user's membership of each board it is subscribed to, are checked
	// again (a backstop for a revocation lost on the bus), on a timer of
	// its own; 0: 1 minute. SetRecheckInterval changes it, RecheckAll
	// rechecks every connection now.
	RecheckInterval time.Duration
	// MaxRechecks bounds the credential checks running at once (each one a
	// database read), so that RecheckAll on many connections queues them;
	// 0: 16.
	MaxRechecks int
	// Writers is how many goroutines write to the connections at once
	// (see writerPool); 0: one less than GOMAXPROCS, at least one.
	Writers int
	// CoalesceWindow holds a connection's first queued frame back this
	// long so that the frames arriving meanwhile go out in the same
	// message: fewer writes on very hot boards, each delivery up to this
	// much later. 0: none.
	CoalesceWindow time.Duration
}

// Handler serves GET /api/ws. Close waits for its connections to end.
type Handler struct {
	o     Options
	log   *slog.Logger
	conns sync.WaitGroup

	recheckEvery atomic.Int64  // the recheck interval, in nanoseconds
	rechecks     chan struct{} // a token per recheck running

	pool *writerPool

	mu       sync.Mutex
	sessions map[*session]struct{}
}

// New returns the endpoint.
func New(o Options) *Handler {
	if o.PingInterval == 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxPerUser == 0 {
		o.MaxPerUser = 20
	}
	if o.MessageBurst == 0 {
		o.MessageBurst = 20
	}
	if o.MessageEvery == 0 {
		o.MessageEvery = 50 * time.Millisecond
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.RecheckInterval == 0 {
		o.RecheckInterval = time.Minute
	}
	if o.MaxRechecks == 0 {
		o.MaxRechecks = 16
	}
	h := &Handler{o: o, log: o.Logger, rechecks: make(chan struct{}, o.MaxRechecks),
		sessions: map[*session]struct{}{}, pool: newWriterPool(o.Writers, o.CoalesceWindow)}
	h.recheckEvery.Store(int64(o.RecheckInterval))
	return h
}

// RecheckAll makes every connection check its credential (and its access
// to each board it is subscribed to) again now, as after the bus
// reconnected, when revocations may have been lost: a connection whose
// credential no longer holds is closed with 1008. It does not wait for the
// checks, which run at most MaxRechecks at a time.
func (h *Handler) RecheckAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions {
		if !s.checking.Load() { // else one is under way
			go s.recheck()
		}
	}
}

// SetRecheckInterval sets how often each connection checks its credential
// again, as shorter while the bus is down; 0 restores Options'
// RecheckInterval. A shorter interval than before rechecks every connection
// now as well; each connection's next periodic check comes at the new
// interval after its last one.
func (h *Handler) SetRecheckInterval(d time.Duration) {
	if d <= 0 {
		d = h.o.RecheckInterval
	}
	if old := time.Duration(h.recheckEvery.Swap(int64(d))); d < old {
		h.RecheckAll()
	}
}

func (h *Handler) recheckInterval() time.Duration { return time.Duration(h.recheckEvery.Load()) }

// Wait waits until every connection has ended (after the hub closed them),
// or ctx is done.
func (h *Handler) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.conns.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A connection lives long: its credential is read from the database at
	// the upgrade, not taken from the credential cache (and a database that
	// cannot be reached refuses the upgrade with 503, as it would a REST call).
	p, err := h.o.Identify(r.WithContext(auth.Uncached(r.Context())))
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if err := h.checkOrigin(r); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	lw := &leanResponseWriter{ResponseWriter: w}
	conn, err := websocket.Accept(lw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // checkOrigin did, scheme included
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the request
	}
	h.conns.Add(1)
	conn.SetReadLimit(readLimit)
	c, err := h.o.Hub.ConnectAs(p, h.o.MaxPerUser)
	if err != nil {
		conn.Close(websocket.StatusPolicyViolation, "too many connections for this user") //nolint:errcheck // closing
		h.conns.Done()
		return
	}
	// Keep only what the credential check needs of the request.
	cred := &http.Request{Header: http.Header{}, RemoteAddr: r.RemoteAddr, URL: r.URL, Host: r.Host}
	for _, k := range []string{"Authorization", "Cookie"} {
		if v := r.Header.Values(k); len(v) > 0 {
			cred.Header[k] = v
		}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	s := &session{h: h, conn: conn, sw: lw.sw, client: c, req: cred, ctx: ctx, cancel: cancel,
		limit: throttle{tokens: float64(h.o.MessageBurst), at: time.Now()}}
	s.active.Store(time.Now().UnixNano())
	s.sw.timeout = h.o.WriteTimeout
	s.sw.handBack = func(err error) {
		if err != nil {
			s.end(websocket.StatusGoingAway, "write failed")
		}
		h.pool.handBack(s)
	}
	s.pingTimer = time.AfterFunc(h.o.PingInterval, s.pingTick)
	s.recheckTimer = time.AfterFunc(h.recheckInterval(), s.recheck)
	h.mu.Lock()
	h.sessions[s] = struct{}{}
	h.mu.Unlock()
	c.SetNotify(func() { h.pool.push(s) })
	// The connection is hijacked: serve it from a fresh goroutine and let
	// this one, with the middleware's frames on its stack, end.
	go s.run()
}

// checkOrigin refuses a browser's upgrade from another origin (Cross-Site
// WebSocket Hijacking): the Origin must be the request's own origin, scheme
// included, or match one of OriginPatterns. Clients that send no Origin
// (not browsers) pass.
func (h *Handler) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	refused := board.Errorf(board.EForbidden, "cross-origin WebSocket upgrades are refused")
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return refused
	}
	if strings.EqualFold(u.Scheme, requestScheme(r)) && strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	for _, p := range h.o.OriginPatterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return nil
		}
	}
	return refused
}

// requestScheme is the scheme the client reached the server with: https
// over TLS, otherwise what a proxy says in X-Forwarded-Proto (its first
// value), otherwise http. The header is believed from anyone here: the
// Origin check guards browsers, which cannot set it on an upgrade, and a
// client that can set it can set Origin too.
func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	if proto = strings.ToLower(strings.TrimSpace(proto)); proto == "https" || proto == "http" {
		return proto
	}
	return "http"
}

// session is one connection. Its only goroutine reads the client's frames;
// the handler's writer pool writes what the hub queues for it; pings, the
// idle check and credential rechecks run from timers of its own, in
// goroutines that last as long as they do.
type session struct {
	h      *Handler
	conn   *websocket.Conn
	sw     *socketWriter // the socket: under conn's bufio.Writer, and the pool's frames
	client *hub.Client
	req    *http.Request // the upgrade request, whose credential is checked again
	ctx    context.Context
	cancel context.CancelFunc

	limit   throttle     // the reader's
	strikes int          // messages refused by the limit (reader's)
	active  atomic.Int64 // last time (UnixNano) the connection had a subscription

	pingTimer    *time.Timer
	recheckTimer *time.Timer
	checking     atomic.Bool // a recheck is running

	// Under the pool's lock.
	wstate int       // wIdle, wQueued, wRunning
	dirty  bool      // queued again while being written
	due    time.Time // with a coalescing window: when it is to be written

	mu     sync.Mutex
	ending bool           // end was called: no new background work
	bg     sync.WaitGroup // pings, rechecks and the close handshake under way
}

// maxStrikes is how many messages over the rate limit a connection may send
// before it is closed.
const maxStrikes = 100

// run reads the client's frames until the connection ends, then waits for
// the session's background work.
func (s *session) run() {
	defer s.h.conns.Done()
	err := s.read(s.ctx)
	var ce closeError
	if errors.As(err, &ce) {
		s.end(ce.code, ce.reason)
	} else {
		s.end(websocket.StatusNormalClosure, "")
	}
	s.bg.Wait()
	s.cancel()
}

// end ends the session with a close code and reason: the first call wins,
// later ones do nothing. It closes the client (no more frames are queued)
// and starts the close handshake, which ends the reader. It never blocks.
func (s *session) end(code websocket.StatusCode, reason string) {
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		return
	}
	s.ending = true
	s.bg.Add(1)
	s.mu.Unlock()
	s.h.mu.Lock()
	delete(s.h.sessions, s)
	s.h.mu.Unlock()
	s.pingTimer.Stop()
	s.recheckTimer.Stop()
	s.client.Close(nil)
	go func() {
		defer s.bg.Done()
		s.conn.Close(code, reason) //nolint:errcheck // the peer may be gone
		s.cancel()                 // ends a recheck under way
	}()
}

// closing reports whether end has been called.
func (s *session) closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ending
}

// background registers work of a timer's goroutine, unless the session is
// ending; done must be called when it returns true.
func (s *session) background() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ending {
		return false
	}
	s.bg.Add(1)
	return true
}

// write sends msg, a whole text frame the worker built in its buffer, with
// one write(2); the writer pool calls it, one worker at a time per
// connection. It never blocks: blocked reports that the socket did not take
// the whole frame, whose rest is being written by the socket writer's
// drainer, which hands the connection back to the pool when it is done.
func (s *session) write(frame []byte) (blocked bool, err error) {
	return s.sw.sendFrame(frame)
}

// pingTick runs on the ping timer: it closes a connection that has had no
// subscription for IdleTimeout, pings the client and, once the pong is
// back, sets the next ping.
func (s *session) pingTick() {
	if !s.background() {
		return
	}
	defer s.bg.Done()
	now := time.Now()
	if len(s.client.Boards()) > 0 || s.client.UserStream() {
		s.active.Store(now.UnixNano())
	} else if now.Sub(time.Unix(0, s.active.Load())) > s.h.o.IdleTimeout {
		s.end(websocket.StatusNormalClosure, "idle: no subscription")
		return
	}
	pctx, cancel := context.WithTimeout(s.ctx, s.h.o.WriteTimeout)
	err := s.conn.Ping(pctx)
	cancel()
	if err != nil {
		if s.client.Err() != nil {
			s.end(s.closedBy())
			return
		}
		s.end(websocket.StatusGoingAway, "ping timed out")
		return
	}
	s.pingTimer.Reset(s.h.o.PingInterval)
}

// closedBy is the close code and reason for the hub's reason to close the
// client.
func (s *session) closedBy() (websocket.StatusCode, string) {
	switch err := s.client.Err(); {
	case errors.Is(err, hub.ErrTooSlow):
		return StatusTooSlow, "too slow: resubscribe with since"
	case errors.Is(err, hub.ErrRevoked):
		return websocket.StatusPolicyViolation, "access revoked: log in again"
	case errors.Is(err, hub.ErrShuttingDown):
		return websocket.StatusGoingAway, "server shutting down: reconnect"
	}
	return websocket.StatusNormalClosure, ""
}

// recheck checks the connection's credential and memberships again, unless
// a check is running, then sets the next periodic one. It runs on the
// recheck timer, or in a goroutine of its own for RecheckAll; at most
// MaxRechecks run at once in the handler.
func (s *session) recheck() {
	if !s.checking.CompareAndSwap(false, true) {
		return
	}
	defer s.checking.Store(false)
	if !s.background() {
		return
	}
	defer s.bg.Done()
	select {
	case s.h.rechecks <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	defer func() { <-s.h.rechecks }()
	if s.revoked(s.ctx) {
		s.end(websocket.StatusPolicyViolation, "access revoked: log in again")
		return
	}
	// Memberships too: a removal from a board whose revocation was lost
	// ends the subscription to it here.
	cctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := s.client.CheckAccess(cctx); err != nil && s.ctx.Err() == nil {
		s.h.log.Warn("recheck board access", "user", s.client.User(), "err", err)
	}
	s.recheckTimer.Reset(s.h.recheckInterval())
}

// revoked checks the connection's credential again: true when it no longer
// names the same user (logged out, expired, revoked), asking the database
// rather than the credential cache (a recheck is how a revocation that never
// reached this instance is found). A failing check (the database
// unreachable) keeps the connection.
func (s *session) revoked(ctx context.Context) bool {
	cctx, cancel := context.WithTimeout(auth.Uncached(ctx), 5*time.Second)
	defer cancel()
	p, err := s.h.o.Identify(s.req.WithContext(cctx))
	switch board.ErrorCode(err) {
	case "":
		return p.UserID != s.client.User()
	case board.EUnauthenticated:
		return true
	}
	return false
}

// throttle is the reader's token bucket: Burst frames at once, then one
// every Every.
type throttle struct {
	tokens float64
	at     time.Time
}

func (t *throttle) allow(burst int, every time.Duration, now time.Time) bool {
	t.tokens = min(float64(burst), t.tokens+float64(now.Sub(t.at))/float64(every))
	t.at = now
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

type closeError struct {
	code   websocket.StatusCode
	reason string
}

func (e closeError) Error() string { return e.reason }

// clientFrame is a frame from the client.
type clientFrame struct {
	Type  string `json:"type"`
	Board string `json:"board"`
	Since *int64 `json:"since"`
	ID    string `json:"id"` // optional, echoed in the answer
}

// read handles client frames in order until the connection ends.
func (s *session) read(ctx context.Context) error {
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				return closeError{websocket.StatusMessageTooBig, "message too big"}
			}
			return err
		}
		if typ == websocket.MessageText && !utf8.Valid(data) {
			// RFC 6455 §8.1: a text message must be UTF-8; fail the
			// connection.
			return closeError{websocket.StatusInvalidFramePayloadData, "text message is not UTF-8"}
		}
		if !s.limit.allow(s.h.o.MessageBurst, s.h.o.MessageEvery, time.Now()) {
			if s.strikes++; s.strikes > maxStrikes {
				return closeError{websocket.StatusPolicyViolation, "too many messages"}
			}
			s.sendError("", board.Errorf(board.ERateLimited, "too many messages: slow down"))
			continue
		}
		if typ != websocket.MessageText {
			s.sendError("", board.Errorf(board.EMalformed, "send frames as text messages"))
			continue
		}
		if len(data) > MaxFrameBytes {
			s.sendError("", board.Errorf(board.ETooLarge, "a frame may be at most %d bytes", MaxFrameBytes))
			continue
		}
		var f clientFrame
		if err := decodeFrame(data, &f); err != nil {
			s.sendError("", err)
			continue
		}
		if f.Type == "subscribe" {
			// Subscribing reads the database (a deep stack): done on a
			// goroutine of its own, waited for, so that the reader's stack,
			// kept for the connection's life, stays small.
			done := make(chan struct{})
			go func() { defer close(done); s.handle(ctx, f) }()
			<-done
			continue
		}
		s.handle(ctx, f)
	}
}

func decodeFrame(data []byte, f *clientFrame) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		return board.Errorf(board.EMalformed, "a frame must be one JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return board.Errorf(board.EMalformed, "a frame must be one JSON object")
	}
	return nil
}

func (s *session) handle(ctx context.Context, f clientFrame) {
	switch f.Type {
	case "ping":
		s.client.Send(hub.Frame{Type: hub.FramePong, ID: f.ID}.Encode())
	case "subscribe":
		if !board.ValidID(f.Board) {
			s.sendErrorID(f.ID, f.Board, board.FieldError(board.EInvalid, "board", "not a valid board id"))
			return
		}
		if f.Since != nil && *f.Since < 0 {
			s.sendErrorID(f.ID, f.Board, board.FieldError(board.EInvalid, "since", "must not be negative"))
			return
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.client.Subscribe(sctx, f.Board, f.Since)
		cancel()
		if err != nil {
			s.sendErrorID(f.ID, f.Board, err)
		}
	case "unsubscribe":
		if !board.ValidID(f.Board) {
			s.sendErrorID(f.ID, f.Board, board.FieldError(board.EInvalid, "board", "not a valid board id"))
			return
		}
		if err := s.client.Unsubscribe(f.Board); err != nil {
			s.sendErrorID(f.ID, f.Board, err)
			return
		}
		s.client.Send(hub.Frame{Type: hub.FrameUnsubscribed, Board: f.Board, ID: f.ID}.Encode())
	case "subscribe_user":
		if err := s.client.SubscribeUser(); err != nil {
			s.sendErrorID(f.ID, "", err)
			return
		}
		s.client.Send(hub.Frame{Type: hub.FrameUserSubscribed, ID: f.ID}.Encode())
	case "unsubscribe_user":
		if err := s.client.UnsubscribeUser(); err != nil {
			s.sendErrorID(f.ID, "", err)
			return
		}
		s.client.Send(hub.Frame{Type: hub.FrameUserUnsubscribed, ID: f.ID}.Encode())
	default:
		s.sendErrorID(f.ID, "", board.FieldError(board.EInvalid, "type", "unknown frame type %q", f.Type))
	}
}

func (s *session) sendError(boardID string, err error) { s.sendErrorID("", boardID, err) }

func (s *session) sendErrorID(id, boardID string, err error) {
	code := board.ErrorCode(err)
	if code == board.EInternal {
		s.h.log.Error("websocket command failed", "board", boardID, "err", err)
	}
	msg := board.ErrorMessage(err)
	var e *board.Error
	if errors.As(err, &e) && e.Field != "" {
		msg = e.Field + ": " + msg
	}
	s.client.Send(hub.Frame{Type: hub.FrameError, Board: boardID, Code: code, Message: msg, ID: id}.Encode())
}
