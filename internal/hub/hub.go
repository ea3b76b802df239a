// Package hub fans committed board events out to the subscribers connected to
// this instance. It alone owns the subscriber sets. For each board with local
// subscribers it keeps the seq of the last event delivered and delivers
// events strictly in seq order, each exactly once: duplicates (an event
// published locally and also received from the bus) are dropped, and a gap
// (an event lost on the bus, or an instance that died between COMMIT and
// publish) is filled from the event log, found either by the next event or by
// a periodic check of the board's head in the database.
//
// Publishing never blocks: each event is encoded once and the same bytes are
// queued to every subscriber's bounded queue; a subscriber whose queue is
// full is closed as too slow (it resumes from its last seq).
package hub

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// Log is the event log, read to catch subscribers up and to fill gaps.
type Log interface {
	// Events returns up to limit events of the board after since, in seq
	// order, and the board's head seq, if user may read the board
	// (ENotFound otherwise). With since older than the retained log it
	// returns ESinceExpired. limit 0 returns just the head.
	Events(ctx context.Context, user, boardID string, since int64, limit int) ([]board.Event, int64, error)
	// LogEvents is Events for the hub itself: no membership check.
	LogEvents(ctx context.Context, boardID string, since int64, limit int) ([]board.Event, error)
	// Heads returns the head seq of each of the boards that still exist.
	Heads(ctx context.Context, boardIDs []string) (map[string]int64, error)
}

// Bus carries events and presence between instances. The instance that
// commits an event publishes it to the bus itself; the bus hands events of
// joined boards from other instances to Hub.Publish and their presence to
// Hub.RemotePresence.
type Bus interface {
	// Join starts receiving a board's events and presence. It returns once
	// the subscription is in place; leave ends it.
	Join(boardID string) (leave func(), err error)
	// PublishPresence announces the users viewing the board on this
	// instance.
	PublishPresence(boardID, instance string, users []string)
}

// Options configure a Hub.
type Options struct {
	Log              Log
	Bus              Bus           // nil: this instance is alone
	HeadInterval     time.Duration // how often heads are checked; 0: 2s
	PresenceInterval time.Duration // presence heartbeat; 0: 1s (expiry after 3)
	PresenceDelay    time.Duration // presence changes are sent at most this late, batched; 0: 100ms
	QueueBytes       int           // per-client queue limit; 0: 1 MiB
	MaxCatchUp       int           // most events replayed on subscribe; more gets resync; 0: 1000
	Logger           *slog.Logger
	// OnDeliver, when set, is called once for each event just queued to
	// the board's subscribers, in seq order per board, with the board's
	// lock held: it must be quick and must not call the hub (metrics).
	OnDeliver func(board.Event)
}

// Stats are counters since the hub started.
type Stats struct {
	Published   uint64 // events accepted for delivery
	Delivered   uint64 // frames queued to subscribers for events
	Duplicates  uint64 // events dropped as already delivered
	GapFills    uint64 // events read from the log to fill a gap
	SlowCloses  uint64 // clients closed as too slow
	Resyncs     uint64 // subscribers told to resync
	Subscribers int64  // current subscriptions
	Clients     int64  // current clients
}

// Hub is safe for concurrent use.
type Hub struct {
	o        Options
	log      *slog.Logger
	instance string

	mu      sync.Mutex
	boards  map[string]*boardState
	clients map[*Client]struct{}
	perUser map[string]int
	closed  bool

	stop chan struct{}
	wg   sync.WaitGroup

	published, delivered, duplicates, gapFills, slowCloses, resyncs atomic.Uint64
	subscribers, nclients                                           atomic.Int64
}

