package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// A fresh key gets Burst attempts at once, then none until a token refills,
// with the wait until the next one.
func TestBurst(t *testing.T) {
	th := &Throttle{Burst: 5, Every: time.Second}
	for i := range 5 {
		if ok, wait := th.Allow("k", t0); !ok || wait != 0 {
			t.Fatalf("attempt %d of the burst: %v, %v", i+1, ok, wait)
		}
	}
	ok, wait := th.Allow("k", t0)
	if ok || wait != time.Second {
		t.Fatalf("attempt past the burst: %v, wait %v; want refused, wait 1s", ok, wait)
	}
	// Refused attempts take nothing: the wait shrinks with time only.
	if ok, wait := th.Allow("k", t0.Add(400*time.Millisecond)); ok || wait != 600*time.Millisecond {
		t.Fatalf("0.4s later: %v, wait %v; want refused, wait 600ms", ok, wait)
	}
	// Another key has its own bucket.
	if ok, _ := th.Allow("other", t0); !ok {
		t.Fatal("another key was refused")
	}
}

// Tokens come back at one per Every, up to Burst and no more.
func TestRefill(t *testing.T) {
	th := &Throttle{Burst: 3, Every: 100 * time.Millisecond}
	now := t0
	for range 3 {
		th.Allow("k", now)
	}
	now = now.Add(100 * time.Millisecond)
	if ok, _ := th.Allow("k", now); !ok {
		t.Fatal("one token after Every: refused")
	}
	if ok, _ := th.Allow("k", now); ok {
		t.Fatal("a second token after one Every")
	}
	// Steady rate: one every Every, for a long time.
	for i := range 50 {
		now = now.Add(100 * time.Millisecond)
		if ok, _ := th.Allow("k", now); !ok {
			t.Fatalf("steady attempt %d refused", i)
		}
	}
	// A long pause refills to Burst, not beyond.
	now = now.Add(time.Hour)
	n := 0
	for {
		if ok, _ := th.Allow("k", now); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("after an hour %d attempts at once, want Burst 3", n)
	}
	// Time going backwards (a clock step) refills nothing.
	if ok, _ := th.Allow("k", now.Add(-time.Minute)); ok {
		t.Fatal("an earlier time gave a token")
	}
}

// Buckets idle for longer than a full refill are swept, so the map does not
// grow with every key ever seen; a swept key starts full again.
func TestSweep(t *testing.T) {
	th := &Throttle{Burst: 2, Every: time.Second} // full after 2s
	for i := range 1000 {
		th.Allow(fmt.Sprint("ip", i), t0)
	}
	if n := len(th.buckets); n != 1000 {
		t.Fatalf("%d buckets, want 1000", n)
	}
	th.Allow("fresh", t0.Add(1500*time.Millisecond))
	if n := len(th.buckets); n != 1001 {
		t.Fatalf("swept before the buckets were full: %d left", n)
	}
	th.Allow("ip0", t0.Add(1500*time.Millisecond)) // ip0 is in use
	th.Allow("fresh", t0.Add(3*time.Second))
	// Only ip1..ip999 were idle for over 2s.
	if n := len(th.buckets); n != 2 {
		t.Fatalf("%d buckets after the sweep, want 2 (ip0 and fresh)", n)
	}
	if _, ok := th.buckets["ip0"]; !ok {
		t.Fatal("a bucket in use was swept")
	}
	// Sweeping is not done on every call: right after a sweep new idle
	// buckets stay until the next full period.
	for i := range 10 {
		th.Allow(fmt.Sprint("late", i), t0.Add(3*time.Second))
	}
	th.Allow("x", t0.Add(4*time.Second))
	if n := len(th.buckets); n != 13 {
		t.Fatalf("%d buckets, want 13 (no sweep within a period)", n)
	}
	// An emptied key that was swept comes back full.
	th2 := &Throttle{Burst: 1, Every: time.Second}
	th2.Allow("k", t0)
	if ok, _ := th2.Allow("k", t0); ok {
		t.Fatal("over the burst")
	}
	if ok, _ := th2.Allow("k", t0.Add(10*time.Second)); !ok {
		t.Fatal("a swept key was refused")
	}
}

// Concurrent attempts on one key take exactly Burst tokens.
func TestConcurrent(t *testing.T) {
	th := &Throttle{Burst: 100, Every: time.Hour}
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if ok, _ := th.Allow("k", t0); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("%d of 400 concurrent attempts allowed, want 100", allowed)
	}
}
