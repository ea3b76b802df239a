//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// The subscribers' WebSockets are plain non-blocking sockets read by a few
// epoll loops, not a goroutine and a websocket.Conn each: loadgen shares the
// CPUs with the servers it measures, and this way one delivery costs it one
// read(2) (often less: one read takes every message that has arrived) and a
// little parsing, with no goroutine wake-up per message. The handshake is
// done with blocking I/O before the socket joins a loop.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialWS connects to base (http://host:port) + path, performs the WebSocket
// opening handshake as id, and returns the socket (blocking, with 10 s
// timeouts) and any bytes that arrived after the handshake.
func dialWS(ctx context.Context, base, path string, id identity) (fd int, rest []byte, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return -1, nil, err
	}
	addr, err := net.ResolveTCPAddr("tcp4", u.Host)
	if err != nil {
		return -1, nil, err
	}
	if !addr.IP.IsLoopback() {
		return -1, nil, fmt.Errorf("%s is not a loopback address", addr)
	}
	fd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("socket: %w", err)
	}
	defer func() {
		if err != nil {
			syscall.Close(fd)
		}
	}()
	timeout := syscall.NsecToTimeval(int64(10 * time.Second))
	if d, ok := ctx.Deadline(); ok {
		timeout = syscall.NsecToTimeval(int64(max(time.Until(d), time.Millisecond)))
	}
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &timeout) //nolint:errcheck // best effort
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &timeout) //nolint:errcheck // best effort
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return -1, nil, fmt.Errorf("connect %s: %w", addr, err)
	}

	var key [16]byte
	rand.Read(key[:]) //nolint:errcheck // crypto/rand.Read never fails
	k := base64.StdEncoding.EncodeToString(key[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + k + "\r\nSec-WebSocket-Version: 13\r\n" + id.raw() + "\r\n"
	if err := writeAll(fd, []byte(req)); err != nil {
		return -1, nil, fmt.Errorf("handshake: %w", err)
	}
	buf := make([]byte, 0, 1024)
	for {
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			rest = append([]byte(nil), buf[i+4:]...)
			buf = buf[:i]
			break
		}
		if len(buf) > 16<<10 {
			return -1, nil, errors.New("handshake: response header too large")
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, nil, fmt.Errorf("handshake: read: %w", err)
		}
		if n == 0 {
			return -1, nil, errors.New("handshake: connection closed")
		}
		buf = buf[:len(buf)+n]
	}
	lines := bytes.Split(buf, []byte("\r\n"))
	if !bytes.HasPrefix(lines[0], []byte("HTTP/1.1 101")) {
		return -1, nil, fmt.Errorf("handshake: %s", bytes.TrimSpace(buf))
	}
	sum := sha1.Sum([]byte(k + wsGUID))
	want := base64.StdEncoding.EncodeToString(sum[:])
	ok := false
	for _, l := range lines[1:] {
		name, value, _ := bytes.Cut(l, []byte(":"))
		if bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) && string(bytes.TrimSpace(value)) == want {
			ok = true
		}
	}
	if !ok {
		return -1, nil, fmt.Errorf("handshake: missing or wrong Sec-WebSocket-Accept (want %s) in %q", want, buf)
	}
	return fd, rest, nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR || err == syscall.EAGAIN {
			if err == syscall.EAGAIN {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// clientFrame encodes a client frame: FIN, opcode, masked payload (clients
// must mask).
func clientFrame(opcode byte, payload []byte) []byte {
	f := make([]byte, 0, 14+len(payload))
	f = append(f, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:]) //nolint:errcheck // crypto/rand.Read never fails
	f = append(f, mask[:]...)
	for i, b := range payload {
		f = append(f, b^mask[i&3])
	}
	return f
}

// wsReader reassembles a server's frames (unmasked, uncompressed) into
// messages. Bytes go in with feed; each complete text message is handed to
// onMessage, each ping is answered through pong.
type wsReader struct {
	buf    []byte // bytes received, not yet parsed
	msg    []byte // the fragmented message being assembled
	inMsg  bool
	closed bool // a close frame arrived
	code   int  // its status code
	reason string
}

var errProtocol = errors.New("websocket protocol error")

// feed parses every complete frame in w.buf.
func (w *wsReader) feed(onMessage func([]byte), pong func([]byte)) error {
	b := w.buf
	for {
		if len(b) < 2 {
			break
		}
		fin, rsv, opcode := b[0]&0x80 != 0, b[0]&0x70, b[0]&0x0f
		if b[1]&0x80 != 0 || rsv != 0 {
			return fmt.Errorf("%w: masked or compressed server frame", errProtocol)
		}
		n, hdr := int64(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				goto more
			}
			n, hdr = int64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				goto more
			}
			n, hdr = int64(binary.BigEndian.Uint64(b[2:])), 10
		}
		if n > 64<<20 {
			return fmt.Errorf("%w: frame of %d bytes", errProtocol, n)
		}
		if int64(len(b)-hdr) < n {
			goto more
		}
		payload := b[hdr : hdr+int(n)]
		b = b[hdr+int(n):]
		switch opcode {
		case 0x1, 0x2: // text, binary
			if w.inMsg {
				return fmt.Errorf("%w: new message inside a fragmented one", errProtocol)
			}
			if fin {
				onMessage(payload)
			} else {
				w.msg, w.inMsg = append(w.msg[:0], payload...), true
			}
		case 0x0: // continuation
			if !w.inMsg {
				return fmt.Errorf("%w: continuation without a message", errProtocol)
			}
			w.msg = append(w.msg, payload...)
			if fin {
				w.inMsg = false
				onMessage(w.msg)
			}
		case 0x8: // close
			w.closed = true
			if len(payload) >= 2 {
				w.code = int(binary.BigEndian.Uint16(payload))
				w.reason = string(payload[2:])
			}
			w.buf = w.buf[:0]
			return nil
		case 0x9: // ping
			pong(payload)
		case 0xa: // pong
		default:
			return fmt.Errorf("%w: opcode %d", errProtocol, opcode)
		}
	}
