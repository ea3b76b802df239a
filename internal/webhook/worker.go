package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Options configure a Worker. Zero durations take the defaults.
type Options struct {
	Store  Store
	Guard  *Guard       // nil: the zero Guard (public addresses only)
	Logger *slog.Logger // nil: slog.Default()

	PollInterval time.Duration // how often other instances' commits are looked for; 1s
	// Spacing is the least time between two looks for work prompted by
	// Notify (default 50ms): a stream of commits makes one query per
	// Spacing, not one each.
	Spacing        time.Duration
	Timeout        time.Duration // a whole delivery request, redirects included; 10s
	ConnectTimeout time.Duration // one connection (TCP and TLS); 5s, at most Timeout
	// Lease is how long a claim lasts without renewal: an instance that dies
	// holding it delays its webhooks this long. Default and minimum:
	// 2×Timeout + 5s.
	Lease        time.Duration
	Concurrency  int           // webhooks delivered at once by this instance; 16
	RetryInitial time.Duration // the first retry's delay; 5s
	RetryMax     time.Duration // the longest delay between retries; 1h
	RetryFor     time.Duration // failures for this long disable a webhook; 24h
	LogRetention time.Duration // delivery log entries older are deleted; 168h
	Batch        int           // events read at once; 100
}

// Worker delivers the webhooks of every board. Run it in every instance;
// the leases in the database make each webhook's stream single.
type Worker struct {
	o      Options
	store  Store
	client *http.Client
	log    *slog.Logger
	wake   chan struct{}

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Worker; Start (or Run) starts it.
func New(o Options) *Worker {
	if o.Guard == nil {
		o.Guard = &Guard{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollInterval, time.Second)
	def(&o.Spacing, 50*time.Millisecond)
	def(&o.Timeout, 10*time.Second)
	def(&o.ConnectTimeout, 5*time.Second)
	o.ConnectTimeout = min(o.ConnectTimeout, o.Timeout)
	o.Lease = max(o.Lease, 2*o.Timeout+5*time.Second)
	def(&o.RetryInitial, 5*time.Second)
	def(&o.RetryMax, time.Hour)
	def(&o.RetryFor, 24*time.Hour)
	def(&o.LogRetention, 7*24*time.Hour)
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	return &Worker{o: o, store: o.Store, client: o.Guard.NewClient(o.ConnectTimeout), log: o.Logger,
		wake: make(chan struct{}, 1)}
}

// Notify tells the worker that boardID committed an event, so its webhooks
// are delivered now rather than at the next poll. It never blocks.
func (w *Worker) Notify(boardID string) {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Start runs the worker in the background until Stop.
func (w *Worker) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() { defer close(w.done); w.Run(ctx) }()
}

// Stop ends a worker started with Start: requests in flight are cancelled
// (their events are sent again later, by this or another instance) and its
// leases released. It waits for that until ctx ends.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop webhook worker: %w", ctx.Err())
	}
}

// Run delivers until ctx ends, then waits for its deliveries to stop.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	free := make(chan struct{}, w.o.Concurrency)
	running := 0
	poll := time.NewTicker(w.o.PollInterval)
	defer poll.Stop()
	trim := time.NewTicker(5 * time.Minute)
	defer trim.Stop()
	w.trimLog(ctx)
	// A Notify within Spacing of the last look is served by one look at
	// the end of it (spaced), not by one look each.
	var lastLook time.Time
	var spaced <-chan time.Time
	look := true
	for {
		// Take what is due, as far as there are free slots.
		if look {
			lastLook = time.Now()
		}
		for look && running < w.o.Concurrency {
			token := newToken()
			claimed := time.Now()
			states, err := w.store.ClaimWebhooks(ctx, token, w.o.Lease, w.o.Concurrency-running)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Error("claim webhooks", "err", err)
				}
				break
			}
			for _, st := range states {
				running++
				wg.Add(1)
				go func() {
					defer wg.Done()
					w.deliver(ctx, st, token, claimed)
					free <- struct{}{}
				}()
			}
			if len(states) == 0 {
				break
			}
		}
		look = true
		select {
		case <-ctx.Done():
			return
		case <-free:
			running--
		case <-w.wake:
			if wait := w.o.Spacing - time.Since(lastLook); wait > 0 {
				look = false
				if spaced == nil {
					spaced = time.After(wait)
				}
			}
		case <-spaced:
			spaced = nil
		case <-poll.C:
		case <-trim.C:
			w.trimLog(ctx)
		}
	}
}

func (w *Worker) trimLog(ctx context.Context) {
	n, err := w.store.DeleteWebhookDeliveriesBefore(ctx, time.Now().Add(-w.o.LogRetention))
	switch {
	case err != nil && ctx.Err() == nil:
		w.log.Error("trim webhook delivery log", "err", err)
	case n > 0:
		w.log.Debug("trimmed webhook delivery log", "count", n)
	}
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
