package ws

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// What an idle connection holds of its own, besides its reader goroutine:
// net/http hands a hijacked connection's 4 KiB bufio.Reader and 4 KiB
// bufio.Writer to coder/websocket, which keeps both for the connection's
// life. leanResponseWriter.Hijack gives it smaller ones: a readBufBytes reader
// (client frames are small: at most MaxFrameBytes, usually under 200
// bytes; a larger one takes a few more reads) and a 16-byte writer over a
// socketWriter, to which the writer pool's workers hand whole frames built
// in their own buffers, each sent with one write(2) — so no connection
// keeps a write buffer between messages.
const readBufBytes = 512

// leanResponseWriter is the response writer websocket.Accept sees: the
// request's, with a Hijack that hands over lean buffers.
type leanResponseWriter struct {
	http.ResponseWriter
	sw *socketWriter // set by Hijack
}

func (w *leanResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack takes the connection over from net/http and returns it with small
// buffers; bytes the client sent after the upgrade request, which net/http
// has read already, are read first.
func (w *leanResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("flush the upgrade response: %w", err)
	}
	br := bufio.NewReaderSize(conn, readBufBytes)
	if n := brw.Reader.Buffered(); n > 0 {
		// In the new reader's buffer, not just its source: Accept keeps
		// what is buffered and replaces the source with the bare conn.
		b, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn), max(readBufBytes, n))
		if _, err := br.Peek(n); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("keep the bytes read after the upgrade request: %w", err)
		}
	}
	w.sw = &socketWriter{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.sw.raw = raw
		}
	}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.sw, 16)), nil
}

// socketWriter is the connection's only way to its socket, and it never
// blocks: what the socket does not take at once (a client that does not
// read fast enough) is kept, in order, and written by a goroutine of its
// own, bounded by the write timeout, while the writer pool goes on with
// other connections.
//
// It has two writers. The pool's workers send the messages of the hub's
// events as whole frames they build themselves (sendFrame): a server's
// frames are not masked, so a frame is a header of 2 to 10 bytes and the
// payload, and coder/websocket's per-message path (its write lock, its
// timeout set-up, the copy through its bufio.Writer) is not needed for
// them. coder/websocket writes the rest — pings, pongs, the close frame —
// through its bufio.Writer (Write), in pieces; those pieces are collected
// until they make a whole frame, which is then sent as one, so the two
// writers' frames never interleave. Once coder/websocket has sent the close
// frame, sendFrame refuses: nothing follows a close frame.
type socketWriter struct {
	conn    net.Conn
	raw     syscall.RawConn // nil: not a socket (TLS): every write goes through the drainer
	timeout time.Duration   // longest blocked write; then the connection is closed
	// handBack is called when a drain the writer pool handed over ends
	// (see sendFrame), with the write error if there was one: the
	// connection is the pool's again.
	handBack func(error)

	mu        sync.Mutex
	partial   []byte // coder/websocket's frame being collected
	closeSent bool   // coder/websocket has sent the close frame
	pending   []byte // bytes the socket has not taken yet, in order
	draining  bool   // a drainer is writing pending
	owed      bool   // the pool handed the connection to the drainer
	err       error  // the first write error: every later write fails

	// tryWrite's state, for writeNow.
	rawWrite func(uintptr) bool
	p        []byte
	n        int
	werr     error
}

// Write takes what coder/websocket's bufio.Writer writes and sends each
// frame once it is whole.
func (w *socketWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		n := frameSize(w.partial)
		if n == 0 {
			break
		}
		if w.partial[0]&0x0f == opClose {
			w.closeSent = true
		}
		if err := w.sendLocked(w.partial[:n]); err != nil {
			return 0, err
		}
		w.partial = w.partial[:copy(w.partial, w.partial[n:])]
	}
	if len(w.partial) == 0 && cap(w.partial) > 1024 {
		w.partial = nil // a large control frame's buffer is not kept
	}
	return len(p), nil
}

