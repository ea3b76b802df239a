//go:build linux

package main

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"
)

// analyze checks every subscriber's stream and computes the figures.
func analyze(rep *Report, c Config, subs []*subscriber, w *writers, boards []seededBoard, seedHeads, finalHeads []int64,
	writeStart, writeEnd, settled int64, cpu0, cpu1 cpuSample, instances int) {
	cr := &rep.Correctness
	cr.Subscribers = len(subs)
	for b := range boards {
		rep.Events += finalHeads[b] - seedHeads[b]
	}

	// The operation each board's seq carried, by the first subscriber that
	// saw it; the others must agree.
	type ref struct {
		base int64
		ops  []int32
	}
	refs := make([]*ref, len(boards))
	var lastDelivery int64
	// The steady window: from 1 s after the writers started to 1 s before
	// they stopped (the whole run when that is under 4 s).
	steadyFrom, steadyTo := writeStart+int64(time.Second), writeEnd-int64(time.Second)
	if writeEnd-writeStart < int64(4*time.Second) {
		steadyFrom, steadyTo = writeStart, math.MaxInt64
	}
	var steady int64
	var sentSame, sentCross, txnSame, txnCross, commitSame, commitCross, respSame, respCross hist
	var arrivedSame, arrivedCross, inSocket hist // by the kernel's arrival times
	for _, s := range subs {
		rep.Deliveries += s.deliveries
		rep.Messages += s.messages
		rep.EventMessages += s.evMessages
		cr.Resyncs += s.resyncs
		cr.ErrorFrames += s.errorsSeen
		cr.Unexpected += s.unexpected
		if s.firstProb != "" && len(cr.Examples) < 5 {
			cr.Examples = append(cr.Examples, fmt.Sprintf("subscriber %d: %s", s.i, s.firstProb))
		}
		if s.early {
			cr.Disconnected++
			if len(cr.Examples) < 5 {
				cr.Examples = append(cr.Examples, fmt.Sprintf("subscriber %d: connection ended: %v", s.i, s.readErr))
			}
		}
		incomplete := false
		for _, sb := range s.list {
			head := finalHeads[sb.board]
			cr.Duplicates += sb.dups
			cr.OutOfOrder += sb.outOfOrder
			want := head - sb.base
			if sb.base != seedHeads[sb.board] {
				cr.LateSubscriptions++
			}
			for k := range want {
				if k >= int64(len(sb.recv)) || sb.recv[k] == 0 {
					cr.Gaps++
					incomplete = true
				}
			}
			if int64(len(sb.recv)) > want {
				for _, t := range sb.recv[want:] {
					if t != 0 {
						cr.BeyondHead++
					}
				}
			}
			r := refs[sb.board]
			if r == nil {
				r = &ref{base: sb.base}
				refs[sb.board] = r
			}
			for k, t := range sb.recv {
				if t == 0 {
					continue
				}
				lastDelivery = max(lastDelivery, t)
				if t >= steadyFrom && t < steadyTo {
					steady++
				}
				op := sb.op[k]
				seq := sb.base + 1 + int64(k)
				if ri := seq - r.base - 1; ri >= 0 {
					for int64(len(r.ops)) <= ri {
						r.ops = append(r.ops, -2)
					}
					if r.ops[ri] == -2 {
						r.ops[ri] = op
					} else if r.ops[ri] != op {
						cr.Mismatched++
					}
				}
				if op < 0 || w == nil || int(op) >= len(w.ops) {
					continue
				}
				rec := &w.ops[op]
				if int(rec.board) != sb.board {
					cr.Mismatched++
					continue
				}
				cross := int(rec.instance) != s.instance
				pick := func(same, crossH *hist) *hist {
					if cross {
						return crossH
					}
					return same
				}
				pick(&sentSame, &sentCross).add(t - rec.sent)
				if rec.txn != 0 {
					pick(&txnSame, &txnCross).add(t - rec.txn)
				}
				if rec.commit != 0 {
					pick(&commitSame, &commitCross).add(t - rec.commit)
				}
				if a := sb.arr[k]; a != 0 {
					inSocket.add(t - a)
					if rec.commit != 0 {
						pick(&arrivedSame, &arrivedCross).add(a - rec.commit)
					}
				}
				if rec.resp != 0 {
					pick(&respSame, &respCross).add(t - rec.resp)
				}
			}
		}
		if incomplete {
			cr.Incomplete++
		}
	}
	if rep.EventMessages > 0 {
		rep.FramesPerMessage = float64(rep.Deliveries) / float64(rep.EventMessages)
	}
	rep.Latency = map[string]*latency{
		"sent_same": sentSame.summary(), "sent_cross": sentCross.summary(),
		"txn_same": txnSame.summary(), "txn_cross": txnCross.summary(),
		"commit_same": commitSame.summary(), "commit_cross": commitCross.summary(),
		"resp_same": respSame.summary(), "resp_cross": respCross.summary(),
		"commit_arrived_same": arrivedSame.summary(), "commit_arrived_cross": arrivedCross.summary(),
		"in_loadgen_socket": inSocket.summary(),
	}
	for k, v := range rep.Latency {
		if v == nil {
			delete(rep.Latency, k)
		}
	}

	if w == nil {
		rep.evaluate(c)
		return
	}
	// Mutations.
	m := &rep.Mutations
	m.Target = c.Rate
	var httpLat hist
	acked := map[int32]bool{}
	for i := range w.ops[:min(int(w.issued.Load()), len(w.ops))] {
		rec := &w.ops[i]
		if rec.sent == 0 {
			continue
		}
		if rec.status == http.StatusOK {
			m.OK++
			httpLat.add(rec.resp - rec.sent)
			if refs[rec.board] != nil { // someone watches its board
				acked[int32(i)] = true
			}
		} else {
			m.Failed++
		}
	}
	m.Failures = w.errs
	window := time.Duration(writeEnd - writeStart)
	m.WindowSeconds = window.Seconds()
	if window > 0 {
		m.PerSecond = float64(m.OK) / window.Seconds()
	}
	m.HTTP = httpLat.summary()
	// Every acknowledged mutation must be in its board's stream.
	for _, r := range refs {
		if r == nil {
			continue
		}
		for _, op := range r.ops {
			delete(acked, op)
		}
	}
	cr.AckedNotDelivered = int64(len(acked))

	// Deliveries per second: from the first request to the last delivery.
	if lastDelivery > writeStart {
		rep.DeliveryWindowSeconds = time.Duration(lastDelivery - writeStart).Seconds()
		rep.DeliveriesPerSecondOverall = float64(rep.Deliveries) / rep.DeliveryWindowSeconds
		rep.DeliveriesPerSecond = rep.DeliveriesPerSecondOverall
		if steadyTo != math.MaxInt64 {
			rep.DeliveriesPerSecond = float64(steady) / time.Duration(steadyTo-steadyFrom).Seconds()
		}
	}
	rep.SettleSeconds = time.Duration(settled - writeEnd).Seconds()

	// CPU over the same window (writers start to settled).
	cpu := &CPUReport{WindowSeconds: cpu1.at.Sub(cpu0.at).Seconds()}
	for i := range cpu1.servers {
		d := cpu1.servers[i] - cpu0.servers[i]
		cpu.ServerSeconds += d.Seconds()
		cpu.PerInstanceSeconds = append(cpu.PerInstanceSeconds, d.Seconds())
	}
	cpu.ServerSystemSeconds = (cpu1.serverSys - cpu0.serverSys).Seconds()
	cpu.LoadgenSeconds = (cpu1.self - cpu0.self).Seconds()
	cpu.PostgresSeconds = (cpu1.pg - cpu0.pg).Seconds()
	cpu.MachineBusySeconds = (cpu1.busy - cpu0.busy).Seconds()
	cpu.OtherSeconds = cpu.MachineBusySeconds - cpu.ServerSeconds - cpu.LoadgenSeconds - cpu.PostgresSeconds
	if t := (cpu1.total - cpu0.total).Seconds(); t > 0 {
		cpu.MachineBusyFraction = cpu.MachineBusySeconds / t
	}
	if rep.Deliveries > 0 {
		cpu.ServerUSPerDelivery = cpu.ServerSeconds * 1e6 / float64(rep.Deliveries)
		cpu.LoadgenUSPerDelivery = cpu.LoadgenSeconds * 1e6 / float64(rep.Deliveries)
	}
	if m.OK > 0 {
		cpu.ServerUSPerMutation = cpu.ServerSeconds * 1e6 / float64(m.OK)
	}
	if len(cpu0.servers) > 0 {
		rep.CPU = cpu
	} else {
		cpu.ServerSeconds, cpu.ServerUSPerDelivery, cpu.ServerUSPerMutation = 0, 0, 0
		rep.CPU = cpu
	}
	rep.evaluate(c)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
