package benchmarks

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// result is one run of a benchmark function (one b.N).
type result struct {
	config string // "boards=1/writers=16", "snapshot"
	impl   string // "pgbench", "store", "http"
	procs  int    // GOMAXPROCS (go test -cpu)
	n      int
	ops    float64 // operations per second
	p50    float64 // milliseconds
	p99    float64 // milliseconds
	extra  map[string]float64
}

// resultKey names a benchmark: its results over the rounds are summarized
// together.
type resultKey struct {
	config, impl string
	procs        int
}

var results struct {
	sync.Mutex
	list []result
}

// record keeps r and reports its figures as the benchmark's metrics.
func record(b *testing.B, r result) {
	b.Helper()
	b.ReportMetric(r.ops, "ops/s")
	b.ReportMetric(r.p50, "p50-ms")
	b.ReportMetric(r.p99, "p99-ms")
	for k, v := range r.extra {
		b.ReportMetric(v, k)
	}
	r.n = b.N
	r.procs = runtime.GOMAXPROCS(0)
	results.Lock()
	results.list = append(results.list, r)
	results.Unlock()
}

// finals returns the results of the final run of each round: the testing
// package calls a benchmark with growing b.N until it runs long enough, and
// starts again from b.N = 1 for each -count. A run is final when the next
// run of the same benchmark has no larger b.N, or there is none.
func finals() map[resultKey][]result {
	results.Lock()
	defer results.Unlock()
	byKey := map[resultKey][]result{}
	for _, r := range results.list {
		k := resultKey{r.config, r.impl, r.procs}
		byKey[k] = append(byKey[k], r)
	}
	out := map[resultKey][]result{}
	for k, rs := range byKey {
		for i, r := range rs {
			if i == len(rs)-1 || rs[i+1].n <= r.n {
				out[k] = append(out[k], r)
			}
		}
	}
	return out
}

// percentile returns the p-quantile of sorted durations, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Millisecond)
}