// New returns a running hub. Close stops it.
func New(o Options) *Hub {
	if o.HeadInterval == 0 {
		o.HeadInterval = 2 * time.Second
	}
	if o.PresenceInterval == 0 {
		o.PresenceInterval = time.Second
	}
	if o.PresenceDelay == 0 {
		o.PresenceDelay = 100 * time.Millisecond
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = 1 << 20
	}
	if o.MaxCatchUp == 0 {
		o.MaxCatchUp = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var id [8]byte
	rand.Read(id[:]) //nolint:errcheck // crypto/rand.Read never fails
	h := &Hub{
		o: o, log: o.Logger, instance: hex.EncodeToString(id[:]),
		boards: map[string]*boardState{}, clients: map[*Client]struct{}{}, perUser: map[string]int{},
		stop: make(chan struct{}),
	}
	h.wg.Add(2)
	go h.headLoop()
	go h.presenceLoop()
	return h
}

// Instance is this hub's random instance id, as presence messages carry it.
func (h *Hub) Instance() string { return h.instance }

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Published: h.published.Load(), Delivered: h.delivered.Load(), Duplicates: h.duplicates.Load(),
		GapFills: h.gapFills.Load(), SlowCloses: h.slowCloses.Load(), Resyncs: h.resyncs.Load(),
		Subscribers: h.subscribers.Load(), Clients: h.nclients.Load(),
	}
}

// Connect returns a new client for user.
func (h *Hub) Connect(user string) *Client {
	c, _ := h.ConnectAs(board.Principal{UserID: user}, 0)
	return c
}

// ConnectAs returns a new client for a principal, whose session or token a
// revocation may name. With maxPerUser > 0, a user with that many clients on
// this instance already gets ErrTooManyClients.
func (h *Hub) ConnectAs(p board.Principal, maxPerUser int) (*Client, error) {
	c := &Client{
		hub: h, user: p.UserID, p: p, max: h.o.QueueBytes,
		boards: map[string]*boardState{},
		ready:  make(chan struct{}, 1), done: make(chan struct{}),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if maxPerUser > 0 && h.perUser[p.UserID] >= maxPerUser {
		return nil, ErrTooManyClients
	}
	if h.closed {
		c.err = ErrShuttingDown
		close(c.done)
	} else {
		h.clients[c] = struct{}{}
		h.perUser[p.UserID]++
		h.nclients.Add(1)
	}
	return c, nil
}

// ErrTooManyClients refuses a user's connection over the per-user cap.
var ErrTooManyClients = errors.New("hub: too many connections for this user")

// Revoke applies a revocation to this instance: matching clients are closed
// with ErrRevoked, or, when it names a board, only their subscription to it
// ends (with an unsubscribed frame giving the reason).
func (h *Hub) Revoke(r board.Revocation) {
	h.mu.Lock()
	var hit []*Client
	for c := range h.clients {
		p := c.p
		if p.UserID != r.UserID || (r.SessionID != "" && p.SessionID != r.SessionID) ||
			(r.TokenID != "" && p.TokenID != r.TokenID) ||
			(r.ExceptSession != "" && p.SessionID == r.ExceptSession) {
			continue
		}
		hit = append(hit, c)
	}
	h.mu.Unlock()
	for _, c := range hit {
		if r.BoardID == "" {
			h.closeClient(c, ErrRevoked)
			continue
		}
		h.endSubscription(c, r.BoardID, r.Reason)
	}
}

// endSubscription ends c's subscription to a board, if it has one, telling
// it why with an unsubscribed frame.
func (h *Hub) endSubscription(c *Client, boardID, reason string) {
	c.mu.Lock()
	bs := c.boards[boardID]
	c.mu.Unlock()
	if bs != nil {
		c.Send(Frame{Type: FrameUnsubscribed, Board: boardID, Reason: reason}.Encode())
		h.release(bs, c)
	}
}

// Close closes every client with ErrShuttingDown and stops the hub's loops.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	clients := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	for _, c := range clients {
		h.closeClient(c, ErrShuttingDown)
	}
	close(h.stop)
	h.wg.Wait()
}

// closeClient closes c (with err, or with the reason already recorded) and
// releases its subscriptions.
func (h *Hub) closeClient(c *Client, err error) {
	boards := c.markClosed(err)
	for _, bs := range boards {
		h.release(bs, c)
	}
	h.mu.Lock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		if h.perUser[c.user]--; h.perUser[c.user] <= 0 {
			delete(h.perUser, c.user)
		}
		h.nclients.Add(-1)
	}
	h.mu.Unlock()
}

