//go:build linux

package procstat

import (
	"math"
	"os"
	"regexp"
	"syscall"
	"testing"
)

func TestProcCPUAndSelfCPU(t *testing.T) {
	start := SelfCPU()
	x := 1.0
	for SelfCPU()-start < 3*ClockTick {
		for range 100000 {
			x = math.Sqrt(x + 1)
		}
	}
	user, sys, _, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if user+sys <= 0 || user < 0 || sys < 0 {
		t.Fatalf("ProcCPU(self) = user %v, sys %v after burning CPU (%v)", user, sys, x)
	}
	if _, _, _, err := ProcCPU(math.MaxInt32); err == nil {
		t.Fatal("ProcCPU of a pid that does not exist: no error")
	}
}

func TestRSS(t *testing.T) {
	rss, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 {
		t.Fatalf("RSS(self) = %d", rss)
	}
	if _, err := RSS(math.MaxInt32); err == nil {
		t.Fatal("RSS of a pid that does not exist: no error")
	}
}

func TestMachineCPU(t *testing.T) {
	busy, total, err := MachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	if total <= 0 || busy <= 0 || busy > total {
		t.Fatalf("MachineCPU = busy %v, total %v", busy, total)
	}
}

func TestLoadAverage(t *testing.T) {
	got := LoadAverage()
	if !regexp.MustCompile(`^\d+\.\d\d \d+\.\d\d \d+\.\d\d$`).MatchString(got) {
		t.Fatalf("LoadAverage() = %q, want three figures with two decimals", got)
	}
}

func TestRaiseFileLimit(t *testing.T) {
	var before syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before); err != nil {
		t.Fatal(err)
	}
	got, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var after syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after); err != nil {
		t.Fatal(err)
	}
	if got != after.Cur {
		t.Fatalf("RaiseFileLimit() = %d, soft limit now %d", got, after.Cur)
	}
	if want := max(before.Cur, min(before.Max, MaxOpenFiles)); got != want {
		t.Fatalf("RaiseFileLimit() = %d, want %d (soft %d, hard %d before)", got, want, before.Cur, before.Max)
	}
}