// sendFrame sends a whole frame built by a writer-pool worker. blocked
// reports that the socket did not take it all: the rest is written by the
// drainer, which calls handBack when it is done, and the worker must leave
// the connection alone until then. p may be reused when it returns.
func (w *socketWriter) sendFrame(p []byte) (blocked bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return false, net.ErrClosed
	}
	if err := w.sendLocked(p); err != nil {
		return false, err
	}
	if w.draining {
		w.owed = true
		return true, nil
	}
	return false, nil
}

// WebSocket opcodes (RFC 6455, 5.2) that the server writes.
const (
	opText  = 0x1
	opClose = 0x8
)

// appendTextHeader appends the header of an unmasked, final text frame of
// n payload bytes (RFC 6455, 5.2) to dst.
func appendTextHeader(dst []byte, n int) []byte {
	const fin = 0x80
	switch {
	case n < 126:
		return append(dst, fin|opText, byte(n))
	case n <= 0xffff:
		return append(dst, fin|opText, 126, byte(n>>8), byte(n))
	default:
		return append(dst, fin|opText, 127,
			byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// frameSize is the size of the whole frame at the start of b, header
// included, or 0 when b does not hold all of it yet.
func frameSize(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	size, n := 2, uint64(b[1]&0x7f)
	switch n {
	case 126:
		if len(b) < 4 {
			return 0
		}
		size, n = 4, uint64(b[2])<<8|uint64(b[3])
	case 127:
		if len(b) < 10 {
			return 0
		}
		size, n = 10, 0
		for _, c := range b[2:10] {
			n = n<<8 | uint64(c)
		}
	}
	if b[1]&0x80 != 0 {
		size += 4 // a masking key (a client's frame; the server's are not masked)
	}
	if n > uint64(math.MaxInt-size) || len(b) < size+int(n) {
		return 0
	}
	return size + int(n)
}

// sendLocked sends p without blocking (w.mu held), behind anything
// pending; what the socket does not take is kept for the drainer.
func (w *socketWriter) sendLocked(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(p) == 0 {
		return nil
	}
	if w.draining {
		w.pending = append(w.pending, p...)
		return nil
	}
	n, err := w.tryWrite(p)
	if err != nil {
		w.err = err
		return err
	}
	if n < len(p) {
		w.pending = append(w.pending, p[n:]...)
		w.draining = true
		go w.drain()
	}
	return nil
}

// tryWrite writes what the socket takes of p now (w.mu held).
func (w *socketWriter) tryWrite(p []byte) (int, error) {
	if w.raw == nil {
		return 0, nil
	}
	if w.rawWrite == nil {
		w.rawWrite = w.writeNow // one closure for the connection's life, not one per write
	}
	w.p, w.n, w.werr = p, 0, nil
	err := w.raw.Write(w.rawWrite)
	n, werr := w.n, w.werr
	w.p = nil
	if err == nil {
		err = werr
	}
	return n, err
}

// writeNow is tryWrite's call on the socket: write(2) until it would
// block.
func (w *socketWriter) writeNow(fd uintptr) bool {
	for w.n < len(w.p) {
		m, err := syscall.Write(int(fd), w.p[w.n:])
		if m > 0 {
			w.n += m
		}
		switch err {
		case nil:
			if m <= 0 {
				return true
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			return true
		default:
			w.werr = err
			return true
		}
	}
	return true
}

// drain writes what is pending, blocking, until nothing is; a write that
// takes longer than the timeout closes the connection.
func (w *socketWriter) drain() {
	timeout := w.timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	stall := time.AfterFunc(timeout, func() { w.conn.Close() }) //nolint:errcheck // unblocks the write
	defer stall.Stop()
	for {
		w.mu.Lock()
		p := w.pending
		w.pending = nil
		if len(p) == 0 || w.err != nil {
			w.draining = false
			owed, err := w.owed, w.err
			w.owed = false
			w.mu.Unlock()
			if owed && w.handBack != nil {
				w.handBack(err)
			}
			return
		}
		w.mu.Unlock()
		stall.Reset(timeout)
		if _, err := w.conn.Write(p); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
}
