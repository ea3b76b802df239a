//go:build linux

package cluster

import "syscall"

// sysProcAttr runs a child in its own process group (a Ctrl-C in the
// terminal reaches the cluster command only, which stops the instances in
// order), and has the kernel kill it if the cluster process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
