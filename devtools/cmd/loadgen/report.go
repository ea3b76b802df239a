//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Report is the outcome of a run; -json prints it as is.
type Report struct {
	Scenario string      `json:"scenario"`
	Config   Config      `json:"config"`
	Machine  MachineInfo `json:"machine"`

	Subscribe struct {
		OpenSeconds float64 `json:"open_seconds"`
		OpenFiles   int     `json:"loadgen_open_files"`
		// QuietSeconds is how long the subscribers' streams took to fall
		// quiet after the last subscription was confirmed and the RSS read
		// (presence frames, mostly), before the writers started; QuietTimedOut:
		// they had not within quietTimeout, and the writers started anyway.
		QuietSeconds  float64 `json:"quiet_seconds"`
		QuietTimedOut bool    `json:"quiet_timed_out,omitempty"`
		// PresenceBytes: the presence frames the subscribers had received
		// when the writers started (every viewer list sent while they
		// joined).
		PresenceBytes int64 `json:"presence_bytes"`
	} `json:"subscribe"`

	Mutations  MutationReport `json:"mutations"`
	Events     int64          `json:"events_committed"`
	Deliveries int64          `json:"deliveries"`
	Messages   int64          `json:"websocket_messages"`
	// EventMessages are the messages that carried events; the server
	// batches what is queued for a connection into one message.
	EventMessages int64       `json:"websocket_messages_with_events"`
	Correctness   Correctness `json:"correctness"`

	FramesPerMessage float64 `json:"events_per_message"` // per message with events
	// DeliveriesPerSecond is the steady rate: deliveries received from 1 s
	// after the writers started to 1 s before they stopped, per second
	// (over the whole run when it is under 4 s). Overall is every delivery
	// over the time from the first request to the last delivery.
	DeliveriesPerSecond        float64 `json:"deliveries_per_second"`
	DeliveriesPerSecondOverall float64 `json:"deliveries_per_second_overall"`
	DeliveryWindowSeconds      float64 `json:"delivery_window_seconds"`
	SettleSeconds              float64 `json:"settle_seconds"`

	// Latency by kind: sent_*, txn_*, commit_*, resp_* (request sent, the
	// database transaction's now(), its commit timestamp, response
	// received → delivered), *_same (subscriber on the instance that took
	// the write) and *_cross. commit_* needs track_commit_timestamp.
	// commit_arrived_* end when the delivery had arrived in loadgen's
	// socket (the kernel's arrival time of the last bytes of the read that
	// completed it: an upper bound) instead of when loadgen read it, and
	// in_loadgen_socket is the difference: how long deliveries waited for
	// loadgen's own reader, which a server cannot be blamed for.
	Latency map[string]*latency `json:"latency_ms"`
	CPU     *CPUReport          `json:"cpu,omitempty"`
	RSS     *RSSReport          `json:"rss,omitempty"`
	Targets []Target            `json:"targets"`
}

// MachineInfo describes where the run happened.
type MachineInfo struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	LoadStart  string `json:"load_average_start"`
	LoadEnd    string `json:"load_average_end"`
	Note       string `json:"note"`
}

// MutationReport is what the writers achieved.
type MutationReport struct {
	OK            int64          `json:"ok"`
	Failed        int64          `json:"failed"`
	Failures      map[string]int `json:"failures,omitempty"`
	Target        float64        `json:"target_per_second"`
	PerSecond     float64        `json:"per_second"`
	WindowSeconds float64        `json:"window_seconds"`
	HTTP          *latency       `json:"http_ms,omitempty"`
}

// Correctness sums the checks of every subscriber's stream; everything but
// Subscribers must be 0.
type Correctness struct {
	Subscribers       int      `json:"subscribers"`
	Gaps              int64    `json:"gaps"`                // seqs in (subscribed, head] never received
	Duplicates        int64    `json:"duplicates"`          // seqs received twice, or at/before subscribed
	OutOfOrder        int64    `json:"out_of_order"`        // events not following the previous one
	Incomplete        int64    `json:"incomplete"`          // subscribers missing any event
	BeyondHead        int64    `json:"beyond_head"`         // events past the board's head
	Mismatched        int64    `json:"mismatched"`          // a seq carrying different operations for different subscribers
	AckedNotDelivered int64    `json:"acked_not_delivered"` // 200 OK mutations no subscriber got
	LateSubscriptions int64    `json:"late_subscriptions"`  // subscribed at another seq than the seeded head
	Resyncs           int64    `json:"resyncs"`
	ErrorFrames       int64    `json:"error_frames"`
	Disconnected      int64    `json:"disconnected"`
	Unexpected        int64    `json:"unexpected_frames"`
	Examples          []string `json:"examples,omitempty"`
}

