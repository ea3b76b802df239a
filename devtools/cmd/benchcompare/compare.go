package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// A metric is one figure of loadgen's JSON report, found by its path.
type metric struct {
	path   string // dot-separated keys
	name   string
	unit   string
	higher bool // a higher value is better
}

// metrics are the figures compared, those a scenario's report has.
var metrics = []metric{
	{"deliveries_per_second", "deliveries/s", "", true},
	{"cpu.server_us_per_delivery", "server CPU per delivery", "µs", false},
	{"cpu.server_us_per_mutation", "server CPU per mutation", "µs", false},
	{"latency_ms.sent_same.p50_ms", "delivery p50, same instance", "ms", false},
	{"latency_ms.sent_same.p99_ms", "delivery p99, same instance", "ms", false},
	{"latency_ms.sent_cross.p50_ms", "delivery p50, other instance", "ms", false},
	{"latency_ms.sent_cross.p99_ms", "delivery p99, other instance", "ms", false},
	{"latency_ms.commit_same.p99_ms", "commit → delivery p99, same instance", "ms", false},
	{"latency_ms.commit_arrived_same.p99_ms", "commit → in socket p99, same instance", "ms", false},
	{"latency_ms.in_loadgen_socket.p99_ms", "waited in loadgen's socket p99", "ms", false},
	{"latency_ms.commit_cross.p50_ms", "commit → delivery p50, other instance", "ms", false},
	{"latency_ms.commit_cross.p90_ms", "commit → delivery p90, other instance", "ms", false},
	{"latency_ms.commit_cross.p99_ms", "commit → delivery p99, other instance", "ms", false},
	{"latency_ms.resp_cross.p90_ms", "response → delivery p90, other instance", "ms", false},
	{"latency_ms.resp_cross.p99_ms", "response → delivery p99, other instance", "ms", false},
	{"mutations.http_ms.p50_ms", "mutation p50", "ms", false},
	{"mutations.http_ms.p99_ms", "mutation p99", "ms", false},
	{"mutations.per_second", "mutations/s", "", true},
	{"rss.per_connection_bytes", "RSS per idle connection", "B", false},
	{"rss.per_connection_after_gc_bytes", "RSS per idle connection after GC", "B", false},
}

// lookup returns the number at path in a decoded JSON report.
func lookup(rep map[string]any, path string) (float64, bool) {
	var cur any = rep
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		if cur, ok = m[k]; !ok {
			return 0, false
		}
	}
	v, ok := cur.(float64)
	return v, ok && !math.IsNaN(v)
}

// median of the values; NaN for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

type scenarioResult struct {
	name       string
	base, head []map[string]any
}

// row is one metric of one scenario, compared.
type row struct {
	metric
	base, head float64 // medians
	ratio      float64 // head / base
	verdict    string  // better, worse, same (within 5 %)
}

// compare returns the rows of the metrics both builds reported.
func compare(res scenarioResult) []row {
	var rows []row
	for _, m := range metrics {
		var b, h []float64
		for _, rep := range res.base {
			if v, ok := lookup(rep, m.path); ok {
				b = append(b, v)
			}
		}
		for _, rep := range res.head {
			if v, ok := lookup(rep, m.path); ok {
				h = append(h, v)
			}
		}
		if len(b) == 0 || len(h) == 0 {
			continue
		}
		r := row{metric: m, base: median(b), head: median(h)}
		r.ratio = r.head / r.base
		switch better := (r.ratio > 1) == m.higher; {
		case r.base == 0 || math.Abs(r.ratio-1) < 0.05:
			r.verdict = "same"
		case better:
			r.verdict = "better"
		default:
			r.verdict = "worse"
		}
		rows = append(rows, r)
	}
	return rows
}

func printResults(w io.Writer, c config, results []scenarioResult) {
	fmt.Fprintf(w, "Working tree against %s, medians of %d rounds each (alternating), head/base ratio:\n", c.base, c.rounds)
	for _, res := range results {
		fmt.Fprintf(w, "\n%s (1-minute load average at each run's start: base %s; head %s)\n", res.name, loads(res.base), loads(res.head))
		fmt.Fprintf(w, "  %-36s %14s %14s %8s\n", "metric", "base", "head", "ratio")
		for _, r := range compare(res) {
			fmt.Fprintf(w, "  %-36s %14s %14s %7.2f× %s\n", r.name, format(r.base, r.unit), format(r.head, r.unit), r.ratio, r.verdict)
		}
	}
}

func format(v float64, unit string) string {
	s := fmt.Sprintf("%.0f", v)
	if math.Abs(v) < 100 {
		s = fmt.Sprintf("%.2f", v)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

// loads lists the 1-minute load average each run started at: a ratio from
// runs on a busy machine says little.
func loads(reps []map[string]any) string {
	var out []string
	for _, rep := range reps {
		l := "?"
		if m, ok := rep["machine"].(map[string]any); ok {
			if s, ok := m["load_average_start"].(string); ok && s != "" {
				l = strings.Fields(s)[0]
			}
		}
		out = append(out, l)
	}
	return strings.Join(out, ", ")
}
