//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// Config is one load run, built from a preset and the flags (a flag set on
// the command line wins over the preset).
type Config struct {
	Scenario string // fanout, mutation, cross, idle, or "" (flags only)

	// Topology. Without Targets the run starts Instances server processes
	// (ServerBin, or ./cmd/server built to a temporary binary), one private
	// PostgreSQL and an in-process NATS (a 3-node cluster for more than one
	// instance), all on 127.0.0.1.
	Instances int
	Targets   []string // base URLs of running servers (http://127.0.0.1:8080)
	// DatabaseURL is the targets' database, where loadgen makes most of its
	// accounts (the API lets one address sign up 20, then one every 6 s).
	DatabaseURL string
	ServerBin   string
	ServerSrc   string   // module directory to build the server from; "": the current one
	ServerEnv   []string // extra KEY=VALUE for the server processes
	Profile     string   // directory for the servers' CPU and heap profiles

	// Load.
	Subscribers   int
	Boards        int
	BoardsPerSub  int // boards each subscriber subscribes to; 0: all
	Users         int // least distinct subscriber users per set of boards watched
	ConnsPerUser  int // most connections of one user on one instance (the server's cap)
	Writers       int
	Rate          float64 // total mutations per second
	Mutations     int     // stop after this many mutations; 0: no limit
	Duration      time.Duration
	MoveEvery     int // every MoveEvery-th mutation is a move, the others PATCHes; 0: no moves
	CardsPerBoard int // cards seeded on each board

	// Bounds.
	Settle      time.Duration // longest wait for the stream to settle after the writers stop
	IdleWait    time.Duration // pause after opening the subscribers, before RSS is read
	MaxDuration time.Duration // hard limit of the whole run
	DialWorkers int           // WebSocket dials in flight

	JSON       bool
	Verbose    bool
	CPUProfile string // loadgen's own CPU profile, over the writing phase
}

// presets are the scenarios.
var presets = map[string]Config{
	// (a) 5,000 subscribers of one board on one instance; 30 events/s
	// makes 150,000 deliveries/s.
	"fanout": {Instances: 1, Subscribers: 5000, Boards: 1, Writers: 16, Rate: 30, Duration: 20 * time.Second},
	// (a') the fan-out at 80 % of fanout's offered rate (24 events/s,
	// 120,000 deliveries/s): how long a write takes while delivery runs.
	"mutation": {Instances: 1, Subscribers: 5000, Boards: 1, Writers: 16, Rate: 24, Duration: 20 * time.Second},
	// (b) RSS of idle subscribed connections: no writers.
	"idle": {Instances: 1, Subscribers: 5000, Boards: 1, Writers: 0, Rate: 0, Duration: 0},
	// (c) 3 instances, 2,000 subscribers, 1,000 mutations/s spread over 100
	// boards (one board per subscriber, 20 subscribers per board on all
	// three instances): each board's events cross instances.
	"cross": {Instances: 3, Subscribers: 2000, Boards: 100, BoardsPerSub: 1, Writers: 32, Rate: 1000, Duration: 20 * time.Second},
}

func defaultConfig() Config {
	return Config{
		Instances: 1, Subscribers: 100, Boards: 1, Users: 1, ConnsPerUser: 20, Writers: 2, Rate: 20,
		Duration: 5 * time.Second, MoveEvery: 4, CardsPerBoard: 8,
		Settle: 15 * time.Second, IdleWait: 2 * time.Second, MaxDuration: 10 * time.Minute, DialWorkers: 32,
	}
}

