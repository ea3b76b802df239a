//go:build linux

// Command peerbench measures Corkboard side by side with Centrifugo (the
// release in Version, built by scripts/centrifugo.sh) on this machine, on
// loopback: the same fan-out — N WebSocket subscribers of one board / one
// channel, changes at fixed rates, each change an event of the size of a
// Corkboard card event — through the same raw WebSocket client, one server
// after the other at each rate (alternating which goes first), and prints
// per rate and server the deliveries/s sustained, request sent → delivered
// p50/p99, server CPU per delivery, the writer's request latency and RSS
// per idle subscribed connection, with the ratios.
//
// Corkboard is driven by loadgen (devtools/cmd/loadgen): PostgreSQL
// (durable), NATS and one server started with devtools/cluster, a change
// is a card PATCH. Centrifugo runs as a process with a configuration
// peerbench writes (insecure client mode, an HTTP API key, no history); a
// change is an HTTP API publish. Every run is bounded in time and size.
//
//	go run ./devtools/cmd/peerbench                  # 5,000 subscribers; 4, 8, 12, 16, 24, 32 changes/s
//	go run ./devtools/cmd/peerbench -rates 8,16 -duration 10s -subscribers 2000
//
// See docs/load.md, "Against Centrifugo".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/devtools/cluster"
	"github.com/corkboard/corkboard/devtools/procstat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(1)
	}
}

// Config is one peerbench run.
type Config struct {
	Rates       []float64 // changes per second, in order
	Rounds      int       // times the whole sequence of rates is run
	Subscribers int
	Writers     int
	Duration    time.Duration // of the writing, per server and rate
	Settle      time.Duration
	IdleWait    time.Duration
	DialWorkers int
	MaxRun      time.Duration // bound of one server's run at one rate
	MaxDuration time.Duration // bound of the whole
	Servers     []string      // corkboard, centrifugo
	ServerBin   string        // Corkboard's server binary ("": build ./cmd/server)
	JSON        bool
	JSONOut     string // also write the results as JSON to this file
	Verbose     bool
}

func parseConfig(args []string, stderr io.Writer) (Config, error) {
	c := Config{Subscribers: 5000, Writers: 16, Duration: 15 * time.Second, Settle: 15 * time.Second,
		IdleWait: 2 * time.Second, DialWorkers: 32, MaxRun: 4 * time.Minute, MaxDuration: 40 * time.Minute}
	fs := flag.NewFlagSet("peerbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: peerbench [flags]\n\n"+
			"Runs the same fan-out against Corkboard (through loadgen) and Centrifugo %s\n"+
			"(scripts/centrifugo.sh builds it) on 127.0.0.1, alternating them at each rate,\n"+
			"and prints deliveries/s, latency, CPU per delivery and RSS per connection with\n"+
			"the ratios. A round stops once both fell behind at two rates in a row. See docs/load.md.\n\n", Version)
		fs.PrintDefaults()
	}
	rates := "4,8,12,16,24,32"
	servers := "corkboard,centrifugo"
	fs.StringVar(&rates, "rates", rates, "comma-separated changes per second, one step each")
	fs.IntVar(&c.Rounds, "rounds", 1, "run the sequence of rates this many times (the table then shows medians too)")
	fs.IntVar(&c.Subscribers, "subscribers", c.Subscribers, "WebSocket subscribers of the one board / channel")
	fs.IntVar(&c.Writers, "writers", c.Writers, "concurrent HTTP writers (PATCHes or publishes)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "how long the writers run, per server and rate")
	fs.DurationVar(&c.Settle, "settle", c.Settle, "longest wait for every subscriber to have every change after the writers stop")
	fs.DurationVar(&c.IdleWait, "idle-wait", c.IdleWait, "pause after the subscribers are open before reading the server's RSS")
	fs.IntVar(&c.DialWorkers, "dial-workers", c.DialWorkers, "WebSocket dials in flight at once")
	fs.DurationVar(&c.MaxRun, "max-run", c.MaxRun, "hard limit of one server's run at one rate")
	fs.DurationVar(&c.MaxDuration, "max-duration", c.MaxDuration, "hard limit of the whole")
	fs.StringVar(&servers, "servers", servers, "which servers to run, in the first rate's order (corkboard, centrifugo)")
	fs.StringVar(&c.ServerBin, "server-bin", "", "Corkboard server binary to run (default: build ./cmd/server)")
	fs.BoolVar(&c.JSON, "json", false, "print the results as JSON")
	fs.StringVar(&c.JSONOut, "json-out", "", "also write the results as JSON to this file")
	fs.BoolVar(&c.Verbose, "v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	var errs []error
	for _, r := range strings.Split(rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 || v > 1000 {
			errs = append(errs, fmt.Errorf("-rates: %q is not a rate of 0 to 1000 changes/s", r))
			continue
		}
		c.Rates = append(c.Rates, v)
	}
	for _, s := range strings.Split(servers, ",") {
		s = strings.TrimSpace(s)
		if s != "corkboard" && s != "centrifugo" {
			errs = append(errs, fmt.Errorf("-servers: %q is not corkboard or centrifugo", s))
			continue
		}
		c.Servers = append(c.Servers, s)
	}
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	check(len(c.Servers) >= 1 && len(c.Servers) <= 2 && (len(c.Servers) == 1 || c.Servers[0] != c.Servers[1]),
		"-servers: one or both of corkboard and centrifugo")
	check(c.Rounds >= 1 && c.Rounds <= 20, "-rounds must be 1 to 20")
	check(c.Subscribers >= 1 && c.Subscribers <= 15000, "-subscribers must be 1 to 15000")
	check(c.Writers >= 1 && c.Writers <= 256, "-writers must be 1 to 256")
	check(c.Duration >= time.Second && c.Duration <= 5*time.Minute, "-duration must be 1s to 5m")
	check(c.Settle > 0 && c.Settle <= 5*time.Minute, "-settle must be positive and at most 5m")
	check(c.IdleWait >= 0 && c.IdleWait <= time.Minute, "-idle-wait must be 0 to 1m")
	check(c.DialWorkers >= 1 && c.DialWorkers <= 512, "-dial-workers must be 1 to 512")
	check(c.MaxRun > 0 && c.MaxRun <= time.Hour, "-max-run must be positive and at most 1h")
	check(c.MaxDuration > 0 && c.MaxDuration <= 3*time.Hour, "-max-duration must be positive and at most 3h")
	for _, r := range c.Rates {
		// Corkboard allows 50 requests/s per user; loadgen has one user per writer.
		check(r/float64(c.Writers) <= 45, fmt.Sprintf("-rates: %g changes/s from %d writers is over 45/s per writer (Corkboard's per-user limit is 50/s): use more -writers", r, c.Writers))
	}
	return c, errors.Join(errs...)
}

// Main runs peerbench with args and prints the table to stdout.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(ctx, c.MaxDuration)
	defer cancel()
	if limit, err := procstat.RaiseFileLimit(); err != nil {
		return err
	} else if need := uint64(c.Subscribers + c.Writers + 300); need > limit {
		return fmt.Errorf("%d subscribers need about %d open files; the limit is %d", c.Subscribers, need, limit)
	}
	results, err := run(ctx, c, log)
	if c.JSONOut != "" {
		b, jerr := json.MarshalIndent(results, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(c.JSONOut, append(b, '\n'), 0o644)
		}
		if jerr != nil {
			return fmt.Errorf("-json-out: %w", jerr)
		}
	}
	if c.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(results); jerr != nil {
			return jerr
		}
	} else {
		printTable(stdout, c, results)
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		if r.Err == "" && !r.Correctness.OK() && !r.Behind() {
			return fmt.Errorf("%s at %g changes/s: a stream was not exactly the acknowledged changes", r.Server, r.Rate)
		}
	}
	return nil
}

