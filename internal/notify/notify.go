// Package notify derives notifications and users' live messages from the
// committed log and hands them to the sinks that deliver them.
//
// A Worker runs in every instance. It drives the store's log consumer
// "notifications" (store.DeriveNotifications): one transaction reads a batch
// of events after the consumer's cursor, inserts the notifications they
// cause and moves the cursor, so each event is derived exactly once, and
// only one instance derives at a time (the consumer row's lock). After the
// transaction committed, the worker gives the batch's user messages to its
// Sink: the live stream (this instance's hub and, over the bus, the others').
//
// E-mail is a seam, not a feature: a mailer would be a second
// board.UserSink, or better a worker of its own that reads the
// notifications table by id (ids increase) with a durable cursor, batches
// per user and honours a per-user preference. Nothing sends e-mail today.
package notify

import (
	"context"
	"log/slog"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// Store derives notifications (store.Store).
type Store interface {
	// RegisterNotifications registers the log consumer at the log's head,
	// unless it is registered.
	RegisterNotifications(ctx context.Context) error
	DeriveNotifications(ctx context.Context, limit int) (msgs []board.UserMessage, n int, busy bool, err error)
}

// Options configure a Worker. Zero durations take the defaults.
type Options struct {
	Store  Store
	Sink   board.UserSink
	Logger *slog.Logger
	// PollInterval is how often the log is looked at without a Wake (events
	// numbered by other instances); 500ms.
	PollInterval time.Duration
	// BusyRetry is how soon the worker tries again when another instance
	// held the consumer (it may have finished before the events this
	// instance woke it for were numbered); 50ms.
	BusyRetry time.Duration
	// Batch is how many events one transaction derives from; 200.
	Batch int
}

// Worker derives notifications in the background. Wake it when events were
// numbered (store.SequencerOptions.Numbered); it polls besides.
type Worker struct {
	o    Options
	log  *slog.Logger
	wake chan struct{}
}

// New returns a Worker; Run runs it.
func New(o Options) *Worker {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.BusyRetry <= 0 {
		o.BusyRetry = 50 * time.Millisecond
	}
	if o.Batch <= 0 {
		o.Batch = 200
	}
	return &Worker{o: o, log: o.Logger, wake: make(chan struct{}, 1)}
}

// Wake asks the worker to look at the log now. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run registers the consumer (at the head of the log, the first time any
// instance runs) and derives until ctx is done. Errors are logged and
// retried at the next poll.
func (w *Worker) Run(ctx context.Context) {
	for {
		err := w.o.Store.RegisterNotifications(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		w.log.Error("register the notifications log consumer", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.o.PollInterval):
		}
	}
	t := time.NewTicker(w.o.PollInterval)
	defer t.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		case <-retry.C:
		}
		for {
			msgs, n, busy, err := w.o.Store.DeriveNotifications(ctx, w.o.Batch)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil && !failing:
				w.log.Error("derive notifications", "err", err)
			case err != nil:
				w.log.Debug("derive notifications", "err", err)
			case failing:
				w.log.Info("deriving notifications again")
			}
			failing = err != nil
			if len(msgs) > 0 && w.o.Sink != nil {
				w.o.Sink.Deliver(ctx, msgs)
			}
			if busy {
				retry.Reset(w.o.BusyRetry)
			}
			if err != nil || busy || n < w.o.Batch {
				break
			}
		}
	}
}
