//go:build linux

// Package rawws is a cheap WebSocket client for load tools that share the
// CPUs with the servers they measure: the connections are plain
// non-blocking sockets read by a few epoll loops, not a goroutine and a
// websocket.Conn each, so one delivery costs one read(2) (often less: one
// read takes every message that has arrived) and a little parsing, with no
// goroutine wake-up per message. The opening handshake is done with
// blocking I/O before the socket joins a loop. It dials loopback addresses
// only.
//
// It is the subscribers' client of devtools/cmd/loadgen, and of
// devtools/cmd/peerbench for the server it measures beside Corkboard
// (which it drives through loadgen): one client for both.
package rawws

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
	"unsafe"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Dial connects to base (http://host:port on a loopback address) + path,
// performs the WebSocket opening handshake with the extra header lines
// header (each ending in "\r\n"; may be empty), and returns the socket
// (blocking, with timeouts from ctx's deadline or 10 s) and any bytes that
// arrived after the handshake.
func Dial(ctx context.Context, base, path, header string) (fd int, rest []byte, err error) {
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
		"Sec-WebSocket-Key: " + k + "\r\nSec-WebSocket-Version: 13\r\n" + header + "\r\n"
	if err := WriteAll(fd, []byte(req)); err != nil {
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

// WriteAll writes b to fd, blocking or not (it waits a millisecond on
// EAGAIN).
func WriteAll(fd int, b []byte) error {
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

// Opcodes of the frames a client sends.
const (
	OpText = 0x1
	OpPong = 0xa
)

// ClientFrame encodes a client frame: FIN, opcode, masked payload (clients
// must mask).
func ClientFrame(opcode byte, payload []byte) []byte {
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

// Reader reassembles a server's frames (unmasked, uncompressed) into
// messages. Bytes go in with ReadFrom (or by appending to Buf); Feed hands
// each complete text or binary message to onMessage and answers each ping
// through pong.
type Reader struct {
	Buf    []byte // bytes received, not yet parsed
	msg    []byte // the fragmented message being assembled
	inMsg  bool
	Closed bool // a close frame arrived
	Code   int  // its status code
	Reason string

	// Arrived is when the last bytes ReadFrom read had arrived in the
	// socket (wall clock, Unix nanoseconds), on a socket whose arrival
	// times are on (EnableArrivalTimes); 0 when not known.
	Arrived int64
	oob     []byte // ancillary data of the read, with arrival times on
}

// EnableArrivalTimes asks the kernel to stamp what arrives on fd with the
// time it arrived (SO_TIMESTAMPNS), and r to read it (Arrived): a load
// tool can then tell how long a message waited in its own socket — for
// its reader, not for the server — before it was read. On a loopback
// socket a segment is stamped when the server's write puts it in the
// receiving socket's queue, so the stamp lies between the server's
// write(2) and the read; it is later than the write only while the
// receiver's window is full, that is while the reader is behind.
func (r *Reader) EnableArrivalTimes(fd int) error {
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	r.oob = make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{})))*2)
	return nil
}

// ErrProtocol is a frame no server may send.
var ErrProtocol = errors.New("websocket protocol error")

// ErrClosedByPeer is a connection that ended without a close frame.
var ErrClosedByPeer = errors.New("connection closed by the server without a close frame")

// ReadFrom reads once from fd into r.Buf. It returns ErrClosedByPeer at the
// end of the stream and nothing (no error, no bytes) when nothing is there.
func (r *Reader) ReadFrom(fd int) error {
	if cap(r.Buf)-len(r.Buf) < 1024 {
		nb := make([]byte, len(r.Buf), max(2*cap(r.Buf), 4096))
		copy(nb, r.Buf)
		r.Buf = nb
	}
	var n int
	var err error
	if r.oob == nil {
		n, err = syscall.Read(fd, r.Buf[len(r.Buf):cap(r.Buf)])
	} else {
		var oobn int
		n, oobn, _, _, err = syscall.Recvmsg(fd, r.Buf[len(r.Buf):cap(r.Buf)], r.oob, 0)
		if err == nil && n > 0 {
			r.Arrived = arrivalTime(r.oob[:oobn])
		}
	}
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return nil
	case err != nil:
		return fmt.Errorf("read: %w", err)
	case n == 0:
		return ErrClosedByPeer
	}
	r.Buf = r.Buf[:len(r.Buf)+n]
	return nil
}

// arrivalTime is the SCM_TIMESTAMPNS time in a read's ancillary data
// (for TCP: when the last segment the read took had arrived), or 0.
func arrivalTime(oob []byte) int64 {
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		size := int(h.Len)
		if size < syscall.SizeofCmsghdr || size > len(oob) {
			return 0
		}
		data := oob[syscall.CmsgLen(0):size]
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			return (*syscall.Timespec)(unsafe.Pointer(&data[0])).Nano()
		}
		oob = oob[min(len(oob), syscall.CmsgSpace(size-syscall.CmsgLen(0))):]
	}
	return 0
}

