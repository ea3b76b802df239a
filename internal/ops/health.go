// Package ops is what operators see of a running instance: liveness and
// readiness for load balancers and orchestrators, Prometheus metrics, request
// ids in logs, and the admin endpoint (metrics and pprof).
package ops

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Check is one dependency readiness depends on: Func returns nil when it is
// usable. A failing check makes the instance unavailable, or only degraded
// if Degrades is set: it still serves (as without NATS, when REST and local
// delivery go on and other instances' events arrive by head checks).
type Check struct {
	Name     string
	Func     func(ctx context.Context) error
	Degrades bool
}

// Health answers /healthz (the process is alive, and which build it is)
// and /readyz (it should get traffic: no check that is not Degrades fails,
// and it is not shutting down). Safe for concurrent use.
type Health struct {
	checks  []Check
	version Version
	timeout time.Duration
	maxAge  time.Duration

	draining atomic.Bool

	mu     sync.Mutex // serializes checks; guards last*
	lastAt time.Time
	last   Report
}

// Report is the body of /readyz.
type Report struct {
	Status string            `json:"status"` // "ready", "degraded" or "unavailable"
	Checks map[string]string `json:"checks"` // name → "ok", "degraded: what fails", or what fails
}

// Status values of a Report.
const (
	StatusReady       = "ready"
	StatusDegraded    = "degraded"    // ready, but a Degrades check fails
	StatusUnavailable = "unavailable" // not ready
)

// Ready reports whether the instance should get traffic: ready or degraded.
func (r Report) Ready() bool { return r.Status != StatusUnavailable }

// NewHealth returns a Health running checks, each bounded by timeout (0: 1s).
// Results are reused for up to 250ms, so a flood of /readyz requests does
// not become a flood of database pings.
func NewHealth(timeout time.Duration, checks ...Check) *Health {
	if timeout <= 0 {
		timeout = time.Second
	}
	return &Health{checks: checks, version: BuildVersion(), timeout: timeout, maxAge: 250 * time.Millisecond}
}

// Drain makes readiness fail from now on: the instance is shutting down and
// load balancers should stop sending it new requests and connections.
func (h *Health) Drain() { h.draining.Store(true) }

// Draining reports whether Drain was called.
func (h *Health) Draining() bool { return h.draining.Load() }

// Check runs the checks (or reuses a result younger than 250ms) and reports.
func (h *Health) Check(ctx context.Context) Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastAt.IsZero() || time.Since(h.lastAt) > h.maxAge {
		h.last = h.run(ctx)
		h.lastAt = time.Now()
	}
	r := Report{Status: h.last.Status, Checks: make(map[string]string, len(h.last.Checks)+1)}
	for k, v := range h.last.Checks {
		r.Checks[k] = v
	}
	if h.Draining() {
		r.Status, r.Checks["shutdown"] = StatusUnavailable, "shutting down"
	}
	return r
}

func (h *Health) run(ctx context.Context) Report {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	results := make([]error, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.Func(ctx)
		}()
	}
	wg.Wait()
	r := Report{Status: StatusReady, Checks: make(map[string]string, len(h.checks))}
	for i, c := range h.checks {
		switch {
		case results[i] == nil:
			r.Checks[c.Name] = "ok"
		case c.Degrades:
			r.Checks[c.Name] = "degraded: " + results[i].Error()
			if r.Status == StatusReady {
				r.Status = StatusDegraded
			}
		default:
			r.Status, r.Checks[c.Name] = StatusUnavailable, results[i].Error()
		}
	}
	return r
}

// Liveness is the body of /healthz: status "ok" and the build that runs, so
// that during a rolling upgrade each instance says which release it is.
type Liveness struct {
	Status string `json:"status"` // always "ok": an instance that answers is alive
	Version
}

// Live serves /healthz: 200 with a Liveness for as long as the process
// serves HTTP (also while draining).
func (h *Health) Live(w http.ResponseWriter, _ *http.Request) {
	body, _ := json.Marshal(Liveness{Status: "ok", Version: h.version})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(body, '\n')) //nolint:errcheck // the client may be gone
}

// Version is the build this Health reports in /healthz.
func (h *Health) Version() Version { return h.version }

// Ready serves /readyz: 200 with the report when ready or degraded, else 503
// with the report saying what fails.
func (h *Health) Ready(w http.ResponseWriter, r *http.Request) {
	rep := h.Check(r.Context())
	status := http.StatusOK
	if !rep.Ready() {
		status = http.StatusServiceUnavailable
	}
	body, _ := json.Marshal(rep)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n')) //nolint:errcheck // the client may be gone
}