// Publish delivers a committed event to the board's local subscribers, in seq
// order and once. It never blocks on subscribers. Events of boards without
// local subscribers are ignored.
func (h *Hub) Publish(e board.Event) {
	h.mu.Lock()
	bs := h.boards[e.BoardID]
	h.mu.Unlock()
	if bs == nil {
		return
	}
	h.published.Add(1)
	bs.mu.Lock()
	slow := h.accept(bs, e)
	bs.mu.Unlock()
	h.closeSlow(slow)
}

func (h *Hub) closeSlow(slow []*Client) {
	for _, c := range slow {
		h.closeClient(c, nil)
	}
}

// Subscribe subscribes c to a board. Without since, the client gets the
// events committed after the subscription; with since, first every event
// after since from the log, then the live ones, with no gap and no duplicate.
// It queues a subscribed frame (with the board's head), or a resync frame
// when since is older than the log or too far behind. Errors are
// *board.Error: ENotFound when the user may not read the board, EConflict
// when already subscribed, EInvalid for a since ahead of the board.
func (c *Client) Subscribe(ctx context.Context, boardID string, since *int64) error {
	h := c.hub
	bs, err := h.acquire(boardID, c)
	if err != nil {
		return err
	}
	select {
	case <-bs.joined:
	case <-ctx.Done():
		h.release(bs, c)
		return ctx.Err()
	}
	limit := 0
	from := int64(0)
	if since != nil {
		from, limit = *since, h.o.MaxCatchUp+1
	}
	events, head, err := h.o.Log.Events(ctx, c.user, boardID, from, limit)
	switch {
	case board.ErrorCode(err) == board.ESinceExpired:
		h.release(bs, c)
		h.resync(c, boardID, ResyncSinceExpired)
		return nil
	case err != nil:
		h.release(bs, c)
		return err
	case since != nil && *since > head:
		h.release(bs, c)
		return board.FieldError(board.EInvalid, "since", "is %d, but the board is at %d", *since, head)
	case len(events) > h.o.MaxCatchUp:
		h.release(bs, c)
		h.resync(c, boardID, ResyncTooFarBehind)
		return nil
	}
	if !c.Send(Frame{Type: FrameSubscribed, Board: boardID, Seq: seqPtr(head)}.Encode()) {
		return nil
	}
	for _, e := range events {
		if !c.Send(EncodeEvent(e)) {
			return nil
		}
	}
	for {
		bs.mu.Lock()
		slow, behind, drop := h.goLive(bs, c, head)
		bs.mu.Unlock()
		h.closeSlow(slow)
		if drop != nil {
			h.dropSub(bs, c, *drop)
			return nil
		}
		if behind <= head {
			break
		}
		// c read the log before another subscriber set where the board's
		// state starts: read the events in between, which c has not had.
		events, err := h.o.Log.LogEvents(ctx, boardID, head, int(min(behind-head, fillBatch)))
		if err != nil {
			h.release(bs, c)
			return fmt.Errorf("catch up board %s: %w", boardID, err)
		}
		if len(events) == 0 || events[0].Seq != head+1 {
			h.release(bs, c) // no longer in the log
			h.resync(c, boardID, ResyncSinceExpired)
			return nil
		}
		for _, e := range events {
			if e.Seq != head+1 {
				break
			}
			if !c.Send(EncodeEvent(e)) {
				return nil
			}
			head = e.Seq
		}
	}
	h.presenceChanged(bs)
	return nil
}

// Unsubscribe ends c's subscription to a board; ENotFound when there is
// none.
func (c *Client) Unsubscribe(boardID string) error {
	c.mu.Lock()
	bs := c.boards[boardID]
	delete(c.boards, boardID)
	c.mu.Unlock()
	if bs == nil {
		return board.Errorf(board.ENotFound, "not subscribed to this board")
	}
	c.hub.release(bs, c)
	return nil
}