// Feed parses every complete frame in r.Buf.
func (r *Reader) Feed(onMessage func([]byte), pong func([]byte)) error {
	b := r.Buf
	for {
		if len(b) < 2 {
			break
		}
		fin, rsv, opcode := b[0]&0x80 != 0, b[0]&0x70, b[0]&0x0f
		if b[1]&0x80 != 0 || rsv != 0 {
			return fmt.Errorf("%w: masked or compressed server frame", ErrProtocol)
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
			return fmt.Errorf("%w: frame of %d bytes", ErrProtocol, n)
		}
		if int64(len(b)-hdr) < n {
			goto more
		}
		payload := b[hdr : hdr+int(n)]
		b = b[hdr+int(n):]
		switch opcode {
		case 0x1, 0x2: // text, binary
			if r.inMsg {
				return fmt.Errorf("%w: new message inside a fragmented one", ErrProtocol)
			}
			if fin {
				onMessage(payload)
			} else {
				r.msg, r.inMsg = append(r.msg[:0], payload...), true
			}
		case 0x0: // continuation
			if !r.inMsg {
				return fmt.Errorf("%w: continuation without a message", ErrProtocol)
			}
			r.msg = append(r.msg, payload...)
			if fin {
				r.inMsg = false
				onMessage(r.msg)
			}
		case 0x8: // close
			r.Closed = true
			if len(payload) >= 2 {
				r.Code = int(binary.BigEndian.Uint16(payload))
				r.Reason = string(payload[2:])
			}
			r.Buf = r.Buf[:0]
			return nil
		case 0x9: // ping
			pong(payload)
		case 0xa: // pong
		default:
			return fmt.Errorf("%w: opcode %d", ErrProtocol, opcode)
		}
	}
more:
	// Keep the partial frame at the front of the buffer.
	r.Buf = r.Buf[:copy(r.Buf, b)]
	return nil
}

// Handler is a connection in a Poller.
type Handler interface {
	// Readable is called by the connection's poll loop when its socket is
	// readable, and once when it is added (for bytes that came with the
	// handshake), with the poller's clock. It reads once (the loop comes
	// back if more is waiting) and reports whether the connection has
	// ended, after which the loop forgets it.
	Readable(now int64) (ended bool)
}

// Poller reads connections' sockets with epoll: a few loops, each owning
// its connections (a Handler is only ever called by its loop, so it needs
// no lock of its own).
type Poller struct {
	loops []*pollLoop
	wg    sync.WaitGroup
	now   func() int64
}

type pollLoop struct {
	err  error // why the loop stopped early
	epfd int
	mu   sync.Mutex
	conn map[int32]Handler // by fd; the mutex hands a new connection over to the loop
	stop chan struct{}
	now  func() int64
}

// NewPoller starts n loops; now is the clock handed to the handlers.
func NewPoller(n int, now func() int64) (*Poller, error) {
	p := &Poller{now: now}
	for range n {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("epoll_create1: %w", err)
		}
		l := &pollLoop{epfd: epfd, conn: map[int32]Handler{}, stop: make(chan struct{}), now: now}
		p.loops = append(p.loops, l)
		p.wg.Go(l.run)
	}
	return p, nil
}

// Add makes fd non-blocking and hands it to loop i % loops, which calls h
// when it is readable (and once now).
func (p *Poller) Add(i, fd int, h Handler) error {
	if err := syscall.SetNonblock(fd, true); err != nil {
		return err
	}
	l := p.loops[i%len(p.loops)]
	l.mu.Lock()
	l.conn[int32(fd)] = h
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.mu.Lock()
		delete(l.conn, int32(fd))
		l.mu.Unlock()
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	l.mu.Lock()
	if _, ok := l.conn[int32(fd)]; ok && h.Readable(p.now()) {
		syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fd, nil) //nolint:errcheck // closing anyway
		delete(l.conn, int32(fd))
	}
	l.mu.Unlock()
	return nil
}

// Close stops the loops and waits for them; the sockets stay open. It
// returns why a loop stopped early, if one did. After it the handlers'
// state may be read by anyone.
func (p *Poller) Close() error {
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
			l.err = fmt.Errorf("epoll_wait: %w", err) // its connections show as incomplete
			return
		}
		if n == 0 {
			continue
		}
		l.mu.Lock()
		for _, ev := range events[:n] {
			h := l.conn[ev.Fd]
			if h == nil {
				continue
			}
			if h.Readable(l.now()) {
				syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, int(ev.Fd), nil) //nolint:errcheck // closing anyway
				delete(l.conn, ev.Fd)
			}
		}
		l.mu.Unlock()
		// A busy loop holds its P; let the writers' goroutines run.
		runtime.Gosched()
	}
}
