package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// defaultClaimGrace is how long an unfinished claim blocks a retry of its
// request when no transaction holds it (Options.ClaimGrace).
const defaultClaimGrace = 5 * time.Second

// errClaimLost is the error of a mutation whose claim was taken over.
var errClaimLost = board.Errorf(board.EIdempotencyPending,
	"a request with this Idempotency-Key is still in progress")

// storedResult is how a mutation's result is kept in the response column,
// beside the responses of failures.
type storedResult struct {
	Committed bool            `json:"committed"`
	Result    json.RawMessage `json:"result"`
}

// ClaimIdempotencyKey claims call's key (call.Caller, call.Key) for a request
// with the given hash, for ttl. It returns (nil, nil) when the caller now
// holds the claim, recorded in call.Claim, and must run the request; what the
// key stored when it already completed with the same request;
// EIdempotencyReused when the key was used for a different request;
// EIdempotencyPending while the first request is still in flight.
//
// The request that holds a claim locks it when its transaction begins (see
// mutate), so a claim is in flight while that transaction runs: the claim
// then waits for it to end and learns whether it committed. A claim that no
// transaction holds and that is older than Options.ClaimGrace belongs to an
// owner that is gone (its instance died, or could not release it): it is
// taken over, and its owner, should it still run, finds its claim lost and
// changes nothing. Expired keys are claimed afresh.
//
// The claim commits without waiting for its WAL flush (synchronous_commit
// off for its own transaction): it is only ever relied on together with a
// later transaction that does wait (the mutation, or the completion of a
// refusal), and a flush covers everything written before it. A claim lost
// in a crash before such a transaction belonged to a request that
// committed nothing, which a retry then runs afresh.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, call *board.IdempotentCall, hash []byte, ttl time.Duration) (*board.StoredCall, error) {
	var claimed time.Time
	// set_config(..., true) holds for this statement's own transaction.
	err := s.pool.QueryRow(ctx, `
		INSERT INTO idempotency_keys AS k (caller, key, request_hash, expires_at)
		SELECT $1, $2, $3, now() + $4::interval
		FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush
		ON CONFLICT (caller, key) DO UPDATE
			SET request_hash = excluded.request_hash, response = NULL,
			    claimed_at = greatest(clock_timestamp(), k.claimed_at + interval '1 microsecond'),
			    expires_at = excluded.expires_at
			WHERE k.expires_at < now()
			   OR (k.response IS NULL AND k.request_hash = excluded.request_hash
			       AND k.claimed_at < now() - $5::interval)
		RETURNING claimed_at`,
		call.Caller, call.Key, hash, ttl, s.claimGrace).Scan(&claimed)
	if err == nil {
		call.Claim = claimed
		return nil, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	var stored, resp []byte
	err = s.pool.QueryRow(ctx, `
		SELECT request_hash, response FROM idempotency_keys WHERE caller = $1 AND key = $2`,
		call.Caller, call.Key).Scan(&stored, &resp)
	if errors.Is(err, pgx.ErrNoRows) {
		// Expired and removed between the two statements: try once more.
		return s.ClaimIdempotencyKey(ctx, call, hash, ttl)
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	switch {
	case !bytes.Equal(stored, hash):
		return nil, board.Errorf(board.EIdempotencyReused,
			"this Idempotency-Key was already used for a different request")
	case resp == nil:
		return nil, errClaimLost
	}
	var r storedResult
	if err := json.Unmarshal(resp, &r); err == nil && r.Committed {
		return &board.StoredCall{Result: r.Result}, nil
	}
	return &board.StoredCall{Response: resp}, nil
}

// CompleteIdempotencyKey stores the response of a request that failed, so that
// its replays fail the same way, if call still holds its claim. resp is a
// JSON object, returned as it is by ClaimIdempotencyKey. (Successful
// mutations complete their key in their own transaction.)
func (s *Store) CompleteIdempotencyKey(ctx context.Context, call *board.IdempotentCall, resp []byte) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE idempotency_keys SET response = $3
		WHERE caller = $1 AND key = $2 AND claimed_at = $4 AND response IS NULL`,
		call.Caller, call.Key, resp, call.Claim)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey gives up call's unfinished claim so that a retry runs
// the request again (after an internal error, which may pass). If the
// claim's transaction is still running (its COMMIT sent but unanswered), it
// waits for it: a key whose mutation committed after all is kept.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, call *board.IdempotentCall) error {
	_, err := s.pool.Exec(ctx, `
		DELETE FROM idempotency_keys
		WHERE caller = $1 AND key = $2 AND claimed_at = $3 AND response IS NULL`,
		call.Caller, call.Key, call.Claim)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// DeleteExpiredIdempotencyKeys removes expired keys and says how many.
func (s *Store) DeleteExpiredIdempotencyKeys(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// replayedCall returns the result the idempotent call carried by ctx
// replays, if it is a replay: the mutation must then return it and do
// nothing else.
func replayedCall[T any](ctx context.Context) (T, bool, error) {
	var t T
	call := board.IdempotentCallFrom(ctx)
	if call == nil || call.Replay == nil {
		return t, false, nil
	}
	if err := json.Unmarshal(call.Replay, &t); err != nil {
		return t, true, fmt.Errorf("decode replayed result: %w", err)
	}
	return t, true, nil
}

// lockCall locks the claim of the idempotent call carried by ctx, if any,
// in a mutating transaction that has just begun: until it ends, a retry's
// claim or a release waits for it (and then sees whether it committed). A
// claim that was taken over (its owner was thought gone) is errClaimLost,
// and the mutation must not run.
func lockCall(ctx context.Context, tx pgx.Tx) error {
	b := &pgx.Batch{}
	queueLockCall(ctx, b)
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// queueLockCall queues lockCall's statement.
func queueLockCall(ctx context.Context, b *pgx.Batch) {
	call := board.IdempotentCallFrom(ctx)
	if call == nil {
		return
	}
	b.Queue(`SELECT FROM idempotency_keys WHERE caller = $1 AND key = $2 AND claimed_at = $3 FOR UPDATE`,
		call.Caller, call.Key, call.Claim).QueryRow(func(row pgx.Row) error {
		err := row.Scan()
		if errors.Is(err, pgx.ErrNoRows) {
			return errClaimLost
		}
		if err != nil {
			return fmt.Errorf("lock idempotency key: %w", err)
		}
		return nil
	})
}

// completeCall completes the idempotent call carried by ctx, if any, with the
// mutation's result, inside the mutation's transaction.
func completeCall(ctx context.Context, tx pgx.Tx, result any) error {
	b := &pgx.Batch{}
	if err := queueCompleteCall(ctx, b, result); err != nil || b.Len() == 0 {
		return err
	}
	qq := b.QueuedQueries[0]
	if _, err := tx.Exec(ctx, qq.SQL, qq.Arguments...); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// queueCompleteCall queues the completion of the idempotent call carried by
// ctx, if any, with the mutation's result: plain data, which a replay
// decodes and answers again.
func queueCompleteCall(ctx context.Context, b *pgx.Batch, result any) error {
	call := board.IdempotentCallFrom(ctx)
	if call == nil {
		return nil
	}
	data, err := board.MarshalJSON(result)
	if err != nil {
		return fmt.Errorf("encode idempotent result: %w", err)
	}
	body, err := board.MarshalJSON(storedResult{Committed: true, Result: data})
	if err != nil {
		return fmt.Errorf("encode idempotent result: %w", err)
	}
	b.Queue(`UPDATE idempotency_keys SET response = $3 WHERE caller = $1 AND key = $2 AND claimed_at = $4`,
		call.Caller, call.Key, body, call.Claim)
	return nil
}
