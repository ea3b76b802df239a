package benchmarks

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mutationScript is the pgbench script of one card PATCH, relative to this
// package's directory (where `go test` runs the benchmarks).
const mutationScript = "../../scripts/pgbench/mutation.sql"

// benchPgbench runs b.N transactions of scripts/pgbench/mutation.sql with
// cfg.writers clients (prepared statements, as pgx uses them) and reports
// pgbench's own rate (without connection set-up) and the latencies from its
// per-transaction log.
func benchPgbench(b *testing.B, cfg mutationConfig) {
	e := getEnv(b)
	bin, err := pgbenchPath()
	if err != nil {
		b.Fatal(err)
	}
	script, err := filepath.Abs(mutationScript)
	if err != nil {
		b.Fatal(err)
	}
	e.checkpoint(b)
	perClient := max(1, (b.N+cfg.writers-1)/cfg.writers)
	logDir := b.TempDir()
	if err := os.Chmod(logDir, 0o777); err != nil {
		b.Fatal(err)
	}
	args := []string{
		"--no-vacuum", "--protocol=prepared",
		"--client=" + strconv.Itoa(cfg.writers), "--jobs=" + strconv.Itoa(min(cfg.writers, 2)),
		"--transactions=" + strconv.Itoa(perClient),
		"--file=" + script,
		"--define=boards=" + strconv.Itoa(cfg.boards), "--define=cards=" + strconv.Itoa(cardsPerBoard),
		"--define=user=" + e.user,
		"--log", "--log-prefix=" + filepath.Join(logDir, "txn"),
		e.dbURL,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = logDir
	cpu := e.startCPU(b.Name())
	b.ResetTimer()
	out, err := cmd.CombinedOutput()
	b.StopTimer()
	settle()
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	tps, err := pgbenchTPS(out)
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	lat, err := pgbenchLatencies(logDir)
	if err != nil {
		b.Fatalf("pgbench log: %v", err)
	}
	if want := perClient * cfg.writers; len(lat) != want {
		b.Fatalf("pgbench logged %d transactions, want %d\n%s", len(lat), want, out)
	}
	cpuPerOp := cpu.stop(len(lat), cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	p50, p99 := summarize(lat)
	record(b, result{config: cfg.name(), impl: "pgbench", ops: tps, p50: p50, p99: p99, extra: cpuPerOp})
}

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)

func pgbenchTPS(out []byte) (float64, error) {
	if m := regexp.MustCompile(`(?m)^number of failed transactions: ([1-9][0-9]*)`).FindSubmatch(out); m != nil {
		return 0, fmt.Errorf("%s transactions failed", m[1])
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no tps line in the output")
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// pgbenchLatencies reads the per-transaction logs: each line is
// "client transaction latency_us script epoch_s epoch_us".
func pgbenchLatencies(dir string) ([]time.Duration, error) {
	files, err := filepath.Glob(filepath.Join(dir, "txn.*"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no log files in %s (%v)", dir, err)
	}
	var lat []time.Duration
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %q: %w", name, sc.Text(), err)
			}
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return lat, nil
}

// pgbenchPath finds pgbench: $PGBENCH, $PG_BINDIR, the Debian directories
// (version 15 first, then the newest), then $PATH.
func pgbenchPath() (string, error) {
	var candidates []string
	if p := os.Getenv("PGBENCH"); p != "" {
		candidates = append(candidates, p)
	}
	if d := os.Getenv("PG_BINDIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "pgbench"))
	}
	candidates = append(candidates, "/usr/lib/postgresql/15/bin/pgbench")
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	slices.Reverse(dirs) // roughly newest first; exact order does not matter
	candidates = append(candidates, dirs...)
	if p, err := exec.LookPath("pgbench"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("pgbench not found (tried %s): install it with `apt-get install postgresql-contrib`, or set $PGBENCH",
		strings.Join(candidates, ", "))
}
