//go:build linux

package pglocal

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr runs a child in its own process group, as cred (nil: as
// ourselves), and has the kernel send it deathSig if we die.
func sysProcAttr(cred *syscall.Credential, deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: deathSig}
}

type procKind int

const (
	procGone     procKind = iota // no such process, or cannot tell
	procPostgres                 // a running postgres
	procOther                    // a running program that is not postgres
)

func processState(pid int) procKind {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return procGone
	}
	if strings.TrimSpace(string(b)) == "postgres" {
		return procPostgres
	}
	return procOther
}
