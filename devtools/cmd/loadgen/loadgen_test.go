//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs a tiny load end to end: PostgreSQL, a 3-node NATS cluster,
// two server processes, 20 subscribers (as three users) and 50 mutations.
// Every subscriber must get every event exactly once, in order. Set
// LOADGEN_SERVER_BIN to use a built server instead of building one.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two servers")
	}
	c := defaultConfig()
	c.Instances, c.Subscribers, c.Boards, c.Users = 2, 20, 1, 3
	c.Writers, c.Rate, c.Mutations, c.Duration = 2, 25, 50, 0
	c.IdleWait, c.Settle, c.MaxDuration = 0, 10*time.Second, 2*time.Minute
	c.ServerBin = os.Getenv("LOADGEN_SERVER_BIN")
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := run(ctx, c, log)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.print(&out)
	t.Log("\n" + out.String())

	if !rep.Correctness.OK() {
		t.Errorf("correctness: %+v", rep.Correctness)
	}
	if rep.Mutations.OK != 50 || rep.Mutations.Failed != 0 {
		t.Errorf("mutations: %d ok, %d failed (%v), want 50 ok", rep.Mutations.OK, rep.Mutations.Failed, rep.Mutations.Failures)
	}
	if rep.Events != 50 {
		t.Errorf("events committed = %d, want 50", rep.Events)
	}
	if rep.Deliveries != 20*50 {
		t.Errorf("deliveries = %d, want %d (every subscriber gets every event)", rep.Deliveries, 20*50)
	}
	for _, k := range []string{"sent_same", "sent_cross", "txn_same", "txn_cross", "commit_same", "commit_cross", "resp_same", "resp_cross"} {
		if l := rep.Latency[k]; l == nil || l.N == 0 {
			t.Errorf("no %s latency", k)
		}
	}
	if rep.RSS == nil || rep.CPU == nil || rep.CPU.ServerSeconds <= 0 {
		t.Errorf("RSS %+v, CPU %+v: want both measured", rep.RSS, rep.CPU)
	}
	if b, err := json.Marshal(rep); err != nil || !json.Valid(b) {
		t.Errorf("report as JSON: %v", err)
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for v := int64(-1000); v <= 100_000; v++ {
		h.add(v * 1000) // -1 ms .. 100 ms in 1 us steps
	}
	for _, q := range []float64{0.001, 0.01, 0.5, 0.9, 0.99, 1} {
		want := float64(-1000+q*101_000) * 1000
		got := h.quantile(q)
		if math.Abs(got-want) > math.Abs(want)/50+2000 {
			t.Errorf("quantile(%g) = %.0f, want %.0f", q, got, want)
		}
	}
	if h.min != -1_000_000 || h.max != 100_000_000 {
		t.Errorf("min, max = %d, %d", h.min, h.max)
	}
	for _, v := range []uint64{0, 1, 63, 64, 127, 128, 1000, 1 << 20, 1<<40 + 12345, math.MaxInt64} {
		b := bucketOf(v)
		if mid := bucketMid(b); math.Abs(mid-float64(v)) > float64(v)/60+1 {
			t.Errorf("bucket of %d is %d, middle %.0f: too far", v, b, mid)
		}
	}
}

func TestPlanSubscribers(t *testing.T) {
	for _, tc := range []struct{ n, instances, boards, perSub, minUsers int }{
		{5000, 1, 1, 1, 1}, {2000, 3, 100, 1, 1}, {300, 2, 4, 0, 5}, {20, 2, 1, 1, 3},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			boardsOf := func(i int) []int {
				if tc.perSub == 0 {
					return []int{0, 1, 2, 3}[:tc.boards]
				}
				return []int{i % tc.boards}
			}
			instanceOf := func(i int) int { return i % tc.instances }
			userOf, watches := planSubscribers(tc.n, tc.minUsers, 20, instanceOf, boardsOf)
			count := map[[2]int]int{}
			for i, u := range userOf {
				count[[2]int{u, instanceOf(i)}]++
				if fmt.Sprint(watches[u]) != fmt.Sprint(boardsOf(i)) {
					t.Fatalf("subscriber %d watches %v as user %d, who is a member of %v", i, boardsOf(i), u, watches[u])
				}
			}
			for k, n := range count {
				if n > 20 {
					t.Errorf("user %d has %d connections on instance %d", k[0], n, k[1])
				}
			}
			if tc.n >= tc.minUsers && len(watches) < tc.minUsers {
				t.Errorf("%d users, want at least %d", len(watches), tc.minUsers)
			}
			t.Logf("%d subscribers: %d users", tc.n, len(watches))
		})
	}
}

func TestConfigPresetsAndLoopback(t *testing.T) {
	c, err := parseConfig([]string{"-scenario", "cross", "-duration", "3s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Instances != 3 || c.Subscribers != 2000 || c.Rate != 1000 || c.Duration != 3*time.Second {
		t.Errorf("cross with -duration 3s: %+v", c)
	}
	for _, args := range [][]string{
		{"-targets", "http://10.0.0.1:8080"}, {"-targets", "http://example.com"}, {"-scenario", "nope"},
		{"-subscribers", "50000"},
	} {
		if _, err := parseConfig(args, io.Discard); err == nil {
			t.Errorf("parseConfig(%q) accepted", args)
		}
	}
	if _, err := parseConfig([]string{"-targets", "http://127.0.0.1:8080,http://localhost:8081"}, io.Discard); err != nil {
		t.Errorf("loopback targets refused: %v", err)
	}
}

func TestRemoveStaleDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for name, pid := range map[string]int{"dead": dead.Process.Pid, "alive": os.Getpid()} {
		d := filepath.Join(tmp, tempPrefix+name)
		if err := os.MkdirAll(filepath.Join(d, "pg"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, pidFile), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleDirs(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := os.Stat(filepath.Join(tmp, tempPrefix+"dead")); !os.IsNotExist(err) {
		t.Errorf("the dead run's directory is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(tmp, tempPrefix+"alive")); err != nil {
		t.Errorf("the live run's directory is gone: %v", err)
	}
}
