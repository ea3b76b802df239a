package main

import (
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"
)

func report(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLookup(t *testing.T) {
	rep := report(t, `{"deliveries_per_second": 1000, "cpu": {"server_us_per_delivery": 4.5},
		"latency_ms": {"sent_same": {"p99_ms": 12}}, "rss": null, "scenario": "fanout"}`)
	for path, want := range map[string]float64{"deliveries_per_second": 1000, "cpu.server_us_per_delivery": 4.5,
		"latency_ms.sent_same.p99_ms": 12} {
		if v, ok := lookup(rep, path); !ok || v != want {
			t.Errorf("%s: %v %v, want %v", path, v, ok, want)
		}
	}
	for _, path := range []string{"rss.per_connection_bytes", "scenario", "cpu", "nope.x", "cpu.server_us_per_delivery.x"} {
		if v, ok := lookup(rep, path); ok {
			t.Errorf("%s: found %v, want nothing", path, v)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

// TestCompare: medians per build, the ratio head/base, and the verdict by
// the metric's direction; metrics one build lacks are left out.
func TestCompare(t *testing.T) {
	res := scenarioResult{name: "fanout",
		base: []map[string]any{
			report(t, `{"deliveries_per_second": 100, "cpu": {"server_us_per_delivery": 10}, "mutations": {"http_ms": {"p99_ms": 50}},
				"machine": {"load_average_start": "0.52 0.40 0.31"}}`),
			report(t, `{"deliveries_per_second": 120, "cpu": {"server_us_per_delivery": 12}, "mutations": {"http_ms": {"p99_ms": 52}}}`),
			report(t, `{"deliveries_per_second": 80, "cpu": {"server_us_per_delivery": 8}}`),
		},
		head: []map[string]any{
			report(t, `{"deliveries_per_second": 200, "cpu": {"server_us_per_delivery": 5}, "mutations": {"http_ms": {"p99_ms": 60}}}`),
			report(t, `{"deliveries_per_second": 210, "cpu": {"server_us_per_delivery": 4}, "mutations": {"http_ms": {"p99_ms": 51}}}`),
			report(t, `{"deliveries_per_second": 190, "cpu": {"server_us_per_delivery": 6}, "rss": {"per_connection_bytes": 9}}`),
		},
	}
	got := map[string]row{}
	for _, r := range compare(res) {
		got[r.path] = r
	}
	check := func(path string, base, head, ratio float64, verdict string) {
		t.Helper()
		r, ok := got[path]
		if !ok {
			t.Fatalf("%s missing", path)
		}
		if r.base != base || r.head != head || math.Abs(r.ratio-ratio) > 1e-9 || r.verdict != verdict {
			t.Errorf("%s: %+v, want base %v head %v ratio %v %s", path, r, base, head, ratio, verdict)
		}
	}
	check("deliveries_per_second", 100, 200, 2, "better")
	check("cpu.server_us_per_delivery", 10, 5, 0.5, "better")
	check("mutations.http_ms.p99_ms", 51, 55.5, 55.5/51, "worse")
	if _, ok := got["rss.per_connection_bytes"]; ok {
		t.Error("a metric only the head reported was compared")
	}
	var out strings.Builder
	printResults(&out, config{base: "main", rounds: 3}, []scenarioResult{res})
	if !strings.Contains(out.String(), "deliveries/s") || !strings.Contains(out.String(), "2.00× better") ||
		!strings.Contains(out.String(), "base 0.52, ?, ?") {
		t.Errorf("printed:\n%s", out.String())
	}
}

func TestParse(t *testing.T) {
	if _, err := parse(nil, io.Discard); err == nil {
		t.Error("no -base accepted")
	}
	if _, err := parse([]string{"-base", "main", "-rounds", "0"}, io.Discard); err == nil {
		t.Error("-rounds 0 accepted")
	}
	c, err := parse([]string{"-base", "main", "-scenarios", "fanout, idle", "-loadgen-flags", "-duration 5s  -subscribers 100"}, io.Discard)
	if err != nil || len(c.scenarios) != 2 || c.scenarios[1] != "idle" || len(c.loadgen) != 4 {
		t.Errorf("%+v %v", c, err)
	}
}
