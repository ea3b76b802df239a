package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/webhook"
)

// The webhook methods come in two groups: the owners' management (each
// checks in its transaction that user owns the board: ENotFound for a
// non-member, who must not learn the board exists, EForbidden for another
// role), and the Worker's, which act only while the caller holds the
// webhook's lease. Webhook changes are not board events: a webhook's URL may
// hold a credential that editors and viewers must not see.

var _ webhook.Store = (*Store)(nil)

const webhookCols = `w.id::text, w.board_id::text, w.url, w.kinds, w.active, w.disabled_reason, w.secret,
	w.previous_secret, coalesce(w.previous_until, 'epoch'), w.cursor, w.attempts, w.failing_since,
	w.next_attempt_at, w.created_by, w.created_at, w.updated_at`

func scanWebhook(row pgx.Row, extra ...any) (webhook.Webhook, error) {
	var w webhook.Webhook
	dest := []any{&w.ID, &w.BoardID, &w.URL, &w.Kinds, &w.Active, &w.DisabledReason, &w.Secret,
		&w.PreviousSecret, &w.PreviousUntil, &w.Cursor, &w.Attempts, &w.FailingSince,
		&w.NextAttemptAt, &w.CreatedBy, &w.CreatedAt, &w.UpdatedAt}
	err := row.Scan(append(dest, extra...)...)
	if w.Kinds == nil {
		w.Kinds = []string{}
	}
	return w, err
}

// public is w as an owner sees it: without its secrets.
func public(w webhook.Webhook) webhook.Webhook {
	w.Secret, w.PreviousSecret, w.PreviousUntil = "", "", time.Time{}
	return w
}

// asOwner runs fn in a transaction after checking that user owns boardID.
func (s *Store) asOwner(ctx context.Context, user, boardID string, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var role string
		err := tx.QueryRow(ctx, `SELECT role FROM board_members WHERE board_id = $1 AND user_id = $2`,
			boardID, user).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) {
			return board.Errorf(board.ENotFound, "no such board")
		}
		if err != nil {
			return fmt.Errorf("check membership: %w", err)
		}
		if role != board.RoleOwner {
			return board.Errorf(board.EForbidden, "only the board's owners manage its webhooks")
		}
		return fn(tx)
	})
}

func noWebhook(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return board.FieldError(board.ENotFound, "webhook", "no such webhook")
	}
	return err
}

