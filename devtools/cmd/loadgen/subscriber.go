//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/devtools/rawws"
	"github.com/corkboard/corkboard/devtools/wsclient"
)

// subscriber is one WebSocket connection subscribed to some boards. Its
// poll loop records, per board, when each seq arrived and which operation it
// carried; everything is checked after the run. Only the poll loop touches
// the fields once the subscriber is added to it (the report reads them after
// the loops have stopped), except the atomics.
type subscriber struct {
	i        int
	instance int
	user     string
	fd       int
	ws       rawws.Reader
	boards   map[string]*subBoard // by board id
	list     []*subBoard
	clock    *clock
	opPrefix string
	confirm  *atomic.Int64 // counts subscribed frames

	messages   int64 // WebSocket messages
	evMessages int64 // messages with events
	frames     int64 // frames in them
	deliveries int64 // event frames within the subscribed range
	presence   int64
	// presenceBytes: the bytes of the presence frames so far (read while
	// the subscriber runs, for the set-up's volume).
	presenceBytes atomic.Int64
	resyncs       int64
	errorsSeen    int64
	unexpected    int64 // frames of unknown types, events of boards not subscribed or before subscribed
	firstProb     string
	readErr       error
	early         bool         // the connection ended before loadgen closed it
	ended         bool         // the connection ended
	endedFlag     atomic.Bool  // ended, for other goroutines
	lastMsg       atomic.Int64 // when the last message arrived (clock ns), for waitQuiet
}

// subBoard is a subscriber's view of one board.
type subBoard struct {
	board      int   // index in the run's boards
	base       int64 // seq in the subscribed frame: events start after it
	subscribed atomic.Bool
	last       atomic.Int64 // highest seq received

	recv       []int64 // recv[k]: when seq base+1+k was read (clock ns); 0: not yet
	arr        []int64 // arr[k]: when it had arrived in the socket, at the latest (clock ns); 0: not known
	op         []int32 // op[k]: the loadgen operation of seq base+1+k; -1: not one of ours
	dups       int64   // events received again, or at or before base
	outOfOrder int64   // events that did not follow the previous one (gaps at arrival)
	prev       int64   // seq of the previous event
}

// maxTrackedEvents bounds how far past its subscription a seq may be before
// it is treated as bogus rather than recorded.
const maxTrackedEvents = 10_000_000

// dialSubscriber opens a connection to base (http://host:port) as id,
// subscribes it to boards and hands it to the poller.
func dialSubscriber(ctx context.Context, p *rawws.Poller, base string, id identity, i, instance int, boardIDs []string,
	boardIdx []int, expect int, ck *clock, opPrefix string, confirm *atomic.Int64) (*subscriber, error) {
	fd, rest, err := rawws.Dial(ctx, base, "/api/ws", id.raw())
	if err != nil {
		return nil, fmt.Errorf("websocket %s: %w", base, err)
	}
	s := &subscriber{i: i, instance: instance, user: id.username, fd: fd, boards: map[string]*subBoard{},
		clock: ck, opPrefix: opPrefix, confirm: confirm}
	s.ws.Buf = append(make([]byte, 0, 2048), rest...)
	if err := s.ws.EnableArrivalTimes(fd); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("websocket %s: %w", base, err)
	}
	for k, id := range boardIDs {
		sb := &subBoard{board: boardIdx[k], recv: make([]int64, 0, expect), arr: make([]int64, 0, expect),
			op: make([]int32, 0, expect)}
		s.boards[id] = sb
		s.list = append(s.list, sb)
	}
	for _, b := range boardIDs {
		if err := rawws.WriteAll(fd, rawws.ClientFrame(rawws.OpText, []byte(`{"type":"subscribe","board":"`+b+`"}`))); err != nil {
			syscall.Close(fd)
			return nil, fmt.Errorf("subscribe to %s on %s: %w", b, base, err)
		}
	}
	if err := p.Add(s.i, fd, s); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return s, nil
}

// message handles one WebSocket message: newline-separated frames.
func (s *subscriber) message(msg []byte, now int64) {
	s.messages++
	s.lastMsg.Store(now)
	before := s.deliveries
	defer func() {
		if s.deliveries > before {
			s.evMessages++
		}
	}()
	for line := range wsclient.SplitFrames(msg) {
		s.frames++
		s.handle(line, now)
	}
}

func (s *subscriber) problem(format string, args ...any) {
	s.unexpected++
	if s.firstProb == "" {
		s.firstProb = fmt.Sprintf(format, args...)
	}
}

