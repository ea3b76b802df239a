//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/corkboard/corkboard/devtools/procstat"
	"github.com/corkboard/corkboard/devtools/rawws"
)

// run performs one load run and returns its report. Everything it starts
// it stops before returning; the whole run is bounded by c.MaxDuration.
func run(ctx context.Context, c Config, log *slog.Logger) (rep *Report, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.MaxDuration)
	defer cancel()
	ck := &clock{t0: time.Now()}

	limit, err := procstat.RaiseFileLimit()
	if err != nil {
		return nil, err
	}
	// Client sockets, HTTP connections, NATS and PostgreSQL connections,
	// files: each server holds its share of the subscribers.
	if need := uint64(c.Subscribers + c.Writers + 300); need > limit {
		return nil, fmt.Errorf("%d subscribers and %d writers need about %d open files; the limit is %d", c.Subscribers, c.Writers, need, limit)
	}

	var topo *topology
	if len(c.Targets) > 0 {
		topo = targetsTopology(c.Targets, log)
	} else {
		topo, err = startTopology(ctx, c, log)
		defer func() {
			if cerr := topo.close(); cerr != nil {
				log.Warn("stopping the topology", "err", cerr)
			}
		}()
		if err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			for _, p := range topo.exited() {
				err = fmt.Errorf("%w\n%s", err, p)
			}
		}
	}()

	hc := &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        c.Writers + 16,
		MaxIdleConnsPerHost: c.Writers + 16,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
	defer hc.CloseIdleConnections()

	rep = &Report{Scenario: c.Scenario, Config: c, Machine: machineInfo()}
	rep.Machine.LoadStart = procstat.LoadAverage()
	opPrefix := randomPrefix()

	// Which boards each subscriber watches, on which instance, as which
	// user; then the accounts, boards and members.
	perBoard := c.Boards
	if c.BoardsPerSub > 0 {
		perBoard = c.BoardsPerSub
	}
	boardsOf := func(i int) []int {
		bs := make([]int, perBoard)
		for j := range bs {
			bs[j] = j
			if c.BoardsPerSub > 0 {
				bs[j] = (i*perBoard + j) % c.Boards
			}
		}
		return bs
	}
	instanceOf := func(i int) int { return i % len(topo.urls) }
	// Each writer is its own user: the server answers 429 past 50
	// requests/s per user.
	if c.Writers > 0 && c.Rate/float64(c.Writers) > 45 {
		return nil, fmt.Errorf("%.0f mutations/s from %d writers is %.0f/s per writer's user, near or over the server's limit of 50/s per user: use more -writers",
			c.Rate, c.Writers, c.Rate/float64(c.Writers))
	}
	userOf, watches := planSubscribers(c.Subscribers, c.Users, c.ConnsPerUser, instanceOf, boardsOf)
	log.Info("signing up users", "writers", c.Writers, "subscriber users", len(watches))
	dbURL := topo.dbURL
	if dbURL == "" {
		dbURL = c.DatabaseURL
	}
	users, err := makeUsers(ctx, c, hc, topo.setup, dbURL, opPrefix, userOf, watches)
	if err != nil {
		return nil, err
	}
	log.Info("seeding", "boards", c.Boards, "cards per board", c.CardsPerBoard)
	boards, err := seed(ctx, hc, topo.setup, users, c.Boards, c.Writers, c.CardsPerBoard)
	if err != nil {
		return nil, err
	}
	topo.stopSetup()
	seedHeads, err := heads(ctx, hc, topo.urls[0], users, boards)
	if err != nil {
		return nil, err
	}

	// Idle subscribed connections, and what they cost in RSS. The start-up
	// garbage (migrations, the first requests) is collected and given back
	// before the baseline, or the connections would reuse it and look
	// cheaper than they are.
	gcServers(ctx, topo.admin)
	rssBefore := stableRSS(ctx, topo.pids)
	expect := 16
	if c.Writers > 0 {
		expect += int(min(1e6, 1.05*c.Rate*c.Duration.Seconds()/float64(c.Boards)))
		if c.Mutations > 0 {
			expect = min(expect, c.Mutations/c.Boards+16)
		}
	}
	log.Info("opening subscribers", "subscribers", c.Subscribers, "instances", len(topo.urls), "boards each", perBoard)
	openStart := time.Now()
	// Half the Ps read sockets; the others stay free for the writers.
	poll, err := rawws.NewPoller(max(1, runtime.GOMAXPROCS(0)/2), ck.now)
	if err != nil {
		return nil, err
	}
	subs, err := openSubscribers(ctx, poll, c.Subscribers, c.DialWorkers, func(i int) (string, identity, int, []string, []int) {
		idx := boardsOf(i)
		ids := make([]string, len(idx))
		for j, b := range idx {
			ids[j] = boards[b].ID
		}
		inst := instanceOf(i)
		return topo.urls[inst], users.sub(i), inst, ids, idx
	}, expect, ck, opPrefix)
	closed := false
	defer func() {
		if !closed {
			closeSubscribers(poll, subs)
		}
	}()
	if err != nil {
		return nil, err
	}
	rep.Subscribe.OpenSeconds = time.Since(openStart).Seconds()
	rep.Subscribe.OpenFiles = openFiles()
	if c.IdleWait > 0 {
		time.Sleep(c.IdleWait)
	}
	rssAfter := rssOf(topo.pids)
	rep.RSS = rssReport(rssBefore, rssAfter, c.Subscribers, len(topo.urls))
	if rep.RSS != nil && len(topo.admin) > 0 {
		gcServers(ctx, topo.admin)
		rssGC := stableRSS(ctx, topo.pids)
		var sum int64
		for i := range rssGC {
			sum += rssGC[i] - rssBefore[i]
		}
		rep.RSS.AfterGCBytes = sum + rep.RSS.BeforeBytes
		rep.RSS.PerConnAfterGCBytes = float64(sum) / float64(c.Subscribers)
	}
	if c.Profile != "" && len(topo.admin) > 0 {
		saveProfiles(ctx, c.Profile, topo.admin, "heap", "debug/pprof/heap?gc=1", log)
		saveProfiles(ctx, c.Profile, topo.admin, "heap.txt", "debug/pprof/heap?gc=1&debug=1", log)
		saveProfiles(ctx, c.Profile, topo.admin, "goroutines.txt", "debug/pprof/goroutine?debug=1", log)
	}

	// The writers, then the settling stream.
	var w *writers
	var writeStart, writeEnd, settled int64
	var finalHeads []int64
	var cpu0, cpu1 cpuSample
	if c.Writers > 0 {
		w = newWriters(c, topo.urls, hc, users, boards, ck, opPrefix)
		// When the commits happened (only in a PostgreSQL of loadgen's own).
		var cl *commitLog
		if topo.cl != nil {
			if cl, err = openCommitLog(ctx, dbURL, opPrefix); err != nil {
				log.Warn("no commit -> delivered figures", "err", err)
			} else {
				defer cl.Close() //nolint:errcheck // the slot goes with the connection
			}
		}
		quietStart := time.Now()
		rep.Subscribe.QuietTimedOut = !waitQuiet(ctx, subs, quietFor, quietTimeout, ck)
		rep.Subscribe.QuietSeconds = time.Since(quietStart).Seconds()
		for _, s := range subs {
			rep.Subscribe.PresenceBytes += s.presenceBytes.Load()
		}
		if rep.Subscribe.QuietTimedOut {
			log.Warn("the subscribers' streams are still busy; writing anyway", "waited", quietTimeout)
		}
		log.Info("writing", "writers", c.Writers, "rate", c.Rate, "duration", c.Duration, "mutations", len(w.ops))
		var profWG sync.WaitGroup
		defer profWG.Wait()
		if c.Profile != "" && len(topo.admin) > 0 {
			secs := max(1, int(c.Duration.Seconds()))
			profWG.Go(func() {
				saveProfiles(ctx, c.Profile, topo.admin, "cpu", fmt.Sprintf("debug/pprof/profile?seconds=%d", secs), log)
			})
			// A 2 s execution trace in the middle of the run: scheduling
			// delays (go tool trace -pprof=sched).
			profWG.Go(func() {
				select {
				case <-ctx.Done():
					return
				case <-time.After(c.Duration / 2):
				}
				saveProfiles(ctx, c.Profile, topo.admin, "trace", "debug/pprof/trace?seconds=2", log)
			})
		}
		stopProfile, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer stopProfile()
		cpu0 = sampleCPU(topo.pids)
		stopProgress := progress(c, log, subs, w)
		writeStart, writeEnd = w.run(ctx)
		stopProgress()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("writing: %w", ctx.Err())
		}
		if finalHeads, err = heads(ctx, hc, topo.urls[0], users, boards); err != nil {
			return nil, err
		}
		settled = waitSettled(ctx, subs, finalHeads, c.Settle, ck)
		cpu1 = sampleCPU(topo.pids)
		stopProfile()
		if c.Profile != "" {
			// The servers' counters (gap fills, duplicates, resyncs...).
			saveProfiles(ctx, c.Profile, topo.admin, "metrics.txt", "metrics", log)
		}
		if cl != nil {
			if _, err := cl.read(ctx, opPrefix, w, ck); err != nil {
				log.Warn("no commit -> delivered figures", "err", err)
			}
		}
	} else {
		finalHeads = seedHeads
	}
	rep.Machine.LoadEnd = procstat.LoadAverage()
	if err := closeSubscribers(poll, subs); err != nil {
		log.Warn("reading the subscribers", "err", err)
	}
	closed = true

	analyze(rep, c, subs, w, boards, seedHeads, finalHeads, writeStart, writeEnd, settled, cpu0, cpu1, len(topo.urls))
	return rep, nil
}