// CreateWebhook registers a webhook on the board, delivering the events
// after the board's current seq; user must own the board. in is validated
// (webhook.CheckURL, webhook.CheckKinds). EConflict when the board has
// webhook.MaxPerBoard already. The answer carries the secret.
func (s *Store) CreateWebhook(ctx context.Context, user, boardID string, in webhook.Input, secret string) (webhook.Webhook, error) {
	var w webhook.Webhook
	err := s.asOwner(ctx, user, boardID, func(tx pgx.Tx) error {
		// One creation at a time per board, so the limit holds.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webhooks ' || $1, 0))`, boardID); err != nil {
			return fmt.Errorf("lock webhooks: %w", err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhooks WHERE board_id = $1`, boardID).Scan(&n); err != nil {
			return fmt.Errorf("count webhooks: %w", err)
		}
		if n >= webhook.MaxPerBoard {
			return board.Errorf(board.EConflict, "a board has at most %d webhooks", webhook.MaxPerBoard)
		}
		active := in.Active == nil || *in.Active
		if in.Kinds == nil {
			in.Kinds = []string{}
		}
		var err error
		w, err = scanWebhook(tx.QueryRow(ctx, `
			WITH w AS (
				INSERT INTO webhooks (board_id, url, kinds, active, secret, cursor, created_by)
				SELECT b.id, $2, $3, $4, $5, b.seq, $6 FROM boards b WHERE b.id = $1
				RETURNING *)
			SELECT `+webhookCols+` FROM w`, boardID, in.URL, in.Kinds, active, secret, user))
		if err != nil {
			return fmt.Errorf("insert webhook: %w", err)
		}
		return nil
	})
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("create webhook on board %s: %w", boardID, err)
	}
	w = public(w)
	w.Secret = secret
	return w, nil
}

// ListWebhooks returns the board's webhooks, oldest first, without secrets;
// user must own the board.
func (s *Store) ListWebhooks(ctx context.Context, user, boardID string) ([]webhook.Webhook, error) {
	list := []webhook.Webhook{}
	err := s.asOwner(ctx, user, boardID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+webhookCols+` FROM webhooks w WHERE w.board_id = $1 ORDER BY w.created_at, w.id`, boardID)
		if err != nil {
			return fmt.Errorf("list webhooks: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			w, err := scanWebhook(rows)
			if err != nil {
				return fmt.Errorf("list webhooks: %w", err)
			}
			list = append(list, public(w))
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks of board %s: %w", boardID, err)
	}
	return list, nil
}

// GetWebhook returns one of the board's webhooks without its secret.
func (s *Store) GetWebhook(ctx context.Context, user, boardID, id string) (webhook.Webhook, error) {
	var w webhook.Webhook
	err := s.asOwner(ctx, user, boardID, func(tx pgx.Tx) (err error) {
		w, err = scanWebhook(tx.QueryRow(ctx, `SELECT `+webhookCols+` FROM webhooks w WHERE w.id = $1 AND w.board_id = $2`, id, boardID))
		return noWebhook(err)
	})
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("webhook %s: %w", id, err)
	}
	return public(w), nil
}

// UpdateWebhook applies p (validated). Activating an inactive webhook, or
// changing the URL, clears the failure state: delivery resumes after the
// cursor now. Deactivating it says who did.
func (s *Store) UpdateWebhook(ctx context.Context, user, boardID, id string, p webhook.Patch) (webhook.Webhook, error) {
	var w webhook.Webhook
	err := s.asOwner(ctx, user, boardID, func(tx pgx.Tx) (err error) {
		kinds := []string{}
		if p.Kinds != nil && *p.Kinds != nil {
			kinds = *p.Kinds
		}
		w, err = scanWebhook(tx.QueryRow(ctx, `
			WITH w AS (
				UPDATE webhooks w SET
					url = coalesce($3, url),
					kinds = CASE WHEN $4 THEN $5::text[] ELSE kinds END,
					active = coalesce($6, active),
					disabled_reason = CASE
						WHEN $6 IS NULL THEN disabled_reason
						WHEN $6 THEN ''
						WHEN active THEN 'turned off by an owner'
						ELSE disabled_reason END,
					attempts = CASE WHEN ($6 AND NOT active) OR url <> coalesce($3, url) THEN 0 ELSE attempts END,
					failing_since = CASE WHEN ($6 AND NOT active) OR url <> coalesce($3, url) THEN NULL ELSE failing_since END,
					next_attempt_at = CASE WHEN ($6 AND NOT active) OR url <> coalesce($3, url) THEN now() ELSE next_attempt_at END,
					updated_at = now()
				WHERE id = $1 AND board_id = $2
				RETURNING *)
			SELECT `+webhookCols+` FROM w`, id, boardID, p.URL, p.Kinds != nil, kinds, p.Active))
		return noWebhook(err)
	})
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return public(w), nil
}

// DeleteWebhook removes a webhook with its delivery log and jobs.
func (s *Store) DeleteWebhook(ctx context.Context, user, boardID, id string) error {
	err := s.asOwner(ctx, user, boardID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1 AND board_id = $2`, id, boardID)
		if err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return noWebhook(pgx.ErrNoRows)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// RotateWebhookSecret replaces the signing secret with secret; the old one
// goes on signing beside it for overlap. The answer carries the new secret.
func (s *Store) RotateWebhookSecret(ctx context.Context, user, boardID, id, secret string, overlap time.Duration) (webhook.Webhook, error) {
	var w webhook.Webhook
	err := s.asOwner(ctx, user, boardID, func(tx pgx.Tx) (err error) {
		w, err = scanWebhook(tx.QueryRow(ctx, `
			WITH w AS (
				UPDATE webhooks SET previous_secret = secret, secret = $3,
					previous_until = now() + $4 * interval '1 millisecond', updated_at = now()
				WHERE id = $1 AND board_id = $2 RETURNING *)
			SELECT `+webhookCols+` FROM w`, id, boardID, secret, overlap.Milliseconds()))
		return noWebhook(err)
	})
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("rotate secret of webhook %s: %w", id, err)
	}
	w = public(w)
	w.Secret = secret
	return w, nil
}

const deliveryCols = `id, webhook_id::text, message_id, seq, kind, trigger, attempt, ok, status_code, error,
	latency_ms, next_retry_at, at`

func scanDelivery(row pgx.Row) (webhook.Delivery, error) {
	var d webhook.Delivery
	err := row.Scan(&d.ID, &d.WebhookID, &d.MessageID, &d.Seq, &d.Kind, &d.Trigger, &d.Attempt, &d.OK,
		&d.StatusCode, &d.Error, &d.LatencyMS, &d.NextRetryAt, &d.At)
	return d, err
}

// WebhookDeliveries returns up to limit entries of the webhook's delivery
// log, newest first, with ids below before (0: from the newest).
func (s *Store) WebhookDeliveries(ctx context.Context, user, boardID, id string, before int64, limit int) ([]webhook.Delivery, error) {
	list := []webhook.Delivery{}
	err := s.asOwner(ctx, user, boardID, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1 AND board_id = $2)`, id, boardID).Scan(&ok); err != nil {
			return fmt.Errorf("find webhook: %w", err)
		}
		if !ok {
			return noWebhook(pgx.ErrNoRows)
		}
		rows, err := tx.Query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
			WHERE webhook_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, id, before, limit)
		if err != nil {
			return fmt.Errorf("read deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return fmt.Errorf("read deliveries: %w", err)
			}
			list = append(list, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries of webhook %s: %w", id, err)
	}
	return list, nil
}

// RequestWebhookJob asks for a test event (trigger test) or the redelivery
// of the logged delivery deliveryID (trigger redeliver), sent by whichever
// instance next holds the webhook's lease, whether or not it is active.
// EConflict when webhook.MaxPendingJobs wait already.
func (s *Store) RequestWebhookJob(ctx context.Context, user, boardID, id, trigger string, deliveryID int64) (webhook.Job, error) {
	var j webhook.Job
	err := s.asOwner(ctx, user, boardID, func(tx pgx.Tx) error {
		var pending int
		err := tx.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM webhook_jobs WHERE webhook_id = w.id) FROM webhooks w
			WHERE w.id = $1 AND w.board_id = $2 FOR UPDATE`, id, boardID).Scan(&pending)
		if err != nil {
			return noWebhook(err)
		}
		if pending >= webhook.MaxPendingJobs {
			return board.Errorf(board.EConflict, "%d deliveries are waiting already: try again when they are done", pending)
		}
		var seq int64
		if trigger == webhook.TriggerRedeliver {
			err := tx.QueryRow(ctx, `SELECT seq FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2`,
				deliveryID, id).Scan(&seq)
			if errors.Is(err, pgx.ErrNoRows) {
				return board.FieldError(board.ENotFound, "delivery", "no such delivery")
			}
			if err != nil {
				return fmt.Errorf("find delivery: %w", err)
			}
			if seq == 0 {
				trigger = webhook.TriggerTest
			}
		}
		j = webhook.Job{Trigger: trigger, Seq: seq, Actor: user}
		return tx.QueryRow(ctx, `INSERT INTO webhook_jobs (webhook_id, trigger, seq, actor) VALUES ($1, $2, $3, $4)
			RETURNING id::text, requested_at`, id, trigger, seq, user).Scan(&j.ID, &j.At)
	})
	if err != nil {
		return webhook.Job{}, fmt.Errorf("request delivery for webhook %s: %w", id, err)
	}
	return j, nil
}

