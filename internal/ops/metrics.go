package ops

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/hub"
)

// Metrics is one instance's Prometheus registry. The counters the hub, the
// NATS connection and the pgx pool keep already are read at scrape time (see
// Watch); only what nothing else counts is counted here, with an atomic add
// each. Each instance has its own registry: nothing is global.
type Metrics struct {
	reg *prometheus.Registry

	committed     prometheus.Counter
	published     prometheus.Counter
	publishErrors prometheus.Counter
	latency       prometheus.Histogram
	requests      *prometheus.CounterVec
	probes        *prometheus.CounterVec
	durations     *prometheus.HistogramVec
	degraded      *prometheus.GaugeVec
}

// ClientClosedRequest is the code requests are counted under when the client
// went away before the answer (nginx's 499): whatever the handler then
// wrote, nobody read it, and it is not a server error.
const ClientClosedRequest = 499

// Sources are the existing counters a scrape reads.
type Sources struct {
	Hub       func() hub.Stats
	Pool      func() *pgxpool.Stat
	NATS      NATSState
	Snapshots func() httpapi.SnapshotCacheStats
}

// NATSState is what the metrics read of the NATS connection (natsbus.Bus).
type NATSState interface {
	Connected() bool
	Reconnects() uint64
}

// NewMetrics returns a registry with the Go runtime and process collectors
// and Corkboard's own metrics; Watch adds those read from the hub, the pool
// and NATS.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.committed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "corkboard_events_committed_total",
		Help: "Events committed by this instance's writes (one per successful mutation).",
	})
	m.published = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "corkboard_events_published_total",
		Help: "Committed events this instance published to NATS for the other instances.",
	})
	m.publishErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "corkboard_events_publish_errors_total",
		Help: "Committed events that could not be published to NATS (the other instances find them by their head check).",
	})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "corkboard_commit_to_delivery_seconds",
		Help:    "Time from an event's commit (its at) to its enqueueing to this instance's subscribers.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "corkboard_http_requests_total",
		Help: "HTTP requests by method, chi route pattern and status code (101 for WebSocket upgrades, 499 when the client went away first); health probes are counted apart.",
	}, []string{"method", "route", "code"})
	m.probes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "corkboard_health_probes_total",
		Help: "Requests to /healthz and /readyz by route and status code (503: not ready).",
	}, []string{"route", "code"})
	m.degraded = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "corkboard_degraded",
		Help: "1 while the instance serves without a dependency (nats: cross-instance delivery goes through head checks).",
	}, []string{"dependency"})
	m.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "corkboard_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests (WebSocket connections excluded), by method and chi route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.committed, m.published, m.publishErrors, m.latency, m.requests, m.probes, m.durations, m.degraded,
	)
	return m
}

// Watch registers the metrics read from s at scrape time. Call it once.
func (m *Metrics) Watch(s Sources) { m.reg.MustRegister(&sourceCollector{s: s}) }

// Committed counts an event committed by this instance; published says
// whether it reached NATS.
func (m *Metrics) Committed(published bool) {
	m.committed.Inc()
	if published {
		m.published.Inc()
	} else {
		m.publishErrors.Inc()
	}
}

// Delivered records the commit→delivery latency of an event the hub has
// just queued to its subscribers. It is the hub's Options.OnDeliver.
func (m *Metrics) Delivered(e board.Event) {
	if !e.At.IsZero() {
		m.latency.Observe(max(0, time.Since(e.At).Seconds()))
	}
}