// controlFrame is every server frame but events, decoded in full.
type controlFrame struct {
	Type    string `json:"type"`
	Board   string `json:"board"`
	Seq     *int64 `json:"seq"`
	OpID    string `json:"op_id"`
	Reason  string `json:"reason"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *subscriber) handle(line []byte, now int64) {
	if ev, ok := rawws.ParseEvent(line); ok {
		s.event(ev, now)
		return
	}
	if rawws.IsPresence(line) {
		s.presence++
		s.presenceBytes.Add(int64(len(line)))
		return
	}
	var f controlFrame
	if err := json.Unmarshal(line, &f); err != nil {
		s.problem("undecodable frame %.200q: %v", line, err)
		return
	}
	switch f.Type {
	case "event":
		if f.Seq == nil {
			s.problem("event without seq: %.200q", line)
			return
		}
		s.event(rawws.Event{Board: []byte(f.Board), Seq: *f.Seq, Op: []byte(f.OpID)}, now)
	case "subscribed":
		sb := s.boards[f.Board]
		if sb == nil || f.Seq == nil || sb.subscribed.Load() {
			s.problem("unexpected subscribed frame %.200q", line)
			return
		}
		sb.base, sb.prev = *f.Seq, *f.Seq
		sb.last.Store(*f.Seq)
		sb.subscribed.Store(true)
		s.confirm.Add(1)
	case "presence", "pong":
		s.presence++
	case "resync":
		s.resyncs++
		s.problem("resync for board %s: %s", f.Board, f.Reason)
	case "error":
		s.errorsSeen++
		s.problem("error frame for board %s: %s: %s", f.Board, f.Code, f.Message)
	default:
		s.problem("unexpected frame %.200q", line)
	}
}

func (s *subscriber) event(ev rawws.Event, now int64) {
	sb := s.boards[string(ev.Board)]
	if sb == nil {
		s.problem("event of board %s, not subscribed", ev.Board)
		return
	}
	if !sb.subscribed.Load() {
		s.problem("event %d of board %s before subscribed", ev.Seq, ev.Board)
		return
	}
	k := ev.Seq - sb.base - 1
	switch {
	case k < 0:
		sb.dups++
		return
	case k >= maxTrackedEvents:
		s.problem("event seq %d of board %s far past %d", ev.Seq, ev.Board, sb.base)
		return
	}
	if ev.Seq != sb.prev+1 {
		sb.outOfOrder++
	}
	sb.prev = ev.Seq
	for int64(len(sb.recv)) <= k {
		sb.recv = append(sb.recv, 0)
		sb.arr = append(sb.arr, 0)
		sb.op = append(sb.op, -1)
	}
	if sb.recv[k] != 0 {
		sb.dups++
		return
	}
	sb.recv[k] = now
	if s.ws.Arrived != 0 {
		sb.arr[k] = min(now, s.clock.wall(time.Unix(0, s.ws.Arrived)))
	}
	sb.op[k] = rawws.OpIndex(ev.Op, s.opPrefix)
	if ev.Seq > sb.last.Load() {
		sb.last.Store(ev.Seq)
	}
	s.deliveries++
}

// clock gives times as nanoseconds since the run started (monotonic).
type clock struct{ t0 time.Time }

func (c *clock) now() int64 { return int64(time.Since(c.t0)) }

// wall converts a wall-clock time (such as a PostgreSQL timestamp) to the
// clock's scale.
func (c *clock) wall(t time.Time) int64 { return int64(t.Sub(c.t0.Round(0))) }

// openSubscribers dials n subscribers with at most workers dials in flight
// and waits until every subscription is confirmed. On error it closes the
// ones it opened.
func openSubscribers(ctx context.Context, p *rawws.Poller, n, workers int,
	spec func(i int) (base string, id identity, instance int, boardIDs []string, boardIdx []int),
	expect int, ck *clock, opPrefix string) ([]*subscriber, error) {
	subs := make([]*subscriber, n)
	var confirmed, want atomic.Int64
	err := rawws.DialAll(ctx, n, workers, func(ctx context.Context, i int) error {
		base, user, inst, ids, idx := spec(i)
		s, err := dialSubscriber(ctx, p, base, user, i, inst, ids, idx, expect, ck, opPrefix, &confirmed)
		if err != nil {
			return err
		}
		subs[i] = s
		want.Add(int64(len(ids)))
		return nil
	})
	if err != nil {
		return subs, err
	}
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for confirmed.Load() < want.Load() {
		select {
		case <-ctx.Done():
			return subs, ctx.Err()
		case <-deadline.C:
			return subs, fmt.Errorf("only %d of %d subscriptions confirmed within 60s%s", confirmed.Load(), want.Load(), firstEnded(subs))
		case <-tick.C:
		}
	}
	return subs, nil
}

func firstEnded(subs []*subscriber) string {
	for _, s := range subs {
		if s != nil && s.endedFlag.Load() {
			return fmt.Sprintf(" (subscriber %d's connection ended: %v; %s)", s.i, s.readErr, s.firstProb)
		}
	}
	return ""
}

// closeSubscribers stops the poll loops, after which the subscribers'
// records may be read, and closes the sockets.
func closeSubscribers(p *rawws.Poller, subs []*subscriber) error {
	err := p.Close()
	for _, s := range subs {
		if s != nil {
			syscall.Close(s.fd)
		}
	}
	return err
}
