//go:build linux

// Package procstat reads what the load tools (loadgen and peerbench) report
// about processes and the machine from /proc and getrusage: CPU time, the
// resident set size, the load average, and the open-file limit they raise
// before dialing thousands of sockets; and, when a server they started
// fails, the end of its log.
package procstat

import (
	"fmt"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// ClockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100
// on every Linux architecture Go supports.
const ClockTick = 10 * time.Millisecond

// MaxOpenFiles is the most files RaiseFileLimit lets a tool (and the
// servers it starts) open.
const MaxOpenFiles = 20000

// ProcCPU is the CPU time process pid has used (all threads), user and
// system apart, and that of the children it has waited for.
func ProcCPU(pid int) (user, sys, children time.Duration, err error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, 0, 0, err
	}
	return time.Duration(st.UTime) * ClockTick, time.Duration(st.STime) * ClockTick,
		time.Duration(st.CUTime+st.CSTime) * ClockTick, nil
}

// RSS is the resident set size of pid (VmRSS) in bytes.
func RSS(pid int) (int64, error) {
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

// SelfCPU is the CPU time this process has used (0 if getrusage fails).
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MachineCPU returns the busy and total CPU time of the machine, summed over
// all CPUs, from /proc/stat (iowait counts as idle; guest time is already
// in user time).
func MachineCPU() (busy, total time.Duration, err error) {
	st, err := procfs.NewStat()
	if err != nil {
		return 0, 0, err
	}
	c := st.CPUTotal
	idle := c.Idle + c.Iowait
	sum := idle + c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
	return time.Duration((sum - idle) * float64(time.Second)), time.Duration(sum * float64(time.Second)), nil
}

// LoadAverage is the machine's load average over 1, 5 and 15 minutes, as
// "0.52 0.61 0.70" ("" if /proc/loadavg cannot be read).
func LoadAverage() string {
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

// RaiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit (never above
// MaxOpenFiles, never lowering it) and returns the new soft limit. Child
// processes, the servers, inherit it.
func RaiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("get open-file limit: %w", err)
	}
	rl.Cur = max(rl.Cur, min(rl.Max, MaxOpenFiles))
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("raise open-file limit to %d: %w", rl.Cur, err)
	}
	return rl.Cur, nil
}