// Boards returns the ids of the boards c is subscribed to.
func (c *Client) Boards() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.boards))
	for id := range c.boards {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (h *Hub) resync(c *Client, boardID, reason string) {
	h.resyncs.Add(1)
	c.Send(Frame{Type: FrameResync, Board: boardID, Reason: reason}.Encode())
}

// acquire registers c, not yet live, as a subscriber of the board, creating
// the board's state (and joining the bus) for its first local subscriber.
func (h *Hub) acquire(boardID string, c *Client) (*boardState, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, board.Errorf(board.EConflict, "the server is shutting down")
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		h.mu.Unlock()
		return nil, board.Errorf(board.EConflict, "the connection is closed")
	}
	if c.boards[boardID] != nil {
		c.mu.Unlock()
		h.mu.Unlock()
		return nil, board.Errorf(board.EConflict, "already subscribed to this board")
	}
	if len(c.boards) >= MaxSubscriptions {
		c.mu.Unlock()
		h.mu.Unlock()
		return nil, board.Errorf(board.EConflict, "a connection may subscribe to at most %d boards", MaxSubscriptions)
	}
	bs := h.boards[boardID]
	created := bs == nil
	if created {
		bs = newBoardState(boardID)
		h.boards[boardID] = bs
	}
	c.boards[boardID] = bs
	c.mu.Unlock()
	bs.mu.Lock()
	// The events up to bs.last went to the others before c came: c must
	// read the log at least that far, even from a replica that lags.
	bs.subs[c] = &subscription{floor: bs.last}
	bs.local[c.user]++
	bs.mu.Unlock()
	h.mu.Unlock()
	h.subscribers.Add(1)
	if created {
		h.join(bs)
	}
	return bs, nil
}

// join subscribes the board on the bus, then lets subscribers read the log:
// an event committed after their read is then sure to come by the bus (or by
// a gap fill).
func (h *Hub) join(bs *boardState) {
	defer close(bs.joined)
	if h.o.Bus == nil {
		return
	}
	leave, err := h.o.Bus.Join(bs.id)
	if err != nil {
		// The head check still delivers every event, only later.
		h.log.Error("join board on the bus", "board", bs.id, "err", err)
		return
	}
	bs.mu.Lock()
	bs.leave = leave
	dead := bs.dead
	bs.mu.Unlock()
	if dead {
		leave()
	}
}

// release removes c's subscription to bs, and the board's state with its
// last subscriber.
func (h *Hub) release(bs *boardState, c *Client) {
	c.mu.Lock()
	if c.boards[bs.id] == bs {
		delete(c.boards, bs.id)
	}
	c.mu.Unlock()
	h.mu.Lock()
	bs.mu.Lock()
	_, ok := bs.subs[c]
	if ok {
		delete(bs.subs, c)
		if bs.local[c.user]--; bs.local[c.user] <= 0 {
			delete(bs.local, c.user)
		}
	}
	var leave func()
	empty := len(bs.subs) == 0 && !bs.dead
	if empty {
		bs.dead = true
		leave = bs.leave
		if h.boards[bs.id] == bs {
			delete(h.boards, bs.id)
		}
	}
	bs.mu.Unlock()
	h.mu.Unlock()
	if !ok {
		return
	}
	h.subscribers.Add(-1)
	if empty {
		if h.o.Bus != nil {
			h.o.Bus.PublishPresence(bs.id, h.instance, nil)
		}
		if leave != nil {
			leave()
		}
		return
	}
	h.presenceChanged(bs)
}

// boardState is the hub's state of one board with local subscribers.
type boardState struct {
	id     string
	joined chan struct{} // closed once the bus subscription is in place

	mu      sync.Mutex
	dead    bool    // removed from the hub
	dropped *string // the board is gone: subscribers are told so (with this resync reason, or "": deleted) and released
	known   bool    // last is set
	last    int64   // seq of the last event delivered
	pending map[int64]board.Event
	target  int64 // fill the log up to here
	filling bool
	subs    map[*Client]*subscription
	leave   func()

	local         map[string]int           // local subscriptions per user
	remote        map[string]remoteViewers // other instances' viewers
	lastSeen      []string                 // users in the last presence frame
	lastLocal     []string                 // local users last announced
	presenceTimer *time.Timer              // a flush is scheduled
}