// run builds what Corkboard needs and runs the servers at each rate,
// alternating which goes first, until both have fallen behind at two rates
// in a row (once could be the shared machine's noise); -rounds times.
func run(ctx context.Context, c Config, log *slog.Logger) ([]*Result, error) {
	var loadgen, server string
	if contains(c.Servers, "centrifugo") {
		bin, err := centrifugoPath()
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("centrifugo %s: %w (build it with scripts/centrifugo.sh)", Version, err)
		}
	}
	if contains(c.Servers, "corkboard") {
		dir, err := os.MkdirTemp("", "corkboard-peerbench-bin-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		log.Info("building loadgen and the server")
		if loadgen, err = buildLoadgen(ctx, dir); err != nil {
			return nil, err
		}
		server = c.ServerBin
		if server == "" {
			if server, err = cluster.BuildServer(ctx, "", dir); err != nil {
				return nil, err
			}
		}
	}
	var results []*Result
	for round := range c.Rounds {
		bothBehind := 0 // rates in a row at which both fell behind
		for i, rate := range c.Rates {
			order := c.Servers
			if (i+round)%2 == 1 && len(order) == 2 {
				order = []string{order[1], order[0]}
			}
			behind := 0
			for _, s := range order {
				log.Info("run", "round", round+1, "server", s, "rate", rate)
				var res *Result
				var err error
				if s == "corkboard" {
					res, err = runCorkboard(ctx, c, loadgen, server, rate, log)
				} else {
					res, err = runCentrifugo(ctx, c, rate, log)
				}
				if ctx.Err() != nil {
					return results, ctx.Err()
				}
				if err != nil {
					log.Warn("run failed", "server", s, "rate", rate, "err", err)
					res = &Result{Server: s, Rate: rate, Offered: rate * float64(c.Subscribers), Err: err.Error()}
				}
				res.Round = round + 1
				results = append(results, res)
				if res.Behind() {
					behind++
				}
			}
			if behind < len(order) {
				bothBehind = 0
			} else if bothBehind++; bothBehind == 2 {
				break
			}
		}
	}
	return results, nil
}

// buildLoadgen builds devtools/cmd/loadgen of this module into dir.
func buildLoadgen(ctx context.Context, dir string) (string, error) {
	bin, err := filepath.Abs(filepath.Join(dir, "loadgen"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/corkboard/corkboard/devtools/cmd/loadgen")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build loadgen (run inside the corkboard module): %w\n%s", err, stderr.String())
	}
	return bin, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
