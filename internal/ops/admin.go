package ops

import (
	"net/http"
	"net/http/pprof"
)

// AdminHandler serves the admin address: /metrics (Prometheus), /healthz,
// /readyz, and net/http/pprof under /debug/pprof/. It is meant for a
// loopback or internal address only: pprof exposes the process's internals.
func AdminHandler(m *Metrics, h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", h.Live)
	mux.HandleFunc("GET /readyz", h.Ready)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("corkboard admin: /metrics /healthz /readyz /debug/pprof/\n")) //nolint:errcheck // the client may be gone
	})
	return mux
}