// OK reports whether every subscriber got exactly its committed range.
func (c Correctness) OK() bool {
	return c.Gaps == 0 && c.Duplicates == 0 && c.OutOfOrder == 0 && c.Incomplete == 0 && c.BeyondHead == 0 &&
		c.Mismatched == 0 && c.AckedNotDelivered == 0 && c.Resyncs == 0 && c.ErrorFrames == 0 &&
		c.Disconnected == 0 && c.Unexpected == 0
}

// CPUReport is CPU time over the window from the writers' start until the
// stream settled.
type CPUReport struct {
	WindowSeconds        float64   `json:"window_seconds"`
	ServerSeconds        float64   `json:"server_seconds"`
	ServerSystemSeconds  float64   `json:"server_system_seconds"` // of ServerSeconds, in the kernel
	PerInstanceSeconds   []float64 `json:"server_seconds_per_instance,omitempty"`
	ServerUSPerDelivery  float64   `json:"server_us_per_delivery"`
	ServerUSPerMutation  float64   `json:"server_us_per_mutation"`
	LoadgenSeconds       float64   `json:"loadgen_seconds"` // with the in-process NATS servers
	LoadgenUSPerDelivery float64   `json:"loadgen_us_per_delivery"`
	PostgresSeconds      float64   `json:"postgres_seconds"`
	OtherSeconds         float64   `json:"other_seconds"` // the rest of the machine
	MachineBusySeconds   float64   `json:"machine_busy_seconds"`
	MachineBusyFraction  float64   `json:"machine_busy_fraction"`
}

// RSSReport is the servers' RSS before and after the subscribers connected.
type RSSReport struct {
	BeforeBytes  int64   `json:"before_bytes"`
	AfterBytes   int64   `json:"after_bytes"`
	PerInstance  []int64 `json:"growth_bytes_per_instance"`
	PerConnBytes float64 `json:"per_connection_bytes"`
	// After the servers collected garbage and returned it (admin endpoint
	// needed): the connections' live cost.
	AfterGCBytes        int64   `json:"after_gc_bytes,omitempty"`
	PerConnAfterGCBytes float64 `json:"per_connection_after_gc_bytes,omitempty"`
}

// Target is one of the targets, judged on this run.
type Target struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Limit  string  `json:"limit"`
	Result string  `json:"result"` // met, missed, or undetermined
	Note   string  `json:"note,omitempty"`
}

func (r *Report) target(name string, value float64, limit string, met bool, note string) {
	res := "missed"
	if met {
		res = "met"
	}
	r.Targets = append(r.Targets, Target{Name: name, Value: value, Limit: limit, Result: res, Note: note})
}

// evaluate judges the targets of the run's scenario.
func (r *Report) evaluate(c Config) {
	cr := r.Correctness
	if r.Subscribe.OpenFiles > 0 || cr.Subscribers > 0 {
		r.target("gaps+duplicates+out-of-order+incomplete", float64(cr.Gaps+cr.Duplicates+cr.OutOfOrder+cr.Incomplete),
			"= 0", cr.OK(), "")
	}
	switch c.Scenario {
	case "fanout":
		r.target("deliveries/s", r.DeliveriesPerSecond, ">= 150000", r.DeliveriesPerSecond >= 150000, "")
		r.commitTarget("p99 commit -> delivered (ms)", "same", 100)
		if r.CPU != nil && r.CPU.ServerSeconds > 0 {
			r.target("server CPU per delivery (us)", r.CPU.ServerUSPerDelivery, "<= 4", r.CPU.ServerUSPerDelivery <= 4,
				"includes the HTTP writes")
		}
	case "mutation":
		if m := r.Mutations.HTTP; m != nil {
			r.target("HTTP mutation p99 during fan-out (ms)", m.P99, "<= 50", m.P99 <= 50,
				fmt.Sprintf("p50 %.2f ms, at %.0f deliveries/s", m.P50, r.DeliveriesPerSecond))
		}
		r.commitTarget("p99 commit -> delivered (ms)", "same", 100)
	case "idle":
		if r.RSS != nil {
			r.target("server RSS per idle subscribed connection (bytes)", math.Round(r.RSS.PerConnBytes),
				"<= 20000", r.RSS.PerConnBytes <= 20000, "")
		}
	case "cross":
		r.commitTarget("p99 commit -> delivered on another instance (ms)", "cross", 10)
		r.target("mutations/s", r.Mutations.PerSecond, ">= 1000 (offered)", r.Mutations.PerSecond >= 0.97*c.Rate,
			"achieved rate within 3% of the offered 1,000/s")
	}
}