type subscription struct {
	live        bool
	sawPresence bool
	sentUpTo    int64
	buf         []bufferedEvent // events delivered while catching up
	// floor: the events up to here were never delivered to buf (the
	// subscriber came before the board's state knew where it started), so
	// the subscriber must have read the log at least this far.
	floor int64
}

type bufferedEvent struct {
	seq   int64
	frame []byte
}

type remoteViewers struct {
	users   []string
	expires time.Time
}

func newBoardState(id string) *boardState {
	return &boardState{
		id: id, joined: make(chan struct{}),
		pending: map[int64]board.Event{}, subs: map[*Client]*subscription{},
		local: map[string]int{}, remote: map[string]remoteViewers{},
	}
}

// MaxSubscriptions is the most boards one client may subscribe to.
const MaxSubscriptions = 100

// maxPending bounds the events held back behind a gap; later ones are read
// from the log when the gap is filled.
const maxPending = 10000

// accept takes the next event of bs (bs.mu held): it delivers it if it is
// the next in seq, drops it if it was delivered, and holds it back and fills
// the gap from the log if events are missing before it. It returns the
// clients found too slow.
func (h *Hub) accept(bs *boardState, e board.Event) []*Client {
	if bs.dead {
		return nil
	}
	if !bs.known {
		if len(bs.pending) < maxPending {
			bs.pending[e.Seq] = e
		}
		return nil
	}
	if e.Seq <= bs.last {
		h.duplicates.Add(1)
		return nil
	}
	if e.Seq > bs.last+1 {
		if len(bs.pending) < maxPending {
			bs.pending[e.Seq] = e
		}
		h.fillTo(bs, e.Seq-1)
		return nil
	}
	slow := h.deliver(bs, e)
	for {
		next, ok := bs.pending[bs.last+1]
		if !ok {
			break
		}
		delete(bs.pending, next.Seq)
		slow = append(slow, h.deliver(bs, next)...)
	}
	for seq := range bs.pending {
		if seq <= bs.last {
			delete(bs.pending, seq)
		}
	}
	if e.Kind == board.KindBoardDeleted {
		go h.dropBoard(bs, "")
	}
	return slow
}

// deliver queues e, the next event, to every subscriber (bs.mu held).
func (h *Hub) deliver(bs *boardState, e board.Event) []*Client {
	bs.last = e.Seq
	if len(bs.subs) == 0 {
		return nil
	}
	frame := EncodeEvent(e)
	var slow []*Client
	for c, sub := range bs.subs {
		if !sub.live {
			sub.buf = append(sub.buf, bufferedEvent{e.Seq, frame})
			continue
		}
		if e.Seq <= sub.sentUpTo {
			continue
		}
		sub.sentUpTo = e.Seq
		c.mu.Lock()
		ok := c.enqueueLocked(frame)
		c.mu.Unlock()
		if ok {
			h.delivered.Add(1)
		} else {
			slow = append(slow, c)
		}
	}
	if h.o.OnDeliver != nil {
		h.o.OnDeliver(e)
	}
	return slow
}

// goLive ends c's catch-up (bs.mu held): c has been sent the log up to head;
// now the events delivered meanwhile, then live ones. If c must first read
// the log further, goLive returns how far (behind > head) and c stays in
// catch-up. If the board is gone, it returns the reason to drop c with.
func (h *Hub) goLive(bs *boardState, c *Client, head int64) (slow []*Client, behind int64, drop *string) {
	sub := bs.subs[c]
	if sub == nil {
		return nil, 0, nil
	}
	if head < sub.floor {
		return nil, sub.floor, nil
	}
	if !bs.known {
		// The subscribers still catching up may have read the log before
		// head: the events up to head will not reach their buf.
		for _, s := range bs.subs {
			if !s.live {
				s.floor = head
			}
		}
		bs.known, bs.last = true, head
		seqs := make([]int64, 0, len(bs.pending))
		for seq := range bs.pending {
			seqs = append(seqs, seq)
		}
		slices.Sort(seqs)
		held := bs.pending
		bs.pending = map[int64]board.Event{}
		for _, seq := range seqs {
			slow = append(slow, h.accept(bs, held[seq])...)
		}
	}
	sub.sentUpTo = head
	c.mu.Lock()
	for _, b := range sub.buf {
		if b.seq > sub.sentUpTo {
			sub.sentUpTo = b.seq
			if !c.enqueueLocked(b.frame) {
				slow = append(slow, c)
				break
			}
			h.delivered.Add(1)
		}
	}
	c.mu.Unlock()
	sub.buf, sub.live = nil, true
	return slow, 0, bs.dropped
}

