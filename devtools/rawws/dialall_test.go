//go:build linux

package rawws

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestDialAll(t *testing.T) {
	const n, workers = 200, 4
	var calls [n]atomic.Int32
	var inFlight, most atomic.Int32
	err := DialAll(context.Background(), n, workers, func(ctx context.Context, i int) error {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
		}
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 10*time.Second {
			t.Errorf("dial %d: deadline %v (set: %v), want at most 10 s away", i, dl, ok)
		}
		calls[i].Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range calls {
		if c := calls[i].Load(); c != 1 {
			t.Errorf("dial %d called %d times", i, c)
		}
	}
	if m := most.Load(); m > workers {
		t.Errorf("%d dials in flight at once, want at most %d", m, workers)
	}

	// One worker: nothing is dialed after the first failure.
	errRefused := errors.New("refused")
	var last atomic.Int64
	err = DialAll(context.Background(), 10, 1, func(ctx context.Context, i int) error {
		last.Store(int64(i))
		if i >= 3 {
			return errRefused
		}
		return nil
	})
	if !errors.Is(err, errRefused) || err.Error() != "subscriber 3: refused" {
		t.Fatalf("DialAll = %v, want subscriber 3: refused", err)
	}
	if l := last.Load(); l != 3 {
		t.Errorf("dialed up to %d after the failure at 3", l)
	}
}