// commitTarget judges a commit -> delivered p99 target for the subscribers
// on the same or the other instances (which: "same" or "cross"). The commit
// lies after the transaction's now() and before the response; its commit
// timestamp, when the database tracks them, is taken as COMMIT begins
// (before the WAL flush). So commit timestamp -> delivered (or, without it,
// txn -> delivered) bounds the figure from above, response -> delivered from
// below.
func (r *Report) commitTarget(name, which string, limit float64) {
	upper, resp := r.Latency["commit_"+which], r.Latency["resp_"+which]
	from := "commit timestamp"
	if upper == nil {
		upper, from = r.Latency["txn_"+which], "txn"
	}
	if upper == nil || resp == nil {
		return
	}
	t := Target{Name: name, Value: upper.P99, Limit: fmt.Sprintf("<= %g", limit),
		Note: fmt.Sprintf("between response->delivered p99 %.2f and %s->delivered p99 %.2f", resp.P99, from, upper.P99)}
	if in := r.Latency["in_loadgen_socket"]; in != nil {
		t.Note += fmt.Sprintf("; deliveries waited in loadgen's own sockets p50 %.2f, p99 %.2f", in.P50, in.P99)
	}
	switch {
	case upper.P99 <= limit:
		t.Result = "met"
	case resp.P99 > limit:
		t.Result, t.Value = "missed", resp.P99
	default:
		t.Result = "undetermined"
	}
	r.Targets = append(r.Targets, t)
}

