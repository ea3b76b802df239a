//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corkboard/corkboard/devtools/procstat"
	"github.com/corkboard/corkboard/devtools/rawws"
)

// ccChannel is the channel every subscriber watches: the board.
const ccChannel = "board"

// runCentrifugo starts Centrifugo, opens the subscribers, publishes at rate
// changes/s for c.Duration through the HTTP API and measures what
// runCorkboard measures for Corkboard. Everything it starts it stops.
func runCentrifugo(ctx context.Context, c Config, rate float64, log *slog.Logger) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.MaxRun)
	defer cancel()
	bin, err := centrifugoPath()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "corkboard-peerbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	res := &Result{Server: "centrifugo", Rate: rate, Offered: rate * float64(c.Subscribers), LoadStart: procstat.LoadAverage()}
	cc, err := startCentrifugo(ctx, bin, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := cc.stop(); err != nil {
			log.Warn("stopping centrifugo", "err", err)
		}
	}()
	pid := cc.pid()

	ck := &clock{t0: time.Now()}
	opPrefix := "pb" + randomHex(3) + "-"
	nOps := int(rate*c.Duration.Seconds()) + 1
	payloads := make([][]byte, nOps)
	for k := range payloads {
		ev := cardEvent("3f1c2d4e-0000-4000-8000-00000000b0a4", k, opPrefix, time.Now())
		payloads[k] = append(append([]byte(`{"channel":"`+ccChannel+`","data":`), ev...), '}')
	}
	res.EventBytes = len(cardEvent("3f1c2d4e-0000-4000-8000-00000000b0a4", nOps/2, opPrefix, time.Now()))

	cc.gc(ctx)
	rssBefore := stableRSS(ctx, pid)
	log.Info("centrifugo: opening subscribers", "subscribers", c.Subscribers)
	poll, err := rawws.NewPoller(max(1, runtime.GOMAXPROCS(0)/2), ck.now)
	if err != nil {
		return nil, err
	}
	subs, err := openCCSubs(ctx, poll, ck, c.Subscribers, c.DialWorkers, cc.base, ccChannel, opPrefix, nOps)
	closed := false
	defer func() {
		if !closed {
			closeCCSubs(poll, subs) //nolint:errcheck // failing anyway
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("centrifugo: %w\n%s", err, procstat.Tail(cc.log, 1024))
	}
	time.Sleep(c.IdleWait)
	if rss, err := procstat.RSS(pid); err == nil {
		res.RSSPerConnKiB = float64(rss-rssBefore) / float64(c.Subscribers) / 1024
	}

	hc := &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        c.Writers + 4,
		MaxIdleConnsPerHost: c.Writers + 4,
		DisableCompression:  true,
	}}
	defer hc.CloseIdleConnections()
	ops := make([]opRecord, nOps)
	cpu0 := sampleCPU(pid)
	log.Info("centrifugo: publishing", "rate", rate, "duration", c.Duration)
	writeStart, writeEnd := schedule(ctx, ck, rate, c.Duration, c.Writers, ops, func(ctx context.Context, k int) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", cc.base+"/api/publish", bytes.NewReader(payloads[k]))
		req.Header.Set("X-API-Key", cc.apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"error"`)) {
			return 0, fmt.Errorf("publish: %.200s", body)
		}
		return resp.StatusCode, err
	})
	if ctx.Err() != nil {
		return nil, fmt.Errorf("centrifugo: publishing: %w", ctx.Err())
	}
	var acked int64
	for _, op := range ops {
		if op.status == http.StatusOK {
			acked++
		}
	}
	settled := waitCC(ctx, ck, subs, acked, c.Settle)
	cpu1 := sampleCPU(pid)
	res.LoadEnd = procstat.LoadAverage()
	if err := closeCCSubs(poll, subs); err != nil {
		log.Warn("reading the subscribers", "err", err)
	}
	closed = true
	analyzeCC(res, subs, ops, writeStart, writeEnd, settled, cpu0, cpu1)
	return res, nil
}

// waitCC waits until every subscriber that is still connected has want
// publications, or until timeout.
func waitCC(ctx context.Context, ck *clock, subs []*ccSub, want int64, timeout time.Duration) int64 {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		done := true
		for _, s := range subs {
			if s.got.Load() < want && !s.ended.Load() {
				done = false
				break
			}
		}
		if done {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ck.now()
}

// analyzeCC checks every subscriber's stream (each acknowledged publication
// exactly once, in the same order for all) and computes the figures.
func analyzeCC(res *Result, subs []*ccSub, ops []opRecord, writeStart, writeEnd, settled int64,
	cpu0, cpu1 cpuSample) {
	cr := &res.Correctness
	cr.Subscribers = len(subs)
	steadyFrom, steadyTo := steadyWindow(writeStart, writeEnd)
	var steady, last int64
	lat := make([]int64, 0, len(subs)*len(ops))
	var wait []int64 // in the client's sockets
	var ref []int32  // the first complete subscriber's positions
	for _, s := range subs {
		res.Deliveries += int64(s.n)
		res.Messages += s.messages
		cr.Duplicates += s.dups
		cr.Unexpected += s.unexpected
		if s.firstProb != "" && len(cr.Examples) < 5 {
			cr.Examples = append(cr.Examples, fmt.Sprintf("subscriber %d: %s", s.i, s.firstProb))
		}
		if s.ended.Load() {
			cr.Disconnected++
			if len(cr.Examples) < 5 {
				cr.Examples = append(cr.Examples, fmt.Sprintf("subscriber %d: connection ended: %v", s.i, s.readErr))
			}
		}
		missing := false
		for k, op := range ops {
			t := s.recv[k]
			if t == 0 {
				if op.status == http.StatusOK {
					cr.Gaps++
					missing = true
				}
				continue
			}
			if op.status != http.StatusOK {
				cr.Unacked++ // delivered though the publish failed: not an error, counted
			}
			last = max(last, t)
			if t >= steadyFrom && t < steadyTo {
				steady++
			}
			lat = append(lat, t-op.sent)
			if k < len(s.arr) && s.arr[k] != 0 {
				wait = append(wait, t-s.arr[k])
			}
		}
		if missing {
			cr.Incomplete++
		} else if ref == nil {
			ref = s.pos
		} else if !slices.Equal(ref, s.pos) {
			cr.OutOfOrder++
		}
	}
	res.latency(lat)
	if len(wait) > 0 {
		slices.Sort(wait)
		res.ClientWaitP99 = quantileMS(wait, 0.99)
	}
	res.rates(ops, steady, steadyFrom, steadyTo, writeStart, writeEnd, last)
	res.SettleSeconds = time.Duration(settled - writeEnd).Seconds()
	res.cpu(cpu0, cpu1)
}

// opRecord is one change: when it was sent and answered (clock ns) and the
// status.
type opRecord struct {
	sent, resp int64
	status     int
}

// schedule runs writers goroutines that perform operation k (send) at
// start + k/rate until the duration is up or ops are done (a writer whose
// previous request is still out sends late: the achieved rate shows it),
// as loadgen's writers do. It returns when the first was sent and the last
// answered.
func schedule(ctx context.Context, ck *clock, rate float64, d time.Duration, writers int, ops []opRecord,
	send func(ctx context.Context, k int) (status int, err error)) (start, end int64) {
	start = ck.now()
	interval := float64(time.Second) / rate
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				k := next.Add(1) - 1
				if k >= int64(len(ops)) {
					return
				}
				due := start + int64(float64(k)*interval)
				if max(due, ck.now()) >= start+int64(d) {
					return
				}
				if w := time.Duration(due - ck.now()); w > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(w):
					}
				}
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				rec := &ops[k]
				rec.sent = ck.now()
				status, err := send(rctx, int(k))
				cancel()
				rec.resp = ck.now()
				if err == nil {
					rec.status = status
				}
			}
		})
	}
	wg.Wait()
	return start, ck.now()
}

// clock gives times as nanoseconds since the run started (monotonic).
type clock struct{ t0 time.Time }

func (c *clock) now() int64 { return int64(time.Since(c.t0)) }

// wall converts a wall-clock time (a kernel arrival time) to the clock's
// scale.
func (c *clock) wall(t time.Time) int64 { return int64(t.Sub(c.t0.Round(0))) }
