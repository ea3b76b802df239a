package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/ops"
)

type fakeBus struct{ up atomic.Bool }

func (b *fakeBus) Connected() bool { return b.up.Load() }

type countingHub struct{ checks atomic.Int64 }

func (h *countingHub) CheckHeads() { h.checks.Add(1) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatchBus: while the bus is down, heads are checked on every tick, a
// warning says the instance is degraded and corkboard_degraded is 1; once
// it is back, an info line says so, the checks stop and the gauge is 0.
func TestWatchBus(t *testing.T) {
	bus, h, m := &fakeBus{}, &countingHub{}, ops.NewMetrics()
	bus.up.Store(true)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); watchBus(ctx, bus, h, 5*time.Millisecond, m, log) }()
	defer func() { cancel(); <-done }()
	gauge := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if strings.HasPrefix(line, `corkboard_degraded{dependency="nats"}`) {
				return strings.Fields(line)[1]
			}
		}
		return ""
	}

	time.Sleep(50 * time.Millisecond)
	if n := h.checks.Load(); n != 0 {
		t.Errorf("%d head checks while the bus is up", n)
	}
	bus.up.Store(false)
	waitFor(t, 5*time.Second, "head checks while the bus is down", func() bool { return h.checks.Load() >= 5 })
	if !strings.Contains(logs.String(), "nats down: degraded") || gauge() != "1" {
		t.Errorf("bus down: gauge %q, logs %s", gauge(), logs.String())
	}
	bus.up.Store(true)
	waitFor(t, 5*time.Second, "the recovery logged", func() bool { return strings.Contains(logs.String(), "nats back") })
	n := h.checks.Load()
	time.Sleep(50 * time.Millisecond)
	if h.checks.Load() > n+1 || gauge() != "0" {
		t.Errorf("bus back: %d more head checks, gauge %q", h.checks.Load()-n, gauge())
	}
}
