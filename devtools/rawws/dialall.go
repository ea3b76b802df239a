//go:build linux

package rawws

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DialAll calls dial for i = 0 … n-1 with at most workers calls in flight,
// each under ctx with a 10 s timeout, and starts no more once one has
// failed. It returns the first failure as "subscriber i: err". dial keeps
// what it opened (subscriber i in slot i of a slice, say); the caller may
// read it once DialAll has returned, and closes it, on error too.
func DialAll(ctx context.Context, n, workers int, dial func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					return
				}
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := dial(dctx, i)
				cancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("subscriber %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
