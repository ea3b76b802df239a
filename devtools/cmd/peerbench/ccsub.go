//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/devtools/rawws"
	"github.com/corkboard/corkboard/devtools/wsclient"
)

// ccSub is one WebSocket subscriber of Centrifugo's channel. Its poll loop
// records when each of the run's operations arrived and in which position;
// the report reads the records after the loops have stopped.
type ccSub struct {
	i        int
	fd       int
	r        rawws.Reader
	channel  string
	opPrefix string
	confirm  *atomic.Int64 // counts confirmed subscriptions

	subscribed bool
	recv       []int64 // recv[k]: when operation k was read (clock ns); 0: not yet
	arr        []int64 // arr[k]: when it had arrived in the socket, at the latest (clock ns); 0: not known
	ck         *clock
	pos        []int32 // pos[k]: the order in which it arrived (1, 2, ...)
	n          int32   // publications of the run's operations received
	got        atomic.Int64
	messages   int64 // WebSocket messages
	dups       int64
	unexpected int64
	pings      int64
	firstProb  string
	readErr    error
	ended      atomic.Bool
}

// dialCCSub connects subscriber i to Centrifugo at base, sends connect and
// subscribe, and hands it to the poller; the subscription is confirmed when
// its reply arrives (confirm counts it).
func dialCCSub(ctx context.Context, p *rawws.Poller, ck *clock, base, channel, opPrefix string, i, ops int, confirm *atomic.Int64) (*ccSub, error) {
	fd, rest, err := rawws.Dial(ctx, base, "/connection/websocket", "")
	if err != nil {
		return nil, fmt.Errorf("websocket %s: %w", base, err)
	}
	s := &ccSub{i: i, fd: fd, channel: channel, opPrefix: opPrefix, confirm: confirm,
		recv: make([]int64, ops), arr: make([]int64, ops), pos: make([]int32, ops), ck: ck}
	s.r.Buf = append(make([]byte, 0, 2048), rest...)
	if err := s.r.EnableArrivalTimes(fd); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("websocket %s: %w", base, err)
	}
	for _, cmd := range [][]byte{ccConnect(), ccSubscribe(channel)} {
		if err := rawws.WriteAll(fd, rawws.ClientFrame(rawws.OpText, cmd)); err != nil {
			syscall.Close(fd)
			return nil, fmt.Errorf("connect and subscribe on %s: %w", base, err)
		}
	}
	if err := p.Add(i, fd, s); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return s, nil
}

// Readable reads once and handles every complete message.
func (s *ccSub) Readable(now int64) bool {
	if err := s.r.ReadFrom(s.fd); err != nil {
		return s.end(err)
	}
	err := s.r.Feed(func(msg []byte) { s.message(msg, now) }, func(p []byte) {
		rawws.WriteAll(s.fd, rawws.ClientFrame(rawws.OpPong, p)) //nolint:errcheck // a failed pong ends the connection soon enough
	})
	switch {
	case err != nil:
		return s.end(err)
	case s.r.Closed:
		return s.end(fmt.Errorf("closed by the server: status %d %q", s.r.Code, s.r.Reason))
	}
	return false
}

func (s *ccSub) end(err error) bool {
	if s.ended.Load() {
		return true
	}
	s.readErr = err
	s.ended.Store(true)
	return true
}

func (s *ccSub) problem(format string, args ...any) {
	s.unexpected++
	if s.firstProb == "" {
		s.firstProb = fmt.Sprintf(format, args...)
	}
}

// message handles one WebSocket message: newline-separated replies.
func (s *ccSub) message(msg []byte, now int64) {
	s.messages++
	for line := range wsclient.SplitFrames(msg) {
		f, err := parseCCFrame(line)
		if err != nil {
			s.problem("%v", err)
			continue
		}
		switch f.kind {
		case ccPing:
			s.pings++
			rawws.WriteAll(s.fd, rawws.ClientFrame(rawws.OpText, []byte("{}"))) //nolint:errcheck // as a failed pong
		case ccPub:
			s.publication(f, now)
		case ccReply:
			switch {
			case f.err != "":
				s.problem("error reply to command %d: %s", f.id, f.err)
			case f.id == ccSubscribeID && !s.subscribed:
				s.subscribed = true
				s.confirm.Add(1)
			case f.id == ccConnectID:
			default:
				s.problem("unexpected reply %.200q", line)
			}
		default:
			s.problem("unexpected frame %.200q", line)
		}
	}
}

func (s *ccSub) publication(f ccFrame, now int64) {
	if !bytes.Equal(f.channel, []byte(s.channel)) || !s.subscribed {
		s.problem("publication on %q (subscribed: %v)", f.channel, s.subscribed)
		return
	}
	ev, ok := rawws.ParseEvent(f.data)
	op := ev.Op
	if !ok {
		s.problem("publication data is not an event: %.200q", f.data)
		return
	}
	k := rawws.OpIndex(op, s.opPrefix)
	if k < 0 || int(k) >= len(s.recv) {
		s.problem("publication of an unknown operation %q", op)
		return
	}
	if s.recv[k] != 0 {
		s.dups++
		return
	}
	s.n++
	s.recv[k], s.pos[k] = now, s.n
	if s.r.Arrived != 0 {
		s.arr[k] = min(now, s.ck.wall(time.Unix(0, s.r.Arrived)))
	}
	s.got.Add(1)
}

// openCCSubs dials n subscribers with at most workers dials in flight and
// waits (at most 60 s) until every subscription is confirmed. On error the
// caller closes the ones opened (the slice holds them).
func openCCSubs(ctx context.Context, p *rawws.Poller, ck *clock, n, workers int, base, channel, opPrefix string, ops int) ([]*ccSub, error) {
	subs := make([]*ccSub, n)
	var confirmed atomic.Int64
	err := rawws.DialAll(ctx, n, workers, func(ctx context.Context, i int) error {
		s, err := dialCCSub(ctx, p, ck, base, channel, opPrefix, i, ops, &confirmed)
		subs[i] = s
		return err
	})
	if err != nil {
		return subs, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for confirmed.Load() < int64(n) {
		if err := ctx.Err(); err != nil {
			return subs, err
		}
		if time.Now().After(deadline) {
			return subs, fmt.Errorf("only %d of %d subscriptions confirmed within 60 s%s", confirmed.Load(), n, firstEnded(subs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return subs, nil
}

func firstEnded(subs []*ccSub) string {
	for _, s := range subs {
		if s != nil && s.ended.Load() {
			return fmt.Sprintf(" (subscriber %d's connection ended: %v; %s)", s.i, s.readErr, s.firstProb)
		}
	}
	return ""
}

// closeCCSubs stops the poll loops, after which the records may be read,
// and closes the sockets.
func closeCCSubs(p *rawws.Poller, subs []*ccSub) error {
	err := p.Close()
	for _, s := range subs {
		if s != nil {
			syscall.Close(s.fd)
		}
	}
	return err
}

var errIncomplete = errors.New("not every subscriber got every publication")