// Degraded sets whether the instance is serving without dependency (as
// "nats").
func (m *Metrics) Degraded(dependency string, degraded bool) {
	v := 0.0
	if degraded {
		v = 1
	}
	m.degraded.WithLabelValues(dependency).Set(v)
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Middleware counts requests by method, chi route pattern (read after the
// handler, when routing is done: "/api/boards/{board}/cards/{card}") and
// status, and times them. Requests no route matched count as "unmatched";
// requests whose client went away before the answer count as 499, not as
// what the handler wrote; /healthz and /readyz count in
// corkboard_health_probes_total only, so that the 5xx of the request counter
// are the server's failures to answer its clients. Mount it on the top chi
// router.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		// A WebSocket counts when it is upgraded, not when it closes.
		sw.onHijack = func() { m.requests.WithLabelValues(r.Method, routeOf(r), "101").Inc() }
		next.ServeHTTP(sw, r)
		if sw.hijacked {
			return
		}
		route := routeOf(r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		if route == "/healthz" || route == "/readyz" {
			m.probes.WithLabelValues(route, statusText(status)).Inc()
			return
		}
		if errors.Is(r.Context().Err(), context.Canceled) {
			status = ClientClosedRequest
		}
		m.requests.WithLabelValues(r.Method, route, statusText(status)).Inc()
		m.durations.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}

// routeOf is the chi route pattern r matched, or "unmatched".
func routeOf(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 204:
		return "204"
	}
	return strconv.Itoa(code)
}

// sourceCollector turns the counters of the hub, the pool and NATS into
// metrics when scraped.
type sourceCollector struct{ s Sources }

var (
	descConnections   = prometheus.NewDesc("corkboard_websocket_connections", "Open WebSocket connections on this instance.", nil, nil)
	descSubscriptions = prometheus.NewDesc("corkboard_subscriptions", "Board subscriptions of this instance's WebSocket connections.", nil, nil)
	descAccepted      = prometheus.NewDesc("corkboard_hub_events_accepted_total", "Events the hub accepted for delivery (from this instance or NATS, for boards with subscribers here).", nil, nil)
	descDelivered     = prometheus.NewDesc("corkboard_events_delivered_total", "Event frames queued to subscribers.", nil, nil)
	descDuplicates    = prometheus.NewDesc("corkboard_event_duplicates_dropped_total", "Events dropped by the hub as already delivered.", nil, nil)
	descGapFills      = prometheus.NewDesc("corkboard_event_gap_fills_total", "Events read from the event log to fill a gap (lost on NATS, or never published).", nil, nil)
	descSlowCloses    = prometheus.NewDesc("corkboard_slow_consumer_closes_total", "WebSocket connections closed as too slow (queue overflow, close code 4001).", nil, nil)
	descResyncs       = prometheus.NewDesc("corkboard_resyncs_total", "Subscribers told to resync from a snapshot.", nil, nil)
	descNATSConnected = prometheus.NewDesc("corkboard_nats_connected", "1 when the NATS connection is up.", nil, nil)
	descNATSReconnect = prometheus.NewDesc("corkboard_nats_reconnects_total", "Times the NATS connection was re-established.", nil, nil)
	descPoolConns     = prometheus.NewDesc("corkboard_db_pool_connections", "PostgreSQL pool connections by state.", []string{"state"}, nil)
	descPoolMax       = prometheus.NewDesc("corkboard_db_pool_max_connections", "Most connections the PostgreSQL pool opens.", nil, nil)
	descPoolAcquires  = prometheus.NewDesc("corkboard_db_pool_acquires_total", "Connections acquired from the PostgreSQL pool.", nil, nil)
	descPoolEmpty     = prometheus.NewDesc("corkboard_db_pool_empty_acquires_total", "Acquires that had to wait for a connection (none was idle).", nil, nil)
	descPoolCanceled  = prometheus.NewDesc("corkboard_db_pool_canceled_acquires_total", "Acquires canceled by their context while waiting.", nil, nil)
	descPoolWait      = prometheus.NewDesc("corkboard_db_pool_acquire_wait_seconds_total", "Total time spent waiting for pool connections.", nil, nil)
	descSnapHits      = prometheus.NewDesc("corkboard_snapshot_cache_hits_total", "Snapshots answered from the snapshot cache.", nil, nil)
	descSnapMisses    = prometheus.NewDesc("corkboard_snapshot_cache_misses_total", "Snapshots read from the database (the cache did not have that board at that seq).", nil, nil)
	descSnapNotMod    = prometheus.NewDesc("corkboard_snapshot_not_modified_total", "Snapshot requests answered 304 (If-None-Match named the board's seq).", nil, nil)
	descSnapBytes     = prometheus.NewDesc("corkboard_snapshot_cache_bytes", "Bytes of encoded snapshots the cache keeps.", nil, nil)
	descPoolNew       = prometheus.NewDesc("corkboard_db_pool_new_connections_total", "Connections the pool opened.", nil, nil)
)

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descSubscriptions, descAccepted, descDelivered,
		descDuplicates, descGapFills, descSlowCloses, descResyncs, descNATSConnected, descNATSReconnect,
		descPoolConns, descPoolMax, descPoolAcquires, descPoolEmpty, descPoolCanceled, descPoolWait, descPoolNew,
		descSnapHits, descSnapMisses, descSnapNotMod, descSnapBytes} {
		ch <- d
	}
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	if c.s.Hub != nil {
		st := c.s.Hub()
		gauge(descConnections, float64(st.Clients))
		gauge(descSubscriptions, float64(st.Subscribers))
		counter(descAccepted, float64(st.Published))
		counter(descDelivered, float64(st.Delivered))
		counter(descDuplicates, float64(st.Duplicates))
		counter(descGapFills, float64(st.GapFills))
		counter(descSlowCloses, float64(st.SlowCloses))
		counter(descResyncs, float64(st.Resyncs))
	}
	if c.s.NATS != nil {
		up := 0.0
		if c.s.NATS.Connected() {
			up = 1
		}
		gauge(descNATSConnected, up)
		counter(descNATSReconnect, float64(c.s.NATS.Reconnects()))
	}
	if c.s.Snapshots != nil {
		st := c.s.Snapshots()
		counter(descSnapHits, float64(st.Hits))
		counter(descSnapMisses, float64(st.Misses))
		counter(descSnapNotMod, float64(st.NotModified))
		gauge(descSnapBytes, float64(st.Bytes))
	}
	if c.s.Pool != nil {
		st := c.s.Pool()
		gauge(descPoolConns, float64(st.AcquiredConns()), "acquired")
		gauge(descPoolConns, float64(st.IdleConns()), "idle")
		gauge(descPoolConns, float64(st.ConstructingConns()), "constructing")
		gauge(descPoolMax, float64(st.MaxConns()))
		counter(descPoolAcquires, float64(st.AcquireCount()))
		counter(descPoolEmpty, float64(st.EmptyAcquireCount()))
		counter(descPoolCanceled, float64(st.CanceledAcquireCount()))
		counter(descPoolWait, st.AcquireDuration().Seconds())
		counter(descPoolNew, float64(st.NewConnsCount()))
	}
}
