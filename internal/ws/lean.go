package ws

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
)

// What an idle connection holds of its own, besides its reader goroutine:
// net/http hands a hijacked connection's 4 KiB bufio.Reader and 4 KiB
// bufio.Writer to coder/websocket, which keeps both for the connection's
// life. leanHijack gives it smaller ones instead: a readBufBytes reader
// (client frames are small: at most MaxFrameBytes, usually under 200
// bytes; a larger one takes a few more reads) and a 16-byte writer over a
// socketWriter, which collects a whole message in the writing worker's
// buffer and sends it with one write(2) — so no connection keeps a write
// buffer between messages.
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
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.sw, 16)), nil
}

// socketWriter is what coder/websocket's bufio.Writer writes to. Between
// begin and flush (a worker writing one message) it collects what it is
// given in the worker's buffer; otherwise (pings, pongs, the close frame)
// it writes through.
type socketWriter struct {
	conn net.Conn

	mu       sync.Mutex
	batching bool
	buf      []byte
}

func (w *socketWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.batching {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	return w.conn.Write(p)
}

// begin starts collecting a message in buf (the worker's, empty).
func (w *socketWriter) begin(buf []byte) {
	w.mu.Lock()
	w.batching, w.buf = true, buf
	w.mu.Unlock()
}

// flush writes what was collected since begin with one write and returns
// the buffer to its worker.
func (w *socketWriter) flush() ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := w.buf
	w.batching, w.buf = false, nil
	if len(buf) == 0 {
		return buf, nil
	}
	_, err := w.conn.Write(buf)
	return buf[:0], err
}
