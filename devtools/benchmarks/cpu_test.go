package benchmarks

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// On a small machine the benchmarks are bound by CPU as much as by fsync,
// and the load generator shares the CPUs with the server and PostgreSQL. To
// show where the time goes, each run reports the CPU spent per operation by
// PostgreSQL (all its processes), by this test process (the HTTP server,
// API, store and pgx: the server's Go CPU) and by the load generator when it
// is another process (pgbench, the HTTP load client of loadclient_test.go).

// clockTick is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux this runs on).
const clockTick = 10 * time.Millisecond

// selfCPU returns the user and system CPU time of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgCPU returns the CPU time used so far by the PostgreSQL server we
// started: the postmaster, its live children and the children it has reaped.
// ok is false when it cannot tell (an external server, no /proc).
func (e *env) pgCPU() (d time.Duration, ok bool) {
	if e.srv == nil {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(e.srv.Dir(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pm, err := strconv.Atoi(strings.TrimSpace(string(line)))
	if err != nil {
		return 0, false
	}
	f, ok := procStat(pm)
	if !ok {
		return 0, false
	}
	ticks := f.utime + f.stime + f.cutime + f.cstime
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == pm {
			continue
		}
		if c, ok := procStat(pid); ok && c.ppid == int64(pm) {
			ticks += c.utime + c.stime
		}
	}
	return time.Duration(ticks) * clockTick, true
}

type stat struct{ ppid, utime, stime, cutime, cstime int64 }

// procStat reads the fields of /proc/<pid>/stat that pgCPU needs.
func procStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after the last ')'. Then: state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime ...
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return stat{}, false
	}
	n := func(k int) int64 { v, _ := strconv.ParseInt(f[k], 10, 64); return v }
	return stat{ppid: n(1), utime: n(11), stime: n(12), cutime: n(13), cstime: n(14)}, true
}

// machineCPU returns the CPU time all processes have used so far (busy
// time from /proc/stat, summed over CPUs).
func machineCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		if i == 3 || i == 4 {
			continue // idle, iowait
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * clockTick, true
}

// cpuMeter measures the CPU spent between start and stop, and what this
// process allocated meanwhile. With BENCH_CPUPROFILE set, it also writes a
// CPU profile of this process over that window (and nothing else: not the
// start-up and seeding that -cpuprofile would include) to
// $BENCH_CPUPROFILE-<benchmark>.cpu; each run of a benchmark overwrites
// the last, so the file holds the final, longest run.
type cpuMeter struct {
	e             *env
	self, pg, all time.Duration
	pgOK, allOK   bool
	start         time.Time
	wall          time.Duration
	mallocs       uint64
	bytes         uint64
	profile       *os.File
}

func (e *env) startCPU(name string) *cpuMeter {
	m := &cpuMeter{e: e}
	if prefix := os.Getenv("BENCH_CPUPROFILE"); prefix != "" {
		f, err := os.Create(prefix + "-" + strings.NewReplacer("/", "_", "=", "").Replace(name) + ".cpu")
		if err == nil && pprof.StartCPUProfile(f) == nil {
			m.profile = f
		} else if f != nil {
			f.Close()
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs, m.bytes = ms.Mallocs, ms.TotalAlloc
	m.pg, m.pgOK = e.pgCPU()
	m.all, m.allOK = machineCPU()
	m.self = selfCPU()
	m.start = time.Now()
	return m
}

// stop returns the per-operation metrics for ops operations:
//
//   - pg-cpu-us/op: PostgreSQL, all its processes;
//   - go-cpu-us/op: this process (the HTTP server, API, store and pgx; for
//     the store benchmark also the goroutines calling the store);
//   - client-cpu-us/op: client, the CPU of the load generator when it is
//     another process (pgbench, the HTTP load client), 0 for none;
//   - go-allocs/op and go-B/op: what this process allocated;
//   - others-cpu-%: the share of the machine's CPUs that other processes
//     used meanwhile: anything above a few percent disturbed the run.
func (m *cpuMeter) stop(ops int, client time.Duration) map[string]float64 {
	m.end()
	return m.result(ops, client)
}

// end takes the readings at the end of the window; result then computes
// stop's figures (for a load generator whose CPU is known only later).
func (m *cpuMeter) end() {
	m.self = selfCPU() - m.self
	m.wall = time.Since(m.start)
	all, allOK := machineCPU()
	m.all, m.allOK = all-m.all, allOK && m.allOK
	pg, pgOK := m.e.pgCPU()
	m.pg, m.pgOK = pg-m.pg, pgOK && m.pgOK
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs, m.bytes = ms.Mallocs-m.mallocs, ms.TotalAlloc-m.bytes
	if m.profile != nil {
		pprof.StopCPUProfile()
		m.profile.Close()
	}
}

func (m *cpuMeter) result(ops int, client time.Duration) map[string]float64 {
	out := map[string]float64{}
	if ops <= 0 {
		return out
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ops) }
	if m.pgOK {
		out["pg-cpu-us/op"] = per(m.pg)
	}
	out["go-cpu-us/op"] = per(m.self)
	if client > 0 {
		out["client-cpu-us/op"] = per(client)
	}
	out["go-allocs/op"] = float64(m.mallocs) / float64(ops)
	out["go-B/op"] = float64(m.bytes) / float64(ops)
	if m.allOK && m.pgOK {
		others := m.all - m.pg - m.self - client
		out["others-cpu-%"] = max(0, 100*others.Seconds()/(m.wall.Seconds()*float64(runtime.NumCPU())))
	}
	return out
}

// settle gives PostgreSQL a moment to reap the backends of clients that just
// disconnected (pgbench), whose CPU time it then counts.
func settle() { time.Sleep(50 * time.Millisecond) }
