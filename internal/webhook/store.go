package webhook

import (
	"context"
	"errors"
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
