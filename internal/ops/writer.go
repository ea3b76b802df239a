package ops

import (
	"bufio"
	"net"
	"net/http"
)

// statusWriter records the status a handler wrote. It keeps WebSocket
// upgrades working: Hijack passes through (and counts as 101), and Unwrap
// lets http.ResponseController reach the connection.
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
	onHijack func() // called once the connection is hijacked
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
		if w.status == 0 {
			w.status = http.StatusSwitchingProtocols
		}
		if w.onHijack != nil {
			w.onHijack()
		}
	}
	return conn, rw, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
