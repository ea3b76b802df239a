// Package ws serves Corkboard's WebSocket endpoint: it reads client frames
// (subscribe, unsubscribe, subscribe_user, unsubscribe_user, ping) and writes what the hub queues for the
// connection. One reader goroutine handles commands in order; one writer
// goroutine owns the socket's write side, batches every queued frame into one
// message (frames separated by newlines) and bounds every write with a
// timeout; pings and credential rechecks run beside it on their own timers,
// so that it never waits for them. See docs/protocol.md.
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
	"github.com/corkboard/corkboard/internal/ratelimit"
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
	// board or to its user stream) for this long; 0: 5 minutes.
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
}

// Handler serves GET /api/ws. Close waits for its connections to end.
type Handler struct {
	o     Options
	log   *slog.Logger
	conns sync.WaitGroup

	recheckEvery atomic.Int64  // the recheck interval, in nanoseconds
	rechecks     chan struct{} // a token per recheck running

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
		sessions: map[*session]struct{}{}}
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
		select {
		case s.recheckNow <- struct{}{}:
		default: // one is already asked for
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
	p, err := h.o.Identify(r)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if err := h.checkOrigin(r); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
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
	cred = cred.WithContext(context.WithoutCancel(r.Context()))
	s := &session{h: h, conn: conn, client: c, req: cred,
		limit:      &ratelimit.Throttle{Burst: h.o.MessageBurst, Every: h.o.MessageEvery},
		active:     time.Now(),
		recheckNow: make(chan struct{}, 1), checked: make(chan bool, 1), pinged: make(chan error, 1)}
	// The connection is hijacked: serve it from a fresh goroutine and let
	// this one, with the middleware's frames on its stack, end.
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer h.conns.Done()
		s.run(ctx)
	}()
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

// session is one connection.
type session struct {
	h          *Handler
	conn       *websocket.Conn
	client     *hub.Client
	req        *http.Request // the upgrade request, whose credential is checked again
	recheckNow chan struct{} // RecheckAll asks for a recheck
	checked    chan bool     // a recheck's outcome: revoked or not
	pinged     chan error    // a ping's outcome
	bg         sync.WaitGroup
	limit      *ratelimit.Throttle
	strikes    int         // messages refused by the limit (reader's)
	active     time.Time   // last time the connection had a subscription (writer's)
	stall      *time.Timer // closes the connection when a write takes too long
	buf        []byte      // the writer's batch
}

// maxStrikes is how many messages over the rate limit a connection may send
// before it is closed.
const maxStrikes = 100

func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	readerDone := make(chan error, 1)
	go func() { readerDone <- s.read(ctx) }()
	s.h.mu.Lock()
	s.h.sessions[s] = struct{}{}
	s.h.mu.Unlock()
	code, reason := s.write(ctx, readerDone)
	s.h.mu.Lock()
	delete(s.h.sessions, s)
	s.h.mu.Unlock()
	s.client.Close(nil)
	s.conn.Close(code, reason) //nolint:errcheck // the peer may be gone
	cancel()                   // ends a recheck under way
	s.bg.Wait()
}

// write is the connection's only writer. It returns the close code and reason
// when the hub closes the client, the reader ends, a write fails, a ping
// goes unanswered or the credential no longer holds. Pings and credential
// rechecks run beside it, so that it never waits for them: a queue that
// overflows meanwhile closes the connection as too slow at once.
func (s *session) write(ctx context.Context, readerDone <-chan error) (websocket.StatusCode, string) {
	ping := time.NewTicker(s.h.o.PingInterval)
	defer ping.Stop()
	recheck := time.NewTimer(s.h.recheckInterval())
	defer recheck.Stop()
	s.stall = time.AfterFunc(time.Hour, func() { s.conn.CloseNow() }) //nolint:errcheck // unblocks the write
	s.stall.Stop()
	defer s.stall.Stop()
	var frames [][]byte
	pinging, checking := false, false
	for {
		select {
		case <-s.client.Ready():
			frames = s.client.Take(frames[:0])
			if err := s.writeBatch(ctx, frames); err != nil {
				return websocket.StatusGoingAway, "write failed"
			}
		case <-ping.C:
			if len(s.client.Boards()) > 0 || s.client.UserStream() {
				s.active = time.Now()
			} else if time.Since(s.active) > s.h.o.IdleTimeout {
				return websocket.StatusNormalClosure, "idle: no subscription"
			}
			if !pinging {
				pinging = true
				s.bg.Go(func() {
					pctx, cancel := context.WithTimeout(ctx, s.h.o.WriteTimeout)
					defer cancel()
					s.pinged <- s.conn.Ping(pctx)
				})
			}
		case err := <-s.pinged:
			pinging = false
			if err != nil {
				if s.client.Err() != nil {
					return s.closedBy()
				}
				return websocket.StatusGoingAway, "ping timed out"
			}
		case <-recheck.C:
			checking = s.recheck(ctx, checking)
		case <-s.recheckNow:
			checking = s.recheck(ctx, checking)
		case revoked := <-s.checked:
			checking = false
			if revoked {
				return websocket.StatusPolicyViolation, "access revoked: log in again"
			}
			recheck.Reset(s.h.recheckInterval())
		case <-s.client.Done():
			if errors.Is(s.client.Err(), hub.ErrShuttingDown) {
				// Flush what is queued, then tell the client to go elsewhere.
				frames = s.client.Take(frames[:0])
				s.writeBatch(ctx, frames) //nolint:errcheck // closing anyway
			}
			return s.closedBy()
		case err := <-readerDone:
			var ce closeError
			if errors.As(err, &ce) {
				return ce.code, ce.reason
			}
			return websocket.StatusNormalClosure, ""
		}
	}
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

// recheck starts a check of the connection's credential and memberships,
// unless one is running; its outcome comes on s.checked. It returns true
// (a check is running).
func (s *session) recheck(ctx context.Context, running bool) bool {
	if running {
		return true
	}
	s.bg.Go(func() {
		select {
		case s.h.rechecks <- struct{}{}:
		case <-ctx.Done():
			s.checked <- false
			return
		}
		defer func() { <-s.h.rechecks }()
		if s.revoked(ctx) {
			s.checked <- true
			return
		}
		// Memberships too: a removal from a board whose revocation was lost
		// ends the subscription to it here.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.client.CheckAccess(cctx); err != nil && ctx.Err() == nil {
			s.h.log.Warn("recheck board access", "user", s.client.User(), "err", err)
		}
		s.checked <- false
	})
	return true
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

// writeBatch writes frames as one text message (one WebSocket frame),
// newline-separated, assembled in s.buf. The write has no context deadline
// (one costs a timer, an AfterFunc and allocations per frame written): the
// session's stall timer closes the connection if it takes longer than the
// write timeout.
func (s *session) writeBatch(_ context.Context, frames [][]byte) error {
	if len(frames) == 0 {
		return nil
	}
	msg := frames[0]
	if len(frames) > 1 {
		s.buf = s.buf[:0]
		for i, f := range frames {
			if i > 0 {
				s.buf = append(s.buf, '\n')
			}
			s.buf = append(s.buf, f...)
		}
		msg = s.buf
	}
	s.stall.Reset(s.h.o.WriteTimeout)
	err := s.conn.Write(context.Background(), websocket.MessageText, msg)
	s.stall.Stop()
	if cap(s.buf) > 64<<10 {
		s.buf = nil // a burst's buffer is not kept for the connection's life
	}
	return err
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
		if ok, _ := s.limit.Allow("", time.Now()); !ok {
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
