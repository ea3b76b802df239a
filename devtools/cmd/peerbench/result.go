//go:build linux

package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/corkboard/corkboard/devtools/procstat"
)

// Result is one server at one rate.
type Result struct {
	Server string `json:"server"` // corkboard or centrifugo
	Round  int    `json:"round"`
	// Runs is, for a median of several runs, how many; Exact how many of
	// them had every stream exact.
	Runs    int     `json:"runs,omitempty"`
	Exact   int     `json:"exact_runs,omitempty"`
	Rate    float64 `json:"changes_per_second"`
	Offered float64 `json:"offered_deliveries_per_second"` // Rate × subscribers
	// EventBytes is the size of one change's event as Corkboard encodes it
	// (Centrifugo's publication carries the same bytes as its data).
	EventBytes int `json:"event_bytes,omitempty"`

	// DeliveriesPerSecond is the steady rate: deliveries received from
	// 1 s after the writers started to 1 s before they stopped.
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	Deliveries          int64   `json:"deliveries"`
	Messages            int64   `json:"websocket_messages"`
	// Latency, request sent → delivered, in ms.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	// ClientWaitP99 is the p99 of how long deliveries waited in the
	// client's own sockets before its reader took them (the kernel's
	// arrival times), in ms: the part of the latency that is the client's,
	// not the server's. 0: not known.
	ClientWaitP99 float64 `json:"client_wait_p99_ms,omitempty"`
	// CPUPerDeliveryUS is the server process's CPU (user + system) from
	// the writers' start until the stream settled, per delivery, µs.
	CPUPerDeliveryUS float64 `json:"server_cpu_us_per_delivery"`
	// OtherCores is what the rest of the machine (not the server, the
	// client, nor for Corkboard PostgreSQL) used meanwhile, in cores.
	OtherCores float64 `json:"other_cores"`
	// The writers: changes acknowledged per second, failures, HTTP
	// latency in ms.
	WritesPerSecond float64 `json:"writes_per_second"`
	WriteFailures   int64   `json:"write_failures"`
	WriteP50        float64 `json:"write_p50_ms"`
	WriteP99        float64 `json:"write_p99_ms"`
	// RSSPerConnKiB is the server's RSS growth per idle subscribed
	// connection (before the writers start).
	RSSPerConnKiB float64 `json:"rss_per_idle_conn_kib"`
	SettleSeconds float64 `json:"settle_seconds"`

	Correctness Correctness `json:"correctness"`
	LoadStart   string      `json:"load_average_start"`
	LoadEnd     string      `json:"load_average_end"`
	Err         string      `json:"error,omitempty"` // the run could not be made
}

// Correctness sums the checks of every subscriber's stream; everything but
// Subscribers and Unacked must be 0. For Corkboard they are loadgen's (seq
// gaps, duplicates, reorderings); for Centrifugo each acknowledged
// publication must reach every subscriber exactly once, and all of them in
// the same order (OutOfOrder counts the subscribers whose order differs
// from the first's).
type Correctness struct {
	Subscribers  int      `json:"subscribers"`
	Gaps         int64    `json:"gaps"`
	Duplicates   int64    `json:"duplicates"`
	OutOfOrder   int64    `json:"out_of_order"`
	Incomplete   int64    `json:"incomplete"`
	Disconnected int64    `json:"disconnected"`
	Unexpected   int64    `json:"unexpected"`
	Unacked      int64    `json:"delivered_unacknowledged,omitempty"`
	Examples     []string `json:"examples,omitempty"`
}

// OK reports whether every subscriber got exactly the acknowledged changes.
func (c Correctness) OK() bool {
	return c.Subscribers > 0 && c.Gaps == 0 && c.Duplicates == 0 && c.OutOfOrder == 0 && c.Incomplete == 0 &&
		c.Disconnected == 0 && c.Unexpected == 0
}

// Behind reports whether the server fell behind the offered rate: it
// sustained under 95 % of it, or did not deliver everything.
func (r *Result) Behind() bool {
	if r.Runs > 0 { // a median: by the majority of its runs
		return r.DeliveriesPerSecond < 0.95*r.Offered || 2*r.Exact <= r.Runs
	}
	return r.Err != "" || r.DeliveriesPerSecond < 0.95*r.Offered || r.Correctness.Incomplete > 0
}

// keptUp reports whether the server delivered everything at the offered
// rate with every stream exact (for a median: in most of its runs).
func (r *Result) keptUp() bool {
	if r.Runs > 0 {
		return !r.Behind()
	}
	return !r.Behind() && r.Correctness.OK()
}

