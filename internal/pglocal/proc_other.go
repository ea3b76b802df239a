//go:build unix && !linux

package pglocal

import "syscall"

// sysProcAttr runs a child in its own process group and as cred (nil: as
// ourselves). Outside Linux there is no parent-death signal: a server whose
// parent dies without calling Stop keeps running.
func sysProcAttr(cred *syscall.Credential, _ syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}

type procKind int

const (
	procGone procKind = iota
	procPostgres
	procOther
)

// processState cannot tell outside Linux; PostgreSQL checks the lock file
// itself.
func processState(int) procKind { return procGone }