// startCPUProfile profiles loadgen itself into path until the returned
// function is called; with an empty path it does nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return sync.OnceFunc(func() { pprof.StopCPUProfile(); f.Close() }), nil
}

// randomPrefix starts the run's op ids and usernames.
func randomPrefix() string {
	var b [3]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
	return "lg" + hex.EncodeToString(b[:]) + "-"
}

// What the writers wait for: every subscriber's stream without a message
// for quietFor (at most quietTimeout). The frames of the set-up — presence,
// above all: each flush sends the board's whole viewer list to every
// subscriber, so thousands of subscribers joining a board make a stream of
// megabytes per subscriber — are still being written and read for seconds
// after the last subscription is confirmed when the machine is busy; events
// written into that backlog wait behind it in the server's queues and the
// sockets, and their latency would be the set-up's, not the fan-out's.
// quietFor is longer than the server's pacing of a busy board's presence
// (hub.Options.PresenceBytes: about 1.3 s between flushes for 5,000
// subscribers), so a paced last flush is not mistaken for the end.
const (
	quietFor     = 3 * time.Second
	quietTimeout = 2 * time.Minute
)

// waitQuiet waits until no subscriber has had a message for quiet, or
// until timeout; it reports whether the streams fell quiet.
func waitQuiet(ctx context.Context, subs []*subscriber, quiet, timeout time.Duration, ck *clock) bool {
	deadline := time.Now().Add(timeout)
	for {
		var last int64
		for _, s := range subs {
			last = max(last, s.lastMsg.Load())
		}
		if ck.now()-last >= int64(quiet) {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSettled waits until every subscriber has every board's events up to
// its head, or until timeout, and returns when it stopped waiting.
func waitSettled(ctx context.Context, subs []*subscriber, heads []int64, timeout time.Duration, ck *clock) int64 {
	deadline := time.Now().Add(timeout)
	for {
		done := true
	check:
		for _, s := range subs {
			for _, sb := range s.list {
				if sb.last.Load() < heads[sb.board] && !s.endedFlag.Load() { // one that ended is reported as incomplete
					done = false
					break check
				}
			}
		}
		if done || time.Now().After(deadline) || ctx.Err() != nil {
			return ck.now()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// progress logs deliveries and operations every 2 s until stopped.
func progress(c Config, log *slog.Logger, subs []*subscriber, w *writers) func() {
	if !c.Verbose {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			var got int64
			for _, s := range subs {
				for _, sb := range s.list {
					got += sb.last.Load() - sb.base
				}
			}
			log.Info("progress", "ops sent", w.issued.Load(), "deliveries", got, "per second", (got-last)/2)
			last = got
		}
	}()
	return func() { close(stop); <-done }
}

// cpuSample is the CPU time used so far by the servers, loadgen,
// PostgreSQL and the machine.
type cpuSample struct {
	at          time.Time
	servers     []time.Duration
	serverSys   time.Duration // system time of all servers
	self        time.Duration
	pg          time.Duration
	busy, total time.Duration
}

func sampleCPU(pids []int) cpuSample {
	s := cpuSample{at: time.Now(), self: procstat.SelfCPU(), pg: postgresCPU()}
	for _, p := range pids {
		user, sys, _, _ := procstat.ProcCPU(p)
		s.servers = append(s.servers, user+sys)
		s.serverSys += sys
	}
	s.busy, s.total, _ = procstat.MachineCPU()
	return s
}

// gcServers makes every server collect garbage now, twice (through its
// admin endpoint's heap profile): memory freed by the first collection is
// returned to the OS only once the second has lowered the heap goal.
func gcServers(ctx context.Context, admin []string) {
	for round := range 2 {
		if round > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		for _, a := range admin {
			req, _ := http.NewRequestWithContext(ctx, "GET", a+"/debug/pprof/heap?gc=1", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the collection matters
				resp.Body.Close()
			}
		}
	}
}

// stableRSS waits (at most 10 s) until the servers' RSS has not moved by
// more than 256 KiB for a second, and returns it.
func stableRSS(ctx context.Context, pids []int) []int64 {
	prev := rssOf(pids)
	deadline := time.Now().Add(10 * time.Second)
	for still := 0; still < 4 && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(250 * time.Millisecond)
		cur := rssOf(pids)
		still++
		for i := range cur {
			if d := cur[i] - prev[i]; d > 256<<10 || d < -256<<10 {
				still = 0
			}
		}
		prev = cur
	}
	return prev
}

func rssOf(pids []int) []int64 {
	out := make([]int64, len(pids))
	for i, p := range pids {
		out[i], _ = procstat.RSS(p)
	}
	return out
}

// saveProfiles fetches path from every server's pprof listener into
// dir/instance-<i>.<name>.
func saveProfiles(ctx context.Context, dir string, bases []string, name, path string, log *slog.Logger) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Warn("profile directory", "err", err)
		return
	}
	var wg sync.WaitGroup
	for i, base := range bases {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/"+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				log.Warn("fetch profile", "instance", i, "path", path, "err", err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("instance-%d.%s", i, name)))
			if err != nil {
				log.Warn("save profile", "err", err)
				return
			}
			defer f.Close()
			if _, err := io.Copy(f, resp.Body); err != nil {
				log.Warn("save profile", "err", err)
			}
		})
	}
	wg.Wait()
}

func machineInfo() MachineInfo {
	return MachineInfo{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		Note: "loadgen, its in-process NATS, PostgreSQL and the servers share these CPUs"}
}

func rssReport(before, after []int64, subs, instances int) *RSSReport {
	if len(before) == 0 || subs == 0 {
		return nil
	}
	r := &RSSReport{}
	for i := range before {
		r.BeforeBytes += before[i]
		r.AfterBytes += after[i]
		r.PerInstance = append(r.PerInstance, after[i]-before[i])
	}
	r.PerConnBytes = float64(r.AfterBytes-r.BeforeBytes) / float64(subs)
	return r
}

var errFailed = errors.New("the run found problems")
