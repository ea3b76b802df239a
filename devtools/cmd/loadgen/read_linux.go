//go:build linux

package main

import (
	"fmt"

	"github.com/corkboard/corkboard/devtools/rawws"
)

// The subscribers' WebSockets are plain non-blocking sockets read by a few
// epoll loops (package rawws), not a goroutine and a websocket.Conn each:
// loadgen shares the CPUs with the servers it measures, and this way one
// delivery costs it one read(2) (often less: one read takes every message
// that has arrived) and a little parsing, with no goroutine wake-up per
// message. The handshake is done with blocking I/O before the socket joins
// a loop.

var _ rawws.Handler = (*subscriber)(nil)

// Readable reads what has arrived on s's socket, once (the loop comes back
// if more is waiting), and processes the complete frames. It reports
// whether the connection has ended.
func (s *subscriber) Readable(now int64) bool {
	if s.ended {
		return true
	}
	if err := s.ws.ReadFrom(s.fd); err != nil {
		s.end(err)
		return true
	}
	s.process(now)
	return s.ended
}

// process parses the buffered frames.
func (s *subscriber) process(now int64) {
	err := s.ws.Feed(func(msg []byte) { s.message(msg, now) }, func(p []byte) {
		rawws.WriteAll(s.fd, rawws.ClientFrame(rawws.OpPong, p)) //nolint:errcheck // a failed pong ends the connection soon enough
	})
	switch {
	case err != nil:
		s.end(err)
	case s.ws.Closed:
		s.end(fmt.Errorf("closed by the server: status %d %q", s.ws.Code, s.ws.Reason))
	}
}

// end records that the connection ended before loadgen closed it.
func (s *subscriber) end(err error) {
	if s.ended {
		return
	}
	s.ended = true
	s.readErr, s.early = err, true
	s.endedFlag.Store(true)
}
