// Command benchcompare runs two builds of the server — the working tree and
// a base commit — through the same load generator scenarios in one session,
// alternating them round by round, and prints each figure's median for both
// and the ratio, so that a change can show on a noisy machine that it made
// things faster, not slower:
//
//	go run ./devtools/cmd/benchcompare -base main -scenarios fanout,idle -rounds 3
//
// The base is checked out into a temporary git worktree and built there;
// loadgen is built once, from the working tree, and drives both. A round
// whose stream is not exactly the committed events (loadgen's gap and
// duplicate checks) fails the comparison. See docs/load.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
}

type config struct {
	base      string
	scenarios []string
	rounds    int
	loadgen   []string // more loadgen flags, for every run
	dir       string
	keep      bool
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	var scenarios, extra string
	fs := flag.NewFlagSet("benchcompare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.base, "base", "", "the commit to compare the working tree with (any git revision: main, HEAD~3, a hash)")
	fs.StringVar(&scenarios, "scenarios", "fanout,idle,cross", "loadgen scenarios, comma-separated")
	fs.IntVar(&c.rounds, "rounds", 3, "runs of each build per scenario (alternating which goes first)")
	fs.StringVar(&extra, "loadgen-flags", "", "more loadgen flags for every run, space-separated (e.g. '-duration 10s -subscribers 2000')")
	fs.StringVar(&c.dir, "dir", "test-artifacts/bench-compare", "where the builds and the runs' JSON reports go")
	fs.BoolVar(&c.keep, "keep-worktree", false, "keep the base's git worktree after the run")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.base == "" {
		return c, errors.New("-base is required: the commit to compare with")
	}
	if c.rounds < 1 || c.rounds > 20 {
		return c, errors.New("-rounds must be 1 to 20")
	}
	for _, s := range strings.Split(scenarios, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.scenarios = append(c.scenarios, s)
		}
	}
	if len(c.scenarios) == 0 {
		return c, errors.New("-scenarios names none")
	}
	c.loadgen = strings.Fields(extra)
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(c.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bins, err := build(ctx, c, dir, stderr)
	if err != nil {
		return err
	}
	var results []scenarioResult
	for _, sc := range c.scenarios {
		res := scenarioResult{name: sc}
		for r := range c.rounds {
			order := []string{"base", "head"}
			if r%2 == 1 {
				order = []string{"head", "base"}
			}
			for _, which := range order {
				fmt.Fprintf(stderr, "benchcompare: %s round %d/%d: %s\n", sc, r+1, c.rounds, which)
				out := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.json", sc, which, r+1))
				rep, err := runLoadgen(ctx, bins.loadgen, bins.server[which], sc, c.loadgen, out, stderr)
				if err != nil {
					return fmt.Errorf("%s, %s build, round %d: %w", sc, which, r+1, err)
				}
				if which == "base" {
					res.base = append(res.base, rep)
				} else {
					res.head = append(res.head, rep)
				}
			}
		}
		results = append(results, res)
	}
	printResults(stdout, c, results)
	return nil
}

type builds struct {
	loadgen string
	server  map[string]string // base, head
}

// build makes the head's server and loadgen from the working tree and the
// base's server from a temporary worktree of the base commit.
func build(ctx context.Context, c config, dir string, stderr io.Writer) (builds, error) {
	b := builds{loadgen: filepath.Join(dir, "loadgen"), server: map[string]string{
		"head": filepath.Join(dir, "head-server"), "base": filepath.Join(dir, "base-server")}}
	root, err := output(ctx, "", "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return b, fmt.Errorf("run inside the corkboard repository: %w", err)
	}
	rev, err := output(ctx, root, "git", "rev-parse", "--verify", c.base+"^{commit}")
	if err != nil {
		return b, fmt.Errorf("base %q: %w", c.base, err)
	}
	fmt.Fprintf(stderr, "benchcompare: building the working tree and %s (%s)\n", c.base, rev[:12])
	if _, err := output(ctx, root, "go", "build", "-o", b.server["head"], "./cmd/server"); err != nil {
		return b, err
	}
	if _, err := output(ctx, root, "go", "build", "-o", b.loadgen, "./devtools/cmd/loadgen"); err != nil {
		return b, err
	}
	wt := filepath.Join(dir, "base-src")
	_, _ = output(ctx, root, "git", "worktree", "remove", "--force", wt) // left by an interrupted run
	if _, err := output(ctx, root, "git", "worktree", "add", "--detach", wt, rev); err != nil {
		return b, err
	}
	if !c.keep {
		defer output(context.Background(), root, "git", "worktree", "remove", "--force", wt) //nolint:errcheck // best effort
	}
	if _, err := output(ctx, wt, "go", "build", "-o", b.server["base"], "./cmd/server"); err != nil {
		return b, fmt.Errorf("build the base: %w", err)
	}
	return b, nil
}

// runLoadgen runs one scenario against one build and decodes its report
// (kept in out). loadgen exits non-zero when the streams were not exactly
// the committed events: that fails the comparison.
func runLoadgen(ctx context.Context, loadgen, server, scenario string, extra []string, out string, stderr io.Writer) (map[string]any, error) {
	args := append([]string{"-scenario", scenario, "-server-bin", server, "-json"}, extra...)
	cmd := exec.CommandContext(ctx, loadgen, args...)
	cmd.Stderr = stderr
	body, err := cmd.Output()
	if werr := os.WriteFile(out, body, 0o644); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return nil, fmt.Errorf("loadgen %s: %w (report in %s)", strings.Join(args, " "), err, out)
	}
	var rep map[string]any
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("loadgen's report: %w", err)
	}
	return rep, nil
}

func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}