// fillTo makes sure the events up to seq get read from the log (bs.mu held).
func (h *Hub) fillTo(bs *boardState, seq int64) {
	bs.target = max(bs.target, seq)
	if bs.dead || bs.filling || !bs.known || bs.target <= bs.last {
		return
	}
	bs.filling = true
	h.wg.Add(1)
	go h.fill(bs)
}

// fillBatch is how many events one gap-filling read takes.
const fillBatch = 500

// fill reads missing events from the log until bs has delivered up to its
// target. On a database error it stops; the head check starts it again.
func (h *Hub) fill(bs *boardState) {
	defer h.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		bs.mu.Lock()
		from, to := bs.last, bs.target
		if bs.dead || from >= to {
			bs.filling = false
			bs.mu.Unlock()
			return
		}
		bs.mu.Unlock()
		events, err := h.o.Log.LogEvents(ctx, bs.id, from, int(min(to-from, fillBatch)))
		bs.mu.Lock()
		if err != nil || len(events) == 0 {
			bs.filling = false
			bs.mu.Unlock()
			if err != nil {
				h.log.Error("fill gap from the event log", "board", bs.id, "from", from, "err", err)
			}
			return
		}
		var slow []*Client
		for _, e := range events {
			if e.Seq == bs.last+1 {
				h.gapFills.Add(1)
			}
			slow = append(slow, h.accept(bs, e)...)
		}
		bs.mu.Unlock()
		h.closeSlow(slow)
	}
}

// dropBoard ends every subscription to a board that no longer exists; with a
// reason, subscribers are told to resync (and will find it gone).
//
// Only live subscribers are dropped here, once; those still catching up are
// dropped when they go live, after the events they are owed.
func (h *Hub) dropBoard(bs *boardState, reason string) {
	bs.mu.Lock()
	if bs.dropped != nil {
		bs.mu.Unlock()
		return
	}
	bs.dropped = &reason
	clients := make([]*Client, 0, len(bs.subs))
	for c, sub := range bs.subs {
		if sub.live {
			clients = append(clients, c)
		}
	}
	bs.mu.Unlock()
	for _, c := range clients {
		h.dropSub(bs, c, reason)
	}
}

// dropSub tells c the board is gone and releases its subscription.
func (h *Hub) dropSub(bs *boardState, c *Client, reason string) {
	if reason != "" {
		h.resync(c, bs.id, reason)
	} else {
		c.Send(Frame{Type: FrameUnsubscribed, Board: bs.id, Reason: "board deleted"}.Encode())
	}
	h.release(bs, c)
}

// headLoop compares, every HeadInterval, the seq delivered for each board
// with its head in the database, and fills what is missing: even the last
// event of a quiet board, lost on the bus, arrives within that bound.
func (h *Hub) headLoop() {
	defer h.wg.Done()
	t := time.NewTicker(h.o.HeadInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.checkHeads()
		}
	}
}

func (h *Hub) checkHeads() {
	h.mu.Lock()
	states := make([]*boardState, 0, len(h.boards))
	ids := make([]string, 0, len(h.boards))
	for id, bs := range h.boards {
		states = append(states, bs)
		ids = append(ids, id)
	}
	h.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.o.HeadInterval)
	defer cancel()
	heads, err := h.o.Log.Heads(ctx, ids)
	if err != nil {
		h.log.Error("check board heads", "err", err)
		return
	}
	for _, bs := range states {
		head, ok := heads[bs.id]
		if !ok {
			go h.dropBoard(bs, ResyncBoardGone)
			continue
		}
		bs.mu.Lock()
		if bs.known && head > bs.last {
			h.fillTo(bs, head)
		}
		bs.mu.Unlock()
	}
}

