package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// ErrLeaseLost is returned by the Store when the caller no longer holds the
// webhook's lease (it expired and another instance took it, or the webhook
// was deleted).
var ErrLeaseLost = errors.New("webhook lease lost")

// State is a webhook as its lease holder sees it: the settings and cursor,
// and whether its stream is due (active, and not waiting for a retry).
type State struct {
	Webhook
	Due bool
}

// Progress is what one step of a webhook's delivery changed, recorded in one
// transaction by the lease holder.
type Progress struct {
	Cursor   int64     // the new cursor (never behind the old one)
	Delivery *Delivery // an entry for the delivery log, or nil
	JobID    string    // the job this step did, removed
	// Failed: the delivery of the event after Cursor failed. Attempts goes
	// up, FailingSince is set if it was not, the stream waits until RetryAt
	// and the lease is released. Otherwise the failure state is cleared
	// when Cursor moves.
	Failed  bool
	RetryAt time.Time
	Disable string        // non-empty: deactivate the webhook with this reason
	Lease   time.Duration // extend the lease by this from now (ignored when Failed)
}

// Store is what the Worker needs of the database (see package store).
type Store interface {
	// ClaimWebhooks takes the lease (token, for lease) of up to limit
	// webhooks that have work and no live lease: events after their cursor
	// (if active and due) or jobs.
	ClaimWebhooks(ctx context.Context, token string, lease time.Duration, limit int) ([]State, error)
	// RenewWebhookLease extends the lease and returns the webhook's state;
	// ErrLeaseLost unless token holds it.
	RenewWebhookLease(ctx context.Context, id, token string, lease time.Duration) (State, error)
	// RecordWebhookProgress records p and returns the webhook's state after
	// it; ErrLeaseLost unless token holds the lease.
	RecordWebhookProgress(ctx context.Context, id, token string, p Progress) (State, error)
	// ReleaseWebhook gives the lease up unless the webhook has more work,
	// and says whether it did.
	ReleaseWebhook(ctx context.Context, id, token string, force bool) (bool, error)
	// WebhookJobs returns up to limit pending jobs, oldest first.
	WebhookJobs(ctx context.Context, id string, limit int) ([]Job, error)
	// LogEvents returns up to limit events of the board after since, in seq
	// order, with no membership check.
	LogEvents(ctx context.Context, boardID string, since int64, limit int) ([]board.Event, error)
	// DeleteWebhookDeliveriesBefore trims the delivery logs.
	DeleteWebhookDeliveriesBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

// Options configure a Worker. Zero durations take the defaults.
type Options struct {
	Store  Store
	Guard  *Guard       // nil: the zero Guard (public addresses only)
	Logger *slog.Logger // nil: slog.Default()

	PollInterval   time.Duration // how often other instances' commits are looked for; 1s
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
	for {
		// Take what is due, as far as there are free slots.
		for running < w.o.Concurrency {
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
		select {
		case <-ctx.Done():
			return
		case <-free:
			running--
		case <-w.wake:
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

// lease is one claim of one webhook, as its holder tracks it: since (by the
// local clock, taken before the statement that set it) until since+Lease.
type lease struct {
	id, token string
	since     time.Time
}

// deliver works through one claimed webhook: its jobs, then its events in
// seq order, until nothing is left, a delivery fails, or ctx ends.
func (w *Worker) deliver(ctx context.Context, st State, token string, claimed time.Time) {
	l := &lease{id: st.ID, token: token, since: claimed}
	log := w.log.With("webhook", st.ID, "board", st.BoardID)
	released := false
	defer func() {
		if released {
			return
		}
		// Leave the webhook to whoever comes next, now rather than when
		// the lease runs out (a crashed instance leaves it to run out).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if _, err := w.store.ReleaseWebhook(rctx, l.id, l.token, true); err != nil && !errors.Is(err, ErrLeaseLost) {
			log.Warn("release webhook lease", "err", err)
		}
	}()
	idle := 0
	for range 10000 {
		progressed, stop, err := w.step(ctx, l, &st)
		if err != nil {
			if errors.Is(err, ErrLeaseLost) {
				released = true
				log.Warn("webhook lease lost; another instance goes on")
			} else if ctx.Err() == nil {
				log.Error("deliver webhook", "err", err)
			}
			return
		}
		if stop {
			released = true // a failure released it
			return
		}
		if progressed {
			idle = 0
			if err := w.renew(ctx, l, &st); err != nil {
				if errors.Is(err, ErrLeaseLost) {
					released = true
				}
				return
			}
			continue
		}
		// Twice nothing to do while the database says there is work: leave
		// it to the next claim rather than spin.
		idle++
		ok, err := w.store.ReleaseWebhook(ctx, l.id, l.token, idle > 1)
		if err != nil {
			if errors.Is(err, ErrLeaseLost) {
				released = true
			}
			return
		}
		if ok {
			released = true
			return
		}
		// Work came in meanwhile: go on holding the lease.
		if err := w.renew(ctx, l, &st); err != nil {
			if errors.Is(err, ErrLeaseLost) {
				released = true
			}
			return
		}
	}
}

// renew extends the lease and refreshes st.
func (w *Worker) renew(ctx context.Context, l *lease, st *State) error {
	since := time.Now()
	fresh, err := w.store.RenewWebhookLease(ctx, l.id, l.token, w.o.Lease)
	if err != nil {
		return err
	}
	l.since, *st = since, fresh
	return nil
}

// ensureLease renews the lease unless a whole request still fits in it with
// a margin: a request never runs past the lease, so no other instance can
// send to this webhook at the same time.
func (w *Worker) ensureLease(ctx context.Context, l *lease, st *State) error {
	if time.Since(l.since)+w.o.Timeout+2*time.Second < w.o.Lease {
		return nil
	}
	return w.renew(ctx, l, st)
}

// record records p (extending the lease), notes the new lease start, and
// refreshes st, so that an owner's change of URL, kinds, secret or active
// flag applies from the next event on.
func (w *Worker) record(ctx context.Context, l *lease, st *State, p Progress) error {
	since := time.Now()
	if !p.Failed {
		p.Lease = w.o.Lease
	}
	fresh, err := w.store.RecordWebhookProgress(ctx, l.id, l.token, p)
	if err != nil {
		return err
	}
	l.since, *st = since, fresh
	return nil
}

// step does the webhook's pending jobs and then one batch of its events.
// progressed says something was done (look again); stop that the lease is
// released (a failure).
func (w *Worker) step(ctx context.Context, l *lease, st *State) (progressed, stop bool, err error) {
	jobs, err := w.store.WebhookJobs(ctx, st.ID, 10)
	if err != nil {
		return false, false, err
	}
	for _, j := range jobs {
		if err := w.ensureLease(ctx, l, st); err != nil {
			return false, false, err
		}
		d, err := w.runJob(ctx, st, j)
		if err != nil {
			return false, false, err
		}
		if err := w.record(ctx, l, st, Progress{Cursor: st.Cursor, Delivery: d, JobID: j.ID}); err != nil {
			return false, false, err
		}
		progressed = true
	}
	if !st.Active || !st.Due {
		return progressed, false, nil
	}
	events, err := w.store.LogEvents(ctx, st.BoardID, st.Cursor, w.o.Batch)
	if err != nil {
		return false, false, err
	}
	if len(events) == 0 {
		return progressed, false, nil
	}
	if first := events[0].Seq; first != st.Cursor+1 {
		// Retention deleted events this webhook had not delivered: say so
		// in its log and go on with what there is.
		d := &Delivery{Seq: st.Cursor + 1, Kind: "", Trigger: TriggerEvent, Attempt: 1,
			MessageID: MessageID(st.ID, st.BoardID, st.Cursor+1),
			Error:     fmt.Sprintf("events %d to %d were deleted by retention before they were delivered", st.Cursor+1, first-1),
			At:        time.Now()}
		if err := w.record(ctx, l, st, Progress{Cursor: first - 1, Delivery: d}); err != nil {
			return false, false, err
		}
	}
	skipped := st.Cursor
	for _, ev := range events {
		if !st.Wants(ev.Kind) {
			skipped = ev.Seq
			continue
		}
		if err := w.ensureLease(ctx, l, st); err != nil {
			return false, false, err
		}
		d, err := w.send(ctx, &st.Webhook, ev, TriggerEvent, st.Attempts+1)
		if err != nil {
			return false, false, err // ctx ended: nothing to record
		}
		p := Progress{Cursor: ev.Seq, Delivery: d}
		if !d.OK {
			p = w.failure(st, ev.Seq-1, d)
			err := w.record(ctx, l, st, p)
			return false, err == nil, err
		}
		if ev.Kind == board.KindBoardDeleted {
			p.Disable = "the board was deleted"
		}
		if err := w.record(ctx, l, st, p); err != nil {
			return false, false, err
		}
		skipped = ev.Seq
		if !st.Active || !st.Due {
			return true, false, nil // ended, or turned off meanwhile
		}
	}
	if skipped > st.Cursor {
		if err := w.record(ctx, l, st, Progress{Cursor: skipped}); err != nil {
			return false, false, err
		}
	}
	return true, false, nil
}

// failure is the progress of a failed delivery of the event after cursor:
// a retry after the backoff, or the end after RetryFor of failures.
func (w *Worker) failure(st *State, cursor int64, d *Delivery) Progress {
	now := time.Now()
	since := now
	if st.FailingSince != nil {
		since = *st.FailingSince
	}
	p := Progress{Cursor: cursor, Delivery: d, Failed: true}
	if now.Sub(since) >= w.o.RetryFor {
		p.Disable = fmt.Sprintf("deliveries failed for %s (%d attempts) since %s; the last: %s",
			w.o.RetryFor, st.Attempts+1, since.UTC().Format(time.RFC3339), d.summary())
		p.RetryAt = now
		return p
	}
	p.RetryAt = now.Add(w.backoff(st.Attempts + 1))
	d.NextRetryAt = &p.RetryAt
	return p
}

// backoff is the delay before retry number n (1, 2, ...): RetryInitial
// doubling up to RetryMax, with equal jitter (a random half of it).
func (w *Worker) backoff(n int) time.Duration {
	d := w.o.RetryInitial
	for i := 1; i < n && d < w.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.o.RetryMax)
	return d/2 + mrand.N(d/2+1)
}

// runJob does a job: a test event, or the redelivery of a logged event.
func (w *Worker) runJob(ctx context.Context, st *State, j Job) (*Delivery, error) {
	if j.Trigger == TriggerTest {
		data, _ := json.Marshal(map[string]string{"webhook": st.ID})
		ev := board.Event{BoardID: st.BoardID, Seq: 0, Kind: KindTest, Data: data, Actor: j.Actor, At: time.Now().UTC()}
		return w.sendAs(ctx, &st.Webhook, ev, "msg_test_"+j.ID, TriggerTest, 1)
	}
	events, err := w.store.LogEvents(ctx, st.BoardID, j.Seq-1, 1)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 || events[0].Seq != j.Seq {
		return &Delivery{Seq: j.Seq, Trigger: TriggerRedeliver, Attempt: 1, MessageID: MessageID(st.ID, st.BoardID, j.Seq),
			Error: fmt.Sprintf("event %d is no longer kept", j.Seq), At: time.Now()}, nil
	}
	return w.send(ctx, &st.Webhook, events[0], TriggerRedeliver, 1)
}

func (w *Worker) send(ctx context.Context, wh *Webhook, ev board.Event, trigger string, attempt int) (*Delivery, error) {
	return w.sendAs(ctx, wh, ev, MessageID(wh.ID, wh.BoardID, ev.Seq), trigger, attempt)
}

// sendAs makes one delivery request. It returns an error only when ctx
// ended (the attempt does not count); the receiver's failures are in the
// Delivery.
func (w *Worker) sendAs(ctx context.Context, wh *Webhook, ev board.Event, msgID, trigger string, attempt int) (*Delivery, error) {
	d := &Delivery{WebhookID: wh.ID, MessageID: msgID, Seq: ev.Seq, Kind: ev.Kind, Trigger: trigger, Attempt: attempt}
	body, err := Body(ev)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	d.At = start
	secrets := []string{wh.Secret}
	if wh.PreviousSecret != "" && start.Before(wh.PreviousUntil) {
		secrets = append(secrets, wh.PreviousSecret)
	}
	sig, err := Sign(msgID, start, body, secrets...)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		d.Error = "bad url: " + err.Error()
		return d, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Corkboard-Webhooks/1")
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(start.Unix()))
	req.Header.Set(HeaderSignature, sig)
	resp, err := w.client.Do(req)
	d.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if rctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", w.o.Timeout)
		}
		d.Error = truncate(err.Error(), 500)
		return d, nil
	}
	drain(resp.Body)
	d.StatusCode = resp.StatusCode
	d.OK = resp.StatusCode/100 == 2
	if !d.OK {
		d.Error = "answered " + resp.Status
	}
	return d, nil
}

func (d *Delivery) summary() string {
	if d.Error != "" {
		return d.Error
	}
	return fmt.Sprintf("answered %d", d.StatusCode)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