// parseConfig builds the configuration from the command line.
func parseConfig(args []string, stderr io.Writer) (Config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: loadgen [-scenario fanout|mutation|cross|idle] [flags]\n\n"+
			"Starts PostgreSQL, NATS and N server processes on 127.0.0.1 (or uses -targets),\n"+
			"opens WebSocket subscribers, drives writers over HTTP and reports delivery rate,\n"+
			"latency, gaps/duplicates, server CPU per delivery and RSS per connection.\n"+
			"A flag given on the command line overrides the scenario's preset. See docs/load.md.\n\n")
		fs.PrintDefaults()
	}
	var targets, serverEnv string
	fs.StringVar(&c.Scenario, "scenario", "", "preset: fanout, mutation, cross or idle (flags given override it)")
	fs.IntVar(&c.Instances, "instances", c.Instances, "server instances to start")
	fs.StringVar(&targets, "targets", "", "comma-separated base URLs of running servers (loopback only) instead of starting any")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "with -targets: their PostgreSQL, where loadgen makes its accounts (without it, past 20 accounts the API's sign-up limit makes setup slow)")
	fs.StringVar(&c.ServerBin, "server-bin", "", "server binary to run (default: build ./cmd/server)")
	fs.StringVar(&c.ServerSrc, "server-src", "", "build the server from the corkboard module in this directory (default: the current one)")
	fs.StringVar(&serverEnv, "server-env", "", "comma-separated KEY=VALUE added to the servers' environment (e.g. GOGC=50)")
	fs.StringVar(&c.Profile, "profile", "", "write the servers' CPU profiles and a 2 s execution trace (over the writing phase), heap profiles, goroutines and metrics to this directory, from their admin endpoints")
	fs.IntVar(&c.Subscribers, "subscribers", c.Subscribers, "WebSocket subscribers, spread round-robin over the instances")
	fs.IntVar(&c.Boards, "boards", c.Boards, "boards")
	fs.IntVar(&c.BoardsPerSub, "boards-per-sub", 0, "boards each subscriber subscribes to, round-robin (0: all)")
	fs.IntVar(&c.Users, "users", c.Users, "least distinct subscriber users (board viewers) per set of boards watched; more are made as -conns-per-user requires")
	fs.IntVar(&c.ConnsPerUser, "conns-per-user", c.ConnsPerUser, "most WebSocket connections of one user on one instance: the server refuses more (its cap is 20)")
	fs.IntVar(&c.Writers, "writers", c.Writers, "concurrent HTTP writers, spread round-robin over the instances")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "total mutations per second")
	fs.IntVar(&c.Mutations, "mutations", 0, "stop after this many mutations (0: run for -duration)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "how long the writers run")
	fs.IntVar(&c.MoveEvery, "move-every", c.MoveEvery, "every n-th mutation is a card move, the others card PATCHes (0: no moves)")
	fs.IntVar(&c.CardsPerBoard, "cards", c.CardsPerBoard, "cards seeded on each board")
	fs.DurationVar(&c.Settle, "settle", c.Settle, "longest wait for every subscriber to reach the boards' heads after the writers stop")
	fs.DurationVar(&c.IdleWait, "idle-wait", c.IdleWait, "pause after the subscribers are open before reading the servers' RSS")
	fs.DurationVar(&c.MaxDuration, "max-duration", c.MaxDuration, "hard limit of the whole run")
	fs.IntVar(&c.DialWorkers, "dial-workers", c.DialWorkers, "WebSocket dials in flight at once")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write loadgen's own CPU profile of the writing phase to this file")
	fs.BoolVar(&c.Verbose, "v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if c.Scenario != "" {
		p, ok := presets[c.Scenario]
		if !ok {
			return Config{}, fmt.Errorf("-scenario %q: must be fanout, mutation, cross or idle", c.Scenario)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		apply := func(name string, dst, v any) {
			if set[name] {
				return
			}
			switch d := dst.(type) {
			case *int:
				*d = v.(int)
			case *float64:
				*d = v.(float64)
			case *time.Duration:
				*d = v.(time.Duration)
			}
		}
		apply("instances", &c.Instances, p.Instances)
		apply("subscribers", &c.Subscribers, p.Subscribers)
		apply("boards", &c.Boards, p.Boards)
		apply("boards-per-sub", &c.BoardsPerSub, p.BoardsPerSub)
		apply("writers", &c.Writers, p.Writers)
		apply("rate", &c.Rate, p.Rate)
		apply("duration", &c.Duration, p.Duration)
	}
	c.Targets = splitList(targets)
	c.ServerEnv = splitList(serverEnv)
	return c, c.validate()
}

// validate checks the configuration, including that every target is on
// loopback.
func (c *Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	if len(c.Targets) > 0 {
		c.Instances = len(c.Targets)
		for _, t := range c.Targets {
			errs = append(errs, checkLoopbackURL(t))
		}
		check(c.ServerBin == "" && c.ServerSrc == "" && c.Profile == "" && len(c.ServerEnv) == 0,
			"-server-bin, -server-src, -server-env and -profile apply only to servers loadgen starts, not to -targets")
	}
	check(c.ServerBin == "" || c.ServerSrc == "", "-server-bin and -server-src exclude each other")
	check(c.DatabaseURL == "" || len(c.Targets) > 0, "-database-url is for -targets (loadgen starts its own database otherwise)")
	check(c.Instances >= 1 && c.Instances <= 16, "-instances must be 1 to 16")
	check(c.Subscribers >= 0 && c.Subscribers <= 15000, "-subscribers must be 0 to 15000 (20,000 open files per process)")
	check(c.Boards >= 1 && c.Boards <= 1000, "-boards must be 1 to 1000")
	check(c.BoardsPerSub >= 0 && c.BoardsPerSub <= c.Boards, "-boards-per-sub must be 0 to -boards")
	check(c.Users >= 1 && c.Users <= max(1, c.Subscribers), "-users must be 1 to the number of subscribers")
	check(c.ConnsPerUser >= 1, "-conns-per-user must be positive")
	check(c.Writers >= 0 && c.Writers <= 256, "-writers must be 0 to 256")
	check(c.Rate >= 0 && c.Rate <= 100000, "-rate must be 0 to 100000")
	check(c.Writers == 0 || c.Rate > 0, "-rate must be positive when there are writers")
	check(c.Mutations >= 0, "-mutations must not be negative")
	check(c.Duration >= 0 && c.Duration <= 10*time.Minute, "-duration must be 0 to 10m")
	check(c.Writers == 0 || c.Duration > 0 || c.Mutations > 0, "writers need -duration or -mutations")
	check(c.MoveEvery >= 0, "-move-every must not be negative")
	check(c.CardsPerBoard >= 1 && c.CardsPerBoard <= 100, "-cards must be 1 to 100")
	check(c.Settle > 0 && c.Settle <= 5*time.Minute, "-settle must be positive and at most 5m")
	check(c.IdleWait >= 0 && c.IdleWait <= time.Minute, "-idle-wait must be 0 to 1m")
	check(c.MaxDuration > 0 && c.MaxDuration <= time.Hour, "-max-duration must be positive and at most 1h")
	check(c.DialWorkers >= 1 && c.DialWorkers <= 512, "-dial-workers must be 1 to 512")
	for _, kv := range c.ServerEnv {
		check(strings.Contains(kv, "="), "-server-env %q: must be KEY=VALUE", kv)
	}
	return errors.Join(errs...)
}

// checkLoopbackURL accepts only http URLs of a loopback address: loadgen
// never sends load anywhere else.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-targets %q: must be an http:// URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-targets %q: loadgen only targets loopback addresses (127.0.0.0/8, ::1, localhost)", raw)
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