// medians summarizes several rounds: per server and rate (in order of
// rate, Corkboard first), the median of each figure over the runs that
// could be made, with how many there were and how many were exact; the
// correctness counts are summed.
func medians(results []*Result) []*Result {
	type key struct {
		rate   float64
		server string
	}
	groups := map[key][]*Result{}
	var keys []key
	for _, r := range results {
		if r.Err != "" {
			continue
		}
		k := key{r.Rate, r.Server}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.rate != b.rate {
			return cmp.Compare(a.rate, b.rate)
		}
		return cmp.Compare(a.server, b.server)
	})
	var out []*Result
	for _, k := range keys {
		g := groups[k]
		med := func(f func(*Result) float64) float64 {
			v := make([]float64, len(g))
			for i, r := range g {
				v[i] = f(r)
			}
			slices.Sort(v)
			if n := len(v); n%2 == 0 {
				return (v[n/2-1] + v[n/2]) / 2
			}
			return v[len(v)/2]
		}
		m := &Result{Server: k.server, Rate: k.rate, Offered: g[0].Offered, EventBytes: g[0].EventBytes, Runs: len(g),
			DeliveriesPerSecond: med(func(r *Result) float64 { return r.DeliveriesPerSecond }),
			P50:                 med(func(r *Result) float64 { return r.P50 }),
			P99:                 med(func(r *Result) float64 { return r.P99 }),
			ClientWaitP99:       med(func(r *Result) float64 { return r.ClientWaitP99 }),
			CPUPerDeliveryUS:    med(func(r *Result) float64 { return r.CPUPerDeliveryUS }),
			OtherCores:          med(func(r *Result) float64 { return r.OtherCores }),
			WritesPerSecond:     med(func(r *Result) float64 { return r.WritesPerSecond }),
			WriteP50:            med(func(r *Result) float64 { return r.WriteP50 }),
			WriteP99:            med(func(r *Result) float64 { return r.WriteP99 }),
			RSSPerConnKiB:       med(func(r *Result) float64 { return r.RSSPerConnKiB }),
		}
		var loads []string
		for _, r := range g {
			if r.Correctness.OK() {
				m.Exact++
			}
			c := &m.Correctness
			c.Subscribers = r.Correctness.Subscribers
			c.Gaps += r.Correctness.Gaps
			c.Duplicates += r.Correctness.Duplicates
			c.OutOfOrder += r.Correctness.OutOfOrder
			c.Incomplete += r.Correctness.Incomplete
			c.Disconnected += r.Correctness.Disconnected
			c.Unexpected += r.Correctness.Unexpected
			loads = append(loads, firstField(r.LoadStart))
		}
		m.LoadStart = strings.Join(loads, ", ")
		out = append(out, m)
	}
	return out
}

// steadyWindow is loadgen's: from 1 s after the writers started to 1 s
// before they stopped (the whole run when that is under 4 s).
func steadyWindow(writeStart, writeEnd int64) (from, to int64) {
	if writeEnd-writeStart < int64(4*time.Second) {
		return writeStart, math.MaxInt64
	}
	return writeStart + int64(time.Second), writeEnd - int64(time.Second)
}

// latency sets P50 and P99 from nanosecond samples (it sorts them).
func (r *Result) latency(ns []int64) {
	if len(ns) == 0 {
		return
	}
	slices.Sort(ns)
	r.P50, r.P99 = quantileMS(ns, 0.5), quantileMS(ns, 0.99)
}

// quantileMS is the q-quantile (nearest rank) of sorted nanoseconds, in ms
// rounded to µs.
func quantileMS(sorted []int64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return math.Round(float64(sorted[i])/1e3) / 1e3
}

// rates sets the delivery and write figures.
func (r *Result) rates(ops []opRecord, steady, steadyFrom, steadyTo, writeStart, writeEnd, last int64) {
	var write []int64
	for _, op := range ops {
		switch {
		case op.status == http.StatusOK:
			write = append(write, op.resp-op.sent)
		case op.sent != 0:
			r.WriteFailures++
		}
	}
	if window := time.Duration(writeEnd - writeStart).Seconds(); window > 0 {
		r.WritesPerSecond = float64(len(write)) / window
	}
	if len(write) > 0 {
		slices.Sort(write)
		r.WriteP50, r.WriteP99 = quantileMS(write, 0.5), quantileMS(write, 0.99)
	}
	switch {
	case steadyTo != math.MaxInt64:
		r.DeliveriesPerSecond = float64(steady) / time.Duration(steadyTo-steadyFrom).Seconds()
	case last > writeStart:
		r.DeliveriesPerSecond = float64(r.Deliveries) / time.Duration(last-writeStart).Seconds()
	}
}

// cpuSample is the CPU time used so far by the server, this process and
// the machine.
type cpuSample struct {
	at          time.Time
	server      time.Duration
	self        time.Duration
	busy, total time.Duration
}

func sampleCPU(pid int) cpuSample {
	s := cpuSample{at: time.Now(), self: procstat.SelfCPU()}
	if user, sys, _, err := procstat.ProcCPU(pid); err == nil {
		s.server = user + sys
	}
	s.busy, s.total, _ = procstat.MachineCPU()
	return s
}

// cpu sets the CPU figures from two samples around the writing.
func (r *Result) cpu(a, b cpuSample) {
	server := (b.server - a.server).Seconds()
	if r.Deliveries > 0 {
		r.CPUPerDeliveryUS = server * 1e6 / float64(r.Deliveries)
	}
	if wall := b.at.Sub(a.at).Seconds(); wall > 0 {
		r.OtherCores = ((b.busy - a.busy).Seconds() - server - (b.self - a.self).Seconds()) / wall
	}
}

// stableRSS waits (at most 10 s) until pid's RSS has not moved by more
// than 256 KiB for a second, and returns it.
func stableRSS(ctx context.Context, pid int) int64 {
	prev, _ := procstat.RSS(pid)
	deadline := time.Now().Add(10 * time.Second)
	for still := 0; still < 4 && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(250 * time.Millisecond)
		cur, _ := procstat.RSS(pid)
		still++
		if d := cur - prev; d > 256<<10 || d < -256<<10 {
			still = 0
		}
		prev = cur
	}
	return prev
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