// presenceLoop announces this instance's viewers of every board on the bus
// every PresenceInterval, and forgets other instances' viewers that have not
// been announced for three intervals (an instance that died).
func (h *Hub) presenceLoop() {
	defer h.wg.Done()
	t := time.NewTicker(h.o.PresenceInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		states := make([]*boardState, 0, len(h.boards))
		for _, bs := range h.boards {
			states = append(states, bs)
		}
		h.mu.Unlock()
		now := time.Now()
		for _, bs := range states {
			bs.mu.Lock()
			local := localUsers(bs)
			expired := false
			for inst, rv := range bs.remote {
				if now.After(rv.expires) {
					delete(bs.remote, inst)
					expired = true
				}
			}
			bs.mu.Unlock()
			if h.o.Bus != nil {
				h.o.Bus.PublishPresence(bs.id, h.instance, local)
			}
			if expired {
				h.presenceChanged(bs)
			}
		}
	}
}

// RemotePresence records the viewers of a board on another instance.
func (h *Hub) RemotePresence(boardID, instance string, users []string) {
	if instance == h.instance {
		return
	}
	h.mu.Lock()
	bs := h.boards[boardID]
	h.mu.Unlock()
	if bs == nil {
		return
	}
	bs.mu.Lock()
	if len(users) == 0 {
		delete(bs.remote, instance)
	} else {
		bs.remote[instance] = remoteViewers{users: users, expires: time.Now().Add(3 * h.o.PresenceInterval)}
	}
	bs.mu.Unlock()
	h.presenceChanged(bs)
}

// presenceChanged schedules a presence flush for the board within
// PresenceDelay. A burst of joins and leaves (a meeting starting) thus costs
// one frame per subscriber, not one per change.
func (h *Hub) presenceChanged(bs *boardState) {
	bs.mu.Lock()
	if bs.presenceTimer == nil && !bs.dead {
		bs.presenceTimer = time.AfterFunc(h.o.PresenceDelay, func() { h.flushPresence(bs) })
	}
	bs.mu.Unlock()
}

// flushPresence sends a presence frame to the board's live subscribers if
// the set of viewers changed (and to those that have not had one yet), and
// announces a change of local viewers on the bus.
func (h *Hub) flushPresence(bs *boardState) {
	bs.mu.Lock()
	bs.presenceTimer = nil
	local := localUsers(bs)
	localChanged := !slices.Equal(local, bs.lastLocal)
	bs.lastLocal = local
	all := slices.Clone(local)
	for _, rv := range bs.remote {
		all = append(all, rv.users...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	changed := bs.lastSeen == nil || !slices.Equal(all, bs.lastSeen)
	bs.lastSeen = all
	// Queued under bs.mu, so that frames reach every client in the order
	// of the changes: a stale set never arrives after a newer one.
	var frame []byte
	var slow []*Client
	for c, sub := range bs.subs {
		if sub.live && (changed || !sub.sawPresence) {
			sub.sawPresence = true
			if frame == nil {
				frame = encodePresence(bs.id, all)
			}
			c.mu.Lock()
			ok := c.enqueueLocked(frame)
			c.mu.Unlock()
			if !ok {
				slow = append(slow, c)
			}
		}
	}
	dead := bs.dead
	bs.mu.Unlock()
	h.closeSlow(slow)
	if localChanged && !dead && h.o.Bus != nil {
		h.o.Bus.PublishPresence(bs.id, h.instance, local)
	}
}

func localUsers(bs *boardState) []string {
	users := make([]string, 0, len(bs.local))
	for u := range bs.local {
		users = append(users, u)
	}
	slices.SortFunc(users, cmp.Compare[string])
	return users
}

// CheckHeads checks every board's head now, as after a bus reconnect when
// messages may have been lost.
func (h *Hub) CheckHeads() { go h.checkHeads() }