// webhookBoardHead is the seq of the last event of webhook w's board: the
// board's seq, or once the board is deleted, the seq of board.deleted, the
// last event its log keeps.
const webhookBoardHead = `coalesce((SELECT b.seq FROM boards b WHERE b.id = w.board_id),
	(SELECT max(e.seq) FROM events e WHERE e.board_id = w.board_id), 0)`

// hasWork is whether webhook w has something to send now.
const hasWork = `((w.active AND w.next_attempt_at <= now() AND w.cursor < `+webhookBoardHead+`)
	OR EXISTS (SELECT 1 FROM webhook_jobs j WHERE j.webhook_id = w.id))`

// ClaimWebhooks gives token the lease of up to limit webhooks that have
// work and no live lease, longest waiting first. Rows another claim is
// taking are skipped, not waited for.
func (s *Store) ClaimWebhooks(ctx context.Context, token string, lease time.Duration, limit int) ([]webhook.State, error) {
	rows, err := s.pool.Query(ctx, `
		WITH c AS (
			SELECT w.id FROM webhooks w
			WHERE (w.lease_until IS NULL OR w.lease_until <= now()) AND `+hasWork+`
			ORDER BY w.next_attempt_at LIMIT $3
			FOR UPDATE OF w SKIP LOCKED),
		w AS (
			UPDATE webhooks w SET lease_token = $1, lease_until = now() + $2 * interval '1 millisecond'
			FROM c WHERE w.id = c.id RETURNING w.*)
		SELECT `+webhookCols+`, w.active AND w.next_attempt_at <= now() FROM w`,
		token, lease.Milliseconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", err)
	}
	defer rows.Close()
	var out []webhook.State
	for rows.Next() {
		var st webhook.State
		if st.Webhook, err = scanWebhook(rows, &st.Due); err != nil {
			return nil, fmt.Errorf("claim webhooks: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", err)
	}
	return out, nil
}

// RenewWebhookLease extends token's lease of webhook id and returns its
// state; webhook.ErrLeaseLost unless token holds a live lease.
func (s *Store) RenewWebhookLease(ctx context.Context, id, token string, lease time.Duration) (webhook.State, error) {
	var st webhook.State
	var err error
	st.Webhook, err = scanWebhook(s.pool.QueryRow(ctx, `
		WITH w AS (
			UPDATE webhooks SET lease_until = now() + $3 * interval '1 millisecond'
			WHERE id = $1 AND lease_token = $2 AND lease_until > now() RETURNING *)
		SELECT `+webhookCols+`, w.active AND w.next_attempt_at <= now() FROM w`, id, token, lease.Milliseconds()), &st.Due)
	if errors.Is(err, pgx.ErrNoRows) {
		return webhook.State{}, webhook.ErrLeaseLost
	}
	if err != nil {
		return webhook.State{}, fmt.Errorf("renew lease of webhook %s: %w", id, err)
	}
	return st, nil
}

// RecordWebhookProgress records p for webhook id in one transaction:
// cursor, failure state, lease, the delivery log entry and the job done. It
// returns the webhook's state after it (settings an owner changed meanwhile
// included). webhook.ErrLeaseLost unless token holds a live lease.
func (s *Store) RecordWebhookProgress(ctx context.Context, id, token string, p webhook.Progress) (webhook.State, error) {
	var st webhook.State
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		st.Webhook, err = scanWebhook(tx.QueryRow(ctx, `
			WITH w AS (
			UPDATE webhooks SET
				cursor = greatest(cursor, $3),
				attempts = CASE WHEN $4 THEN attempts + 1 WHEN $3 > cursor THEN 0 ELSE attempts END,
				failing_since = CASE WHEN $4 THEN coalesce(failing_since, now()) WHEN $3 > cursor THEN NULL ELSE failing_since END,
				next_attempt_at = CASE WHEN $4 THEN $5 ELSE next_attempt_at END,
				active = active AND $6 = '',
				disabled_reason = CASE WHEN $6 <> '' THEN $6 ELSE disabled_reason END,
				lease_token = CASE WHEN $4 THEN NULL ELSE lease_token END,
				lease_until = CASE WHEN $4 THEN NULL ELSE now() + $7 * interval '1 millisecond' END
			WHERE id = $1 AND lease_token = $2 AND lease_until > now()
			RETURNING *)
			SELECT `+webhookCols+`, w.active AND w.next_attempt_at <= now() FROM w`,
			id, token, p.Cursor, p.Failed, p.RetryAt, p.Disable, p.Lease.Milliseconds()), &st.Due)
		if errors.Is(err, pgx.ErrNoRows) {
			return webhook.ErrLeaseLost
		}
		if err != nil {
			return fmt.Errorf("advance webhook: %w", err)
		}
		if d := p.Delivery; d != nil {
			if _, err := tx.Exec(ctx, `
				INSERT INTO webhook_deliveries (webhook_id, message_id, seq, kind, trigger, attempt, ok,
					status_code, error, latency_ms, next_retry_at, at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				id, d.MessageID, d.Seq, d.Kind, d.Trigger, d.Attempt, d.OK, d.StatusCode, d.Error, d.LatencyMS,
				d.NextRetryAt, d.At); err != nil {
				return fmt.Errorf("log delivery: %w", err)
			}
		}
		if p.JobID != "" {
			if _, err := tx.Exec(ctx, `DELETE FROM webhook_jobs WHERE id = $1`, p.JobID); err != nil {
				return fmt.Errorf("remove job: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return webhook.State{}, fmt.Errorf("record progress of webhook %s: %w", id, err)
	}
	return st, nil
}

// ReleaseWebhook gives up token's lease of webhook id, unless (without
// force) the webhook has work: then it says false and the lease is kept.
// webhook.ErrLeaseLost unless token holds the lease.
func (s *Store) ReleaseWebhook(ctx context.Context, id, token string, force bool) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE webhooks w SET lease_token = NULL, lease_until = NULL
		WHERE w.id = $1 AND w.lease_token = $2 AND ($3 OR NOT `+hasWork+`)`, id, token, force)
	if err != nil {
		return false, fmt.Errorf("release webhook %s: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var held bool
	err = s.pool.QueryRow(ctx, `SELECT lease_token = $2 AND lease_until > now() FROM webhooks WHERE id = $1`, id, token).Scan(&held)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !held) {
		return false, webhook.ErrLeaseLost
	}
	if err != nil {
		return false, fmt.Errorf("release webhook %s: %w", id, err)
	}
	return false, nil
}

// WebhookJobs returns up to limit of the webhook's pending jobs, oldest
// first.
func (s *Store) WebhookJobs(ctx context.Context, id string, limit int) ([]webhook.Job, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text, trigger, seq, actor, requested_at FROM webhook_jobs
		WHERE webhook_id = $1 ORDER BY requested_at, id LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("jobs of webhook %s: %w", id, err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Job, error) {
		var j webhook.Job
		err := r.Scan(&j.ID, &j.Trigger, &j.Seq, &j.Actor, &j.At)
		return j, err
	})
	if err != nil {
		return nil, fmt.Errorf("jobs of webhook %s: %w", id, err)
	}
	return jobs, nil
}

// DeleteWebhookDeliveriesBefore deletes delivery log entries older than
// cutoff and says how many. It also removes the webhooks of deleted boards
// that have nothing left to send (board.deleted delivered, or disabled),
// with their logs.
func (s *Store) DeleteWebhookDeliveriesBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE at < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("trim webhook deliveries: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `
		DELETE FROM webhooks w
		WHERE NOT EXISTS (SELECT 1 FROM boards b WHERE b.id = w.board_id)
		AND (NOT w.active OR w.cursor >= `+webhookBoardHead+`)
		AND NOT EXISTS (SELECT 1 FROM webhook_jobs j WHERE j.webhook_id = w.id)`); err != nil {
		return 0, fmt.Errorf("remove webhooks of deleted boards: %w", err)
	}
	return tag.RowsAffected(), nil
}
