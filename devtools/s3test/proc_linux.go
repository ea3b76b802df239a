//go:build linux

package s3test

import "syscall"

// sysProcAttr has the kernel kill the server if the test process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
