//go:build linux

package main

import (
	"os"
	"time"

	"github.com/prometheus/procfs"

	"github.com/corkboard/corkboard/devtools/procstat"
)

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
		return time.Duration(t) * procstat.ClockTick
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

// openFiles is the number of open file descriptors of this process.
func openFiles() int {
	p, err := procfs.Self()
	if err != nil {
		return 0
	}
	n, _ := p.FileDescriptorsLen()
	return n
}
