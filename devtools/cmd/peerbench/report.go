//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// printTable writes the results as Markdown tables: every run, then per
// rate the ratios Corkboard / Centrifugo, then the highest sustained rate
// of each.
func printTable(w io.Writer, c Config, results []*Result) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("%d subscribers of one board / channel, %d writers, %s of writing per run; latency from request sent; Centrifugo %s", c.Subscribers, c.Writers, c.Duration, Version)
	if len(results) > 0 && results[0].EventBytes > 0 {
		p("each change: a %d-byte Corkboard card event (Centrifugo: the same bytes as the publication's data)", results[0].EventBytes)
	}
	p("")
	runsTable(p, results, c.Rounds > 1)
	summary := results
	if c.Rounds > 1 {
		summary = medians(results)
		p("")
		p("Medians over the rounds (streams: runs with every stream exact, of the runs made; load averages at each run's start):")
		p("")
		runsTable(p, summary, false)
	}
	pairs := pairUp(summary)
	if len(pairs) > 0 {
		p("")
		p("| changes/s | deliveries/s Corkboard / Centrifugo | p99 | server CPU per delivery | writer p99 |")
		p("| --- | ---: | ---: | ---: | ---: |")
		for _, pr := range pairs {
			k, f := pr[0], pr[1]
			p("| %g | %s | %s | %s | %s |", k.Rate, ratio(k.DeliveriesPerSecond, f.DeliveriesPerSecond),
				ratio(k.P99, f.P99), ratio(k.CPUPerDeliveryUS, f.CPUPerDeliveryUS), ratio(k.WriteP99, f.WriteP99))
		}
	}
	p("")
	for _, s := range []string{"corkboard", "centrifugo"} {
		if best := bestSustained(summary, s); best != nil {
			p("%s: highest rate kept up with: %g changes/s, %s deliveries/s at p99 %s ms", s, best.Rate,
				thousands(best.DeliveriesPerSecond), ms(best.P99))
		} else if hasServer(summary, s) {
			p("%s: kept up with none of the rates", s)
		}
	}
	if k, f := bestSustained(summary, "corkboard"), bestSustained(summary, "centrifugo"); k != nil && f != nil {
		p("goal (≥ 1.2× Centrifugo's sustained deliveries, at a lower p99 at each rate both kept up with): %s",
			goal(k, f, pairs))
	}
}

// runsTable writes one row per result.
func runsTable(p func(string, ...any), results []*Result, rounds bool) {
	p("| changes/s (offered deliveries/s) | server | deliveries/s | p50 / p99 ms | server CPU µs/delivery | writer p50 / p99 ms | RSS KiB / idle conn | streams | load avg at start | other cores | client's wait p99 ms |")
	p("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |")
	for _, r := range results {
		rate := rateCell(r)
		if rounds {
			rate += fmt.Sprintf(" #%d", r.Round)
		}
		if r.Err != "" {
			p("| %s | %s | run failed: %s | | | | | | %s | | |", rate, r.Server, oneLine(r.Err, 120), firstField(r.LoadStart))
			continue
		}
		load := firstField(r.LoadStart)
		if r.Runs > 0 {
			load = r.LoadStart
		}
		wait := "–"
		if r.ClientWaitP99 > 0 {
			wait = ms(r.ClientWaitP99)
		}
		p("| %s | %s | %s%s | %s / %s | %.1f | %s / %s | %.1f | %s | %s | %.2f | %s |", rate, r.Server,
			thousands(r.DeliveriesPerSecond), behindMark(r), ms(r.P50), ms(r.P99), r.CPUPerDeliveryUS,
			ms(r.WriteP50), ms(r.WriteP99), r.RSSPerConnKiB, streams(r), load, r.OtherCores, wait)
	}
}

// goal judges the goal: Corkboard's highest sustained deliveries/s
// at least 1.2× Centrifugo's, and its p99 lower at every rate both kept up
// with.
func goal(k, f *Result, pairs [][2]*Result) string {
	met := k.DeliveriesPerSecond >= 1.2*f.DeliveriesPerSecond
	var rates []string
	for _, pr := range pairs {
		if pr[0].Behind() || pr[1].Behind() {
			continue
		}
		rates = append(rates, fmt.Sprintf("%g: %s / %s ms", pr[0].Rate, ms(pr[0].P99), ms(pr[1].P99)))
		if pr[0].P99 >= pr[1].P99 {
			met = false
		}
	}
	verdict := "missed"
	if met {
		verdict = "met"
	}
	return fmt.Sprintf("%s (%s the sustained deliveries; p99 Corkboard / Centrifugo at %s)", verdict,
		ratio(k.DeliveriesPerSecond, f.DeliveriesPerSecond), strings.Join(rates, ", "))
}

// pairUp returns, per rate, the Corkboard and Centrifugo results that both
// ran.
func pairUp(results []*Result) [][2]*Result {
	var out [][2]*Result
	for _, k := range results {
		if k.Server != "corkboard" || k.Err != "" {
			continue
		}
		for _, f := range results {
			if f.Server == "centrifugo" && f.Rate == k.Rate && f.Err == "" {
				out = append(out, [2]*Result{k, f})
				break
			}
		}
	}
	return out
}

// bestSustained is the server's result at the highest rate it kept up
// with (with every stream exact), or nil.
func bestSustained(results []*Result, server string) *Result {
	var best *Result
	for _, r := range results {
		if r.Server == server && r.keptUp() && (best == nil || r.Rate > best.Rate) {
			best = r
		}
	}
	return best
}

func hasServer(results []*Result, server string) bool {
	for _, r := range results {
		if r.Server == server {
			return true
		}
	}
	return false
}

func rateCell(r *Result) string {
	return fmt.Sprintf("%g (%s)", r.Rate, thousands(r.Offered))
}

func behindMark(r *Result) string {
	if r.Behind() {
		return " (behind)"
	}
	return ""
}

func streams(r *Result) string {
	if r.Runs > 0 {
		return fmt.Sprintf("%d/%d exact", r.Exact, r.Runs)
	}
	c := r.Correctness
	if c.OK() {
		return "exact"
	}
	var parts []string
	for _, f := range []struct {
		n    int64
		name string
	}{{c.Gaps, "missing"}, {c.Duplicates, "duplicates"}, {c.OutOfOrder, "out of order"}, {c.Incomplete, "incomplete"},
		{c.Disconnected, "disconnected"}, {c.Unexpected, "unexpected"}} {
		if f.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", f.n, f.name))
		}
	}
	if len(parts) == 0 {
		return "no subscribers"
	}
	return strings.Join(parts, ", ")
}

// ratio is a / b as "1.23×", or "–" when either is missing.
func ratio(a, b float64) string {
	if a <= 0 || b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// ms formats milliseconds with three significant figures or so.
func ms(v float64) string {
	switch {
	case v == 0 || math.IsNaN(v):
		return "–"
	case v >= 100:
		return thousands(v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// thousands formats v rounded, with commas: 123,456.
func thousands(v float64) string {
	n := int64(math.Round(v))
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ReplaceAll(s, "|", "/")
}