// summarize sorts lat and returns its median and 99th percentile in ms.
func summarize(lat []time.Duration) (p50, p99 float64) {
	slices.Sort(lat)
	return percentile(lat, 0.50), percentile(lat, 0.99)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianOf(rs []result, f func(result) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return median(xs)
}

// printComparison prints, for each mutation configuration, the medians over
// the -count rounds of pgbench, the store and HTTP, and their ratios to
// pgbench; then the snapshot figures.
func printComparison(w io.Writer, e *env) {
	fin := finals()
	if len(fin) == 0 {
		return
	}
	var procs []int
	rounds, mutations := 0, false
	for k, rs := range fin {
		if !slices.Contains(procs, k.procs) {
			procs = append(procs, k.procs)
		}
		rounds = max(rounds, len(rs))
		mutations = mutations || k.config != "snapshot"
	}
	slices.Sort(procs)
	if mutations {
		printMutations(w, e, fin, procs, rounds)
	}
	printSnapshots(w, fin, procs)
	payloadSizes(w, e)
}

func printMutations(w io.Writer, e *env, fin map[resultKey][]result, procs []int, rounds int) {
	fmt.Fprintf(w, "\nCorkboard vs pgbench on the same PostgreSQL, synchronous_commit=on: medians of %d round(s)\n", rounds)
	fmt.Fprintf(w, "%d CPUs, pool %d connections; load average %s at the start, %s at the end\n",
		runtime.NumCPU(), e.pool, e.load, loadAvg())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tGOMAXPROCS\tpath\tops/s\tp50 ms\tp99 ms\tvs pgbench\tPG CPU us/op\tGo CPU us/op\tallocs/op\tload gen CPU us/op\tothers CPU %\t")
	for _, p := range procs {
		for _, cfg := range mutationConfigs {
			name := cfg.name()
			ceiling := func(impl string) float64 {
				rs := fin[resultKey{name, impl, p}]
				if len(rs) == 0 {
					return 0
				}
				return medianOf(rs, func(r result) float64 { return r.ops })
			}
			pg := ceiling("pgbench")
			for _, impl := range []string{"pgbench", "store", "http", "http-idem", "http-floor", "store-move"} {
				rs := fin[resultKey{name, impl, p}]
				if len(rs) == 0 {
					continue
				}
				ops := medianOf(rs, func(r result) float64 { return r.ops })
				vs := ""
				if impl != "pgbench" && impl != "store-move" && pg > 0 { // pgbench runs PATCHes, not moves
					vs = fmt.Sprintf("%.2fx", ops/pg)
				}
				goCPU, allocs := "", ""
				if impl != "pgbench" { // this process idles meanwhile
					goCPU = fmt.Sprintf("%.0f", medianOf(rs, func(r result) float64 { return r.extra["go-cpu-us/op"] }))
					allocs = fmt.Sprintf("%.0f", medianOf(rs, func(r result) float64 { return r.extra["go-allocs/op"] }))
				}
				client := ""
				if impl != "store" && impl != "store-move" { // the store's callers are in this process
					client = fmt.Sprintf("%.0f", medianOf(rs, func(r result) float64 { return r.extra["client-cpu-us/op"] }))
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.2f\t%.2f\t%s\t%.0f\t%s\t%s\t%s\t%.0f\t\n", name, p, impl, ops,
					medianOf(rs, func(r result) float64 { return r.p50 }),
					medianOf(rs, func(r result) float64 { return r.p99 }), vs,
					medianOf(rs, func(r result) float64 { return r.extra["pg-cpu-us/op"] }),
					goCPU, allocs, client,
					medianOf(rs, func(r result) float64 { return r.extra["others-cpu-%"] }))
			}
		}
	}
	tw.Flush()
}

func printSnapshots(w io.Writer, fin map[resultKey][]result, procs []int) {
	header := false
	for _, p := range procs {
		for _, impl := range []string{"store", "marshal", "encode", "export", "http"} {
			rs := fin[resultKey{"snapshot", impl, p}]
			if len(rs) == 0 {
				continue
			}
			if !header {
				fmt.Fprintf(w, "\nSnapshot of a board with %d cards, medians (target: <= 50 ms server-side)\n", snapshotCards)
				header = true
			}
			line := fmt.Sprintf("  GOMAXPROCS %d  %-7s  p50 %.1f ms  p99 %.1f ms", p, impl,
				medianOf(rs, func(r result) float64 { return r.p50 }),
				medianOf(rs, func(r result) float64 { return r.p99 }))
			if impl == "export" {
				line += fmt.Sprintf("  (body %.1f MB)", medianOf(rs, func(r result) float64 { return r.extra["body-MB"] }))
			}
			if impl == "http" {
				line += fmt.Sprintf("  (server-side p50 %.1f ms, p99 %.1f ms; body %.1f MB)",
					medianOf(rs, func(r result) float64 { return r.extra["server-p50-ms"] }),
					medianOf(rs, func(r result) float64 { return r.extra["server-p99-ms"] }),
					medianOf(rs, func(r result) float64 { return r.extra["body-MB"] }))
			}
			line += fmt.Sprintf("  [others used %.0f%% of the CPUs]", medianOf(rs, func(r result) float64 { return r.extra["others-cpu-%"] }))
			fmt.Fprintln(w, line)
		}
	}
}

// payloadSizes prints the mean size of the card.updated events each side
// wrote, to show that pgbench's payload stands for the store's.
func payloadSizes(w io.Writer, e *env) {
	if e.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := e.store.Pool().Query(ctx, `
		SELECT CASE WHEN op_id LIKE 'pgbench%' THEN 'pgbench' ELSE 'corkboard' END, count(*),
			avg(octet_length(payload::text))::int
		FROM events WHERE kind = 'card.updated' GROUP BY 1 ORDER BY 1`)
	if err != nil {
		fmt.Fprintf(w, "event payload sizes: %v\n", err)
		return
	}
	defer rows.Close()
	line := ""
	for rows.Next() {
		var who string
		var n, size int64
		if err := rows.Scan(&who, &n, &size); err != nil {
			fmt.Fprintf(w, "event payload sizes: %v\n", err)
			return
		}
		line += fmt.Sprintf("  %s %d (mean payload %d bytes)", who, n, size)
	}
	if line != "" {
		fmt.Fprintf(w, "\ncard.updated events written:%s\n", line)
	}
}
