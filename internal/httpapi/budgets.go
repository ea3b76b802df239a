package httpapi

import (
	"context"
	"time"

	"github.com/corkboard/corkboard/internal/ratelimit"
)

// Budgets keeps attempt budgets that every instance shares (package store
// keeps them in PostgreSQL).
type Budgets interface {
	TakeBudget(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Take, error)
	GiveBudget(ctx context.Context, key string, l ratelimit.Limit) error
}

// memoryBudgets keeps budgets in this process only, for an API without
// Options.Budgets. Every key must be used with one limit, t's.
type memoryBudgets struct{ t *ratelimit.Throttle }

var _ Budgets = memoryBudgets{}

func (m memoryBudgets) TakeBudget(_ context.Context, key string, _ ratelimit.Limit) (ratelimit.Take, error) {
	ok, wait := m.t.Allow(key, time.Now())
	return ratelimit.Take{OK: ok, Wait: wait}, nil
}

func (m memoryBudgets) GiveBudget(_ context.Context, key string, _ ratelimit.Limit) error {
	m.t.Give(key)
	return nil
}
