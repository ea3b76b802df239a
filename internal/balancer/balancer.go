// Package balancer is a small HTTP load balancer for running several
// Corkboard instances on one machine (cmd/cluster, and the tests of that
// topology). It does what the production one (deploy/haproxy.cfg) does:
// round-robin over the backends whose /readyz answers 200, WebSockets
// proxied as they are (Upgrade), no sticky sessions, X-Forwarded-For and
// X-Forwarded-Proto set for the backends, which trust it (TRUSTED_PROXIES).
//
// A request that could not reach its backend (connection refused: the
// instance is restarting) is sent to the next one; nothing had reached the
// first, so this is safe for any method. Requests that reached a backend are
// never retried here.
package balancer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Balancer.
type Options struct {
	Backends      []string      // host:port of each instance
	CheckPath     string        // readiness path; "": /readyz
	CheckInterval time.Duration // how often readiness is checked; 0: 1s
	Logger        *slog.Logger  // nil: slog.Default()
}

// Balancer is an http.Handler. Close stops its readiness checks.
type Balancer struct {
	o         Options
	log       *slog.Logger
	backends  []*backend
	next      atomic.Uint64
	proxy     *httputil.ReverseProxy
	transport *http.Transport
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type backend struct {
	addr  string
	ready atomic.Bool
}

// maxRetryBody is the largest request body kept to send again to another
// backend (the API takes at most 64 KiB).
const maxRetryBody = 1 << 20

// New returns a balancer over o.Backends, all taken as ready until their
// first check says otherwise, and starts checking them.
func New(o Options) *Balancer {
	if o.CheckPath == "" {
		o.CheckPath = "/readyz"
	}
	if o.CheckInterval == 0 {
		o.CheckInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	b := &Balancer{o: o, log: o.Logger, stop: make(chan struct{})}
	for _, a := range o.Backends {
		be := &backend{addr: a}
		be.ready.Store(true)
		b.backends = append(b.backends, be)
	}
	b.transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = targetFrom(pr.In.Context()).addr
			pr.Out.Host = pr.In.Host // the instance sees the client's Host (same-origin checks)
			pr.SetXForwarded()
		},
		Transport:     retrying{b},
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(b.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			b.log.Warn("balancer: backend failed", "method", r.Method, "path", r.URL.Path, "err", err)
			http.Error(w, "bad gateway: no instance answered", http.StatusBadGateway)
		},
	}
	for _, be := range b.backends {
		b.wg.Add(1)
		go b.check(be)
	}
	return b
}

// Close stops the readiness checks and closes idle connections to the
// backends. Proxied WebSockets end when their backend closes them.
func (b *Balancer) Close() {
	b.closeOnce.Do(func() {
		close(b.stop)
		b.wg.Wait()
		b.transport.CloseIdleConnections()
	})
}

// Ready returns the backends whose last check passed.
func (b *Balancer) Ready() []string {
	var out []string
	for _, be := range b.backends {
		if be.ready.Load() {
			out = append(out, be.addr)
		}
	}
	return out
}

type targetKey struct{}

func targetFrom(ctx context.Context) *backend { return ctx.Value(targetKey{}).(*backend) }

// ServeHTTP proxies r to the next ready backend.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	be := b.pick(nil)
	if be == nil {
		http.Error(w, "no instance is ready", http.StatusServiceUnavailable)
		return
	}
	// Keep a small body so that it can go to another backend when the
	// first cannot be reached.
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength >= 0 && r.ContentLength <= maxRetryBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRetryBody+1))
		if err != nil {
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	b.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, be)))
}

// pick returns the next ready backend in round-robin order, skipping those
// in tried; when none is ready it falls back to any not tried (a balancer
// that refuses everything while its checks lag helps nobody).
func (b *Balancer) pick(tried []*backend) *backend {
	n := len(b.backends)
	start := int(b.next.Add(1) % uint64(n))
	var fallback *backend
	for i := range n {
		be := b.backends[(start+i)%n]
		if containsBackend(tried, be) {
			continue
		}
		if be.ready.Load() {
			return be
		}
		if fallback == nil {
			fallback = be
		}
	}
	return fallback
}

func containsBackend(list []*backend, be *backend) bool {
	for _, x := range list {
		if x == be {
			return true
		}
	}
	return false
}

// retrying sends a request to the next backend when its backend could not
// be dialled.
type retrying struct{ b *Balancer }

func (t retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	be := targetFrom(req.Context())
	tried := []*backend{be}
	for {
		resp, err := t.b.transport.RoundTrip(req)
		if err == nil || !isDialError(err) || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, err
		}
		be.ready.Store(false) // until its next check passes
		next := t.b.pick(tried)
		if next == nil {
			return nil, err
		}
		t.b.log.Debug("balancer: backend unreachable, trying the next", "backend", be.addr, "next", next.addr, "err", err)
		be = next
		tried = append(tried, be)
		req = req.Clone(req.Context())
		req.URL.Host = be.addr
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// check polls a backend's readiness until Close.
func (b *Balancer) check(be *backend) {
	defer b.wg.Done()
	client := &http.Client{Transport: b.transport, Timeout: max(b.o.CheckInterval, time.Second)}
	t := time.NewTicker(b.o.CheckInterval)
	defer t.Stop()
	for {
		ready := b.probe(client, be)
		if was := be.ready.Swap(ready); was != ready {
			b.log.Info("balancer: backend readiness changed", "backend", be.addr, "ready", ready)
		}
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
	}
}

func (b *Balancer) probe(client *http.Client, be *backend) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s%s", be.addr, b.o.CheckPath), nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining for reuse
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