// print writes the report as a compact table.
func (r *Report) print(w io.Writer) {
	c := r.Config
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	name := r.Scenario
	if name == "" {
		name = "custom"
	}
	topo := fmt.Sprintf("%d instance(s) started by loadgen", c.Instances)
	if len(c.Targets) > 0 {
		topo = "targets " + strings.Join(c.Targets, ",")
	}
	p("scenario %s: %s; %d subscribers on %d board(s) (%s each); %d writers at %.0f/s for %s",
		name, topo, c.Subscribers, c.Boards, boardsEach(c), c.Writers, c.Rate, c.Duration)
	p("machine: %d CPUs, GOMAXPROCS %d, %s; load average %s at start, %s at end; %s",
		r.Machine.CPUs, r.Machine.GOMAXPROCS, r.Machine.GoVersion, r.Machine.LoadStart, r.Machine.LoadEnd, r.Machine.Note)
	p("")
	p("%-24s %s", "subscribers opened", fmt.Sprintf("%d in %.1f s (loadgen holds %d files)", c.Subscribers, r.Subscribe.OpenSeconds, r.Subscribe.OpenFiles))
	if c.Writers > 0 {
		line := fmt.Sprintf("%.1f s before the writers started", r.Subscribe.QuietSeconds)
		if r.Subscribe.QuietTimedOut {
			line = fmt.Sprintf("not within %.0f s: the writers started into a stream still busy", r.Subscribe.QuietSeconds)
		}
		line += fmt.Sprintf(" (presence received by then: %.1f MB)", float64(r.Subscribe.PresenceBytes)/1e6)
		p("%-24s %s", "streams quiet", line)
	}
	if r.RSS != nil {
		line := fmt.Sprintf("%.1f KiB per connection (%+.1f MiB over %d connections; %.1f MiB -> %.1f MiB)",
			r.RSS.PerConnBytes/1024, float64(r.RSS.AfterBytes-r.RSS.BeforeBytes)/(1<<20), c.Subscribers,
			float64(r.RSS.BeforeBytes)/(1<<20), float64(r.RSS.AfterBytes)/(1<<20))
		if r.RSS.AfterGCBytes > 0 {
			line += fmt.Sprintf("; %.1f KiB after a GC", r.RSS.PerConnAfterGCBytes/1024)
		}
		p("%-24s %s", "server RSS idle", line)
	}
	if c.Writers > 0 {
		m := r.Mutations
		line := fmt.Sprintf("%d ok, %d failed, %.1f/s achieved of %.0f/s over %.1f s", m.OK, m.Failed, m.PerSecond, m.Target, m.WindowSeconds)
		if m.HTTP != nil {
			line += fmt.Sprintf("; HTTP p50 %.2f ms, p99 %.2f ms, max %.1f ms", m.HTTP.P50, m.HTTP.P99, m.HTTP.Max)
		}
		p("%-24s %s", "mutations", line)
		for _, k := range sortedKeys(m.Failures) {
			p("%-24s   %d x %s", "", m.Failures[k], k)
		}
		p("%-24s %.0f/s steady; %d events, %d deliveries in %.2f s (%.0f/s overall); %.2f events per WebSocket message; settled %.2f s after the last write",
			"deliveries", r.DeliveriesPerSecond, r.Events, r.Deliveries, r.DeliveryWindowSeconds, r.DeliveriesPerSecondOverall,
			r.FramesPerMessage, r.SettleSeconds)
	}
	cr := r.Correctness
	verdict := "OK"
	if !cr.OK() {
		verdict = "FAILED"
	}
	p("%-24s %s: gaps %d, duplicates %d, out-of-order %d, incomplete subscribers %d/%d, beyond head %d, mismatched %d, acked not delivered %d, resyncs %d, errors %d, disconnected %d, unexpected %d",
		"correctness", verdict, cr.Gaps, cr.Duplicates, cr.OutOfOrder, cr.Incomplete, cr.Subscribers, cr.BeyondHead, cr.Mismatched,
		cr.AckedNotDelivered, cr.Resyncs, cr.ErrorFrames, cr.Disconnected, cr.Unexpected)
	for _, e := range cr.Examples {
		p("%-24s   %s", "", e)
	}
	if len(r.Latency) > 0 {
		p("")
		p("%-34s %10s %9s %9s %9s %9s %9s", "latency -> delivered (ms)", "n", "p50", "p90", "p99", "p99.9", "max")
		for _, k := range []struct{ key, label string }{
			{"sent_same", "request sent, same instance"}, {"sent_cross", "request sent, other instance"},
			{"txn_same", "db txn now(), same instance"}, {"txn_cross", "db txn now(), other instance"},
			{"commit_same", "db commit, same instance"}, {"commit_cross", "db commit, other instance"},
			{"resp_same", "response received, same instance"}, {"resp_cross", "response received, other inst."},
			{"commit_arrived_same", "db commit -> in socket, same inst."}, {"commit_arrived_cross", "db commit -> in socket, other inst."},
			{"in_loadgen_socket", "waited in loadgen's socket"},
		} {
			if l := r.Latency[k.key]; l != nil {
				p("%-34s %10d %9.2f %9.2f %9.2f %9.2f %9.1f", k.label, l.N, l.P50, l.P90, l.P99, l.P999, l.Max)
			}
		}
	}
	if cpu := r.CPU; cpu != nil {
		p("")
		per := ""
		if len(cpu.PerInstanceSeconds) > 1 {
			var parts []string
			for _, s := range cpu.PerInstanceSeconds {
				parts = append(parts, fmt.Sprintf("%.2f", s))
			}
			per = " [" + strings.Join(parts, " + ") + "]"
		}
		p("%-24s %.2f s%s over %.1f s = %.2f cores (%.0f%% in the kernel); %.2f us per delivery, %.0f us per mutation",
			"server CPU", cpu.ServerSeconds, per, cpu.WindowSeconds, cpu.ServerSeconds/cpu.WindowSeconds,
			100*cpu.ServerSystemSeconds/max(cpu.ServerSeconds, 1e-9), cpu.ServerUSPerDelivery, cpu.ServerUSPerMutation)
		p("%-24s loadgen+NATS %.2f cores (%.2f us per delivery), PostgreSQL %.2f cores, other processes %.2f cores; machine %.0f%% busy",
			"rest of the machine", cpu.LoadgenSeconds/cpu.WindowSeconds, cpu.LoadgenUSPerDelivery,
			cpu.PostgresSeconds/cpu.WindowSeconds, cpu.OtherSeconds/cpu.WindowSeconds, 100*cpu.MachineBusyFraction)
		if cpu.OtherSeconds/cpu.WindowSeconds > 0.2 {
			p("%-24s other processes took %.0f%% of a core during the run: the figures are pessimistic", "WARNING",
				100*cpu.OtherSeconds/cpu.WindowSeconds)
		}
	}
	if len(r.Targets) > 0 {
		p("")
		p("%-52s %12s  %-18s %s", "target", "value", "limit", "result")
		for _, t := range r.Targets {
			p("%-52s %12.2f  %-18s %s%s", t.Name, t.Value, t.Limit, strings.ToUpper(t.Result), noteOf(t.Note))
		}
	}
}

func noteOf(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

func boardsEach(c Config) string {
	if c.BoardsPerSub == 0 || c.BoardsPerSub == c.Boards {
		return "all"
	}
	return fmt.Sprint(c.BoardsPerSub)
}
