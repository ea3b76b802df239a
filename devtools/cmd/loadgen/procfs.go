//go:build linux

package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procCPUSplit is the CPU time process pid has used (all threads), user and
// system apart, and that of the children it has waited for.
func procCPUSplit(pid int) (user, sys, children time.Duration, err error) {
	st, err := procStat(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	return time.Duration(st.UTime) * clockTick, time.Duration(st.STime) * clockTick,
		time.Duration(st.CUTime+st.CSTime) * clockTick, nil
}

func procStat(pid int) (procfs.ProcStat, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procfs.ProcStat{}, err
	}
	return p.Stat()
}

// procRSS returns the resident set size of pid (VmRSS) in bytes.
func procRSS(pid int) (int64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, err
	}
	return int64(st.VmRSS), nil
}

// postgresCPU is the CPU time of the postmaster that is a child of this
// process and of all its children (backends, checkpointer, WAL writer...),
// including children that have exited.
func postgresCPU() time.Duration {
	procs, err := procfs.AllProcs()
	if err != nil {
		return 0
	}
	stats := make(map[int]procfs.ProcStat, len(procs))
	for _, p := range procs {
		if st, err := p.Stat(); err == nil {
			stats[p.PID] = st
		}
	}
	cpu := func(st procfs.ProcStat, children bool) time.Duration {
		t := st.UTime + st.STime
		if children {
			t += uint(st.CUTime + st.CSTime)
		}
		return time.Duration(t) * clockTick
	}
	var total time.Duration
	self := os.Getpid()
	for pm, st := range stats {
		if st.PPID != self || st.Comm != "postgres" {
			continue
		}
		total += cpu(st, true)
		for _, b := range stats {
			if b.PPID == pm {
				total += cpu(b, true)
			}
		}
	}
	return total
}

// selfCPU is the CPU time this process (loadgen, with its in-process NATS
// servers) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU returns the busy and total CPU time of the machine, summed over
// all CPUs, from /proc/stat (iowait counts as idle; guest time is already
// in user time).
func machineCPU() (busy, total time.Duration, err error) {
	st, err := procfs.NewStat()
	if err != nil {
		return 0, 0, err
	}
	c := st.CPUTotal
	idle := c.Idle + c.Iowait
	sum := idle + c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
	return time.Duration((sum - idle) * float64(time.Second)), time.Duration(sum * float64(time.Second)), nil
}

// loadAverage is the machine's load average over 1, 5 and 15 minutes.
func loadAverage() string {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return ""
	}
	l, err := fs.LoadAvg()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l.Load1, l.Load5, l.Load15)
}

// openFiles is the number of open file descriptors of this process.
func openFiles() int {
	p, err := procfs.Self()
	if err != nil {
		return 0
	}
	n, _ := p.FileDescriptorsLen()
	return n
}

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit (never above
// 20,000) and returns the new soft limit. Calling Setrlimit also makes child
// processes, the servers, inherit it.
func raiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("get open-file limit: %w", err)
	}
	want := min(rl.Max, maxOpenFiles)
	if rl.Cur < want {
		rl.Cur = want
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("raise open-file limit to %d: %w", rl.Cur, err)
	}
	return rl.Cur, nil
}

// maxOpenFiles is the most files loadgen lets itself and each server open.
const maxOpenFiles = 20000
