package webhook

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

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
	// The settings read after the events: an owner's change (URL, kinds,
	// secret, off) committed before any of these events applies to it.
	if err := w.renew(ctx, l, st); err != nil {
		return false, false, err
	}
	if !st.Active || !st.Due {
		return true, false, nil
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
