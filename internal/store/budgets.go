package store

import (
	"context"
	"fmt"
	"time"

	"github.com/corkboard/corkboard/internal/ratelimit"
)

// TakeBudget takes one attempt from the bucket key with the limit's shape,
// atomically in PostgreSQL, so every instance draws on the same budget. A
// refused attempt takes nothing. Time is the database's clock.
func (s *Store) TakeBudget(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Take, error) {
	every := l.Every.Seconds()
	var tokens float64
	var taken bool
	err := s.pool.QueryRow(ctx, `
		INSERT INTO auth_budgets AS b (key, tokens, at, taken)
		VALUES ($1, $2::float8 - 1, now(), $2::float8 >= 1)
		ON CONFLICT (key) DO UPDATE SET
			tokens = least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.at)) / $3::float8)
				- CASE WHEN least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.at)) / $3::float8) >= 1
				  THEN 1 ELSE 0 END,
			at = now(),
			taken = least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.at)) / $3::float8) >= 1
		RETURNING tokens, taken`, key, float64(l.Burst), every).Scan(&tokens, &taken)
	if err != nil {
		return ratelimit.Take{}, fmt.Errorf("take budget: %w", err)
	}
	if taken {
		return ratelimit.Take{OK: true, Before: tokens + 1}, nil
	}
	return ratelimit.Take{Before: tokens, Wait: time.Duration((1 - tokens) * float64(l.Every))}, nil
}

// GiveBudget returns one attempt to the bucket key (up to the limit's
// Burst): for an attempt that turned out not to count.
func (s *Store) GiveBudget(ctx context.Context, key string, l ratelimit.Limit) error {
	if _, err := s.pool.Exec(ctx, `UPDATE auth_budgets SET tokens = least($2::float8, tokens + 1) WHERE key = $1`,
		key, float64(l.Burst)); err != nil {
		return fmt.Errorf("give budget: %w", err)
	}
	return nil
}

// ResetBudget fills the bucket key again.
func (s *Store) ResetBudget(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM auth_budgets WHERE key = $1`, key); err != nil {
		return fmt.Errorf("reset budget: %w", err)
	}
	return nil
}

// DeleteIdleBudgets deletes the buckets untouched for a day: every limit in
// use refills well within that, so they are full, as an absent row is.
func (s *Store) DeleteIdleBudgets(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM auth_budgets WHERE at < now() - interval '1 day'`)
	if err != nil {
		return 0, fmt.Errorf("delete idle budgets: %w", err)
	}
	return tag.RowsAffected(), nil
}