more:
	// Keep the partial frame at the front of the buffer.
	w.buf = w.buf[:copy(w.buf, b)]
	return nil
}

// poller reads the subscribers' sockets with epoll: one loop per CPU.
type poller struct {
	loops []*pollLoop
	wg    sync.WaitGroup
	next  int
}

type pollLoop struct {
	err  error // why the loop stopped early
	epfd int
	mu   sync.Mutex
	subs map[int32]*subscriber // by fd; the mutex hands a new subscriber over to the loop
	stop chan struct{}
}

func newPoller(n int) (*poller, error) {
	p := &poller{}
	for range n {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("epoll_create1: %w", err)
		}
		l := &pollLoop{epfd: epfd, subs: map[int32]*subscriber{}, stop: make(chan struct{})}
		p.loops = append(p.loops, l)
		p.wg.Go(l.run)
	}
	return p, nil
}

// add hands s, whose socket is open and subscribed, to a loop.
func (p *poller) add(s *subscriber) error {
	if err := syscall.SetNonblock(s.fd, true); err != nil {
		return err
	}
	l := p.loops[s.i%len(p.loops)]
	l.mu.Lock()
	l.subs[int32(s.fd)] = s
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(s.fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	// Bytes that came with the handshake.
	l.mu.Lock()
	if len(s.ws.buf) > 0 && !s.ended {
		s.process(s.clock.now())
	}
	l.mu.Unlock()
	return nil
}

// close stops the loops and waits for them; the sockets stay open. It
// returns why a loop stopped early, if one did.
func (p *poller) close() error {
	for _, l := range p.loops {
		close(l.stop)
	}
	p.wg.Wait()
	var errs []error
	for _, l := range p.loops {
		syscall.Close(l.epfd)
		errs = append(errs, l.err)
	}
	return errors.Join(errs...)
}

func (l *pollLoop) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		n, err := syscall.EpollWait(l.epfd, events, 50)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			l.err = fmt.Errorf("epoll_wait: %w", err) // its subscribers show as incomplete
			return
		}
		if n == 0 {
			continue
		}
		l.mu.Lock()
		for _, ev := range events[:n] {
			s := l.subs[ev.Fd]
			if s == nil {
				continue
			}
			if !s.ended {
				s.readReady(s.clock.now())
			}
			if s.ended {
				syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil) //nolint:errcheck // closing anyway
				delete(l.subs, ev.Fd)
			}
		}
		l.mu.Unlock()
		// A busy loop holds its P; let the writers' goroutines run.
		runtime.Gosched()
	}
}

// readReady reads what has arrived on s's socket, once (the loop comes back
// if more is waiting), and processes the complete frames.
func (s *subscriber) readReady(now int64) {
	w := &s.ws
	if cap(w.buf)-len(w.buf) < 1024 {
		nb := make([]byte, len(w.buf), max(2*cap(w.buf), 4096))
		copy(nb, w.buf)
		w.buf = nb
	}
	n, err := syscall.Read(s.fd, w.buf[len(w.buf):cap(w.buf)])
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err != nil:
		s.end(fmt.Errorf("read: %w", err))
		return
	case n == 0:
		s.end(errors.New("connection closed by the server without a close frame"))
		return
	}
	w.buf = w.buf[:len(w.buf)+n]
	s.process(now)
}

// process parses the buffered frames.
func (s *subscriber) process(now int64) {
	err := s.ws.feed(func(msg []byte) { s.message(msg, now) }, func(p []byte) {
		writeAll(s.fd, clientFrame(0xa, p)) //nolint:errcheck // a failed pong ends the connection soon enough
	})
	switch {
	case err != nil:
		s.end(err)
	case s.ws.closed:
		s.end(fmt.Errorf("closed by the server: status %d %q", s.ws.code, s.ws.reason))
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
