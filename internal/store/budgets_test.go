package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/ratelimit"
)

// Concurrent attempts on one budget, on as many pool connections as they
// get (as several instances would), take exactly Burst between them; a refused attempt takes
// nothing and says how long to wait; Give returns one, Reset fills it.
func TestBudgetConcurrentTakes(t *testing.T) {
	t.Parallel()
	a := newStore(t)
	ctx := context.Background()
	l := ratelimit.Limit{Burst: 7, Every: time.Hour}
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			r, err := a.TakeBudget(ctx, "k", l)
			if err != nil {
				t.Error(err)
				return
			}
			if r.OK {
				ok.Add(1)
			} else {
				refused.Add(1)
				if r.Wait <= 0 || r.Wait > time.Hour {
					t.Errorf("refused with wait %v", r.Wait)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 7 || refused.Load() != 33 {
		t.Fatalf("40 concurrent attempts on a budget of 7: %d allowed, %d refused", ok.Load(), refused.Load())
	}
	if err := a.GiveBudget(ctx, "k", l); err != nil {
		t.Fatal(err)
	}
	if r, _ := a.TakeBudget(ctx, "k", l); !r.OK || r.Full(l) {
		t.Fatalf("after a give: %+v", r)
	}
	if r, _ := a.TakeBudget(ctx, "k", l); r.OK {
		t.Fatalf("the given attempt was taken twice: %+v", r)
	}
	if err := a.ResetBudget(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if r, _ := a.TakeBudget(ctx, "k", l); !r.OK || !r.Full(l) {
		t.Fatalf("after a reset: %+v", r)
	}
	// Another key is untouched; tokens come back with time.
	one := ratelimit.Limit{Burst: 1, Every: time.Hour}
	if r, _ := a.TakeBudget(ctx, "other", one); !r.OK {
		t.Fatal("another key was refused")
	}
	if r, _ := a.TakeBudget(ctx, "other", one); r.OK {
		t.Fatal("a burst of 1 allowed 2")
	}
	fast := ratelimit.Limit{Burst: 1, Every: 50 * time.Millisecond}
	if r, _ := a.TakeBudget(ctx, "fast", fast); !r.OK {
		t.Fatal("a fresh key was refused")
	}
	time.Sleep(120 * time.Millisecond)
	if r, _ := a.TakeBudget(ctx, "fast", fast); !r.OK {
		t.Fatalf("no token back after 2 intervals: %+v", r)
	}
	if n, err := a.DeleteIdleBudgets(ctx); err != nil || n != 0 {
		t.Fatalf("deleted %d fresh budgets: %v", n, err)
	}
}
