// Command cluster runs Corkboard's production topology on this machine as
// plain processes on loopback, without Docker: PostgreSQL (a private cluster
// under -dir), a 3-node NATS cluster (in this process), 3 server instances
// and Debian's haproxy in front, with deploy/haproxy.cfg, the file
// compose.yaml mounts (round-robin, health checks on /readyz, WebSockets
// tunnelled, no sticky sessions). It is compose.yaml without containers.
//
//	go run ./devtools/cmd/cluster                 # or: make cluster [CLUSTER_FLAGS=...]
//	open http://127.0.0.1:8080
//	kill -HUP <pid>                      # rolling restart of every instance
//	Ctrl-C                               # stop everything, in order
//
// See docs/operations.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/devtools/cluster"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err) // devtools/cluster's errors say "cluster:"
			os.Exit(1)
		}
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "server binary to run (empty: build ./cmd/server into -dir with go build)")
	dir := fs.String("dir", ".data/cluster", "directory for PostgreSQL's data (kept between runs) and the built server")
	addr := fs.String("addr", "127.0.0.1:8080", "address of the load balancer (HAProxy)")
	haproxyCfg := fs.String("haproxy-config", "deploy/haproxy.cfg", "HAProxy's configuration: its server lines are replaced with the instances' addresses")
	instances := fs.Int("instances", 3, "server instances")
	natsNodes := fs.Int("nats", 3, "NATS cluster nodes")
	natsPort := fs.Int("nats-port", 4222, "NATS node i's client port is nats-port+i (0: free ports)")
	natsClusterPort := fs.Int("nats-cluster-port", 6222, "NATS node i's route port is nats-cluster-port+i (0: free ports)")
	basePort := fs.Int("base-port", 8081, "instance i serves on 127.0.0.1:base-port+i (0: free ports)")
	adminBase := fs.Int("admin-base-port", 9091, "instance i's admin endpoint (/metrics, pprof) is on 127.0.0.1:admin-base-port+i (0: free ports)")
	pgPort := fs.Int("pg-port", 54330, "port of the private PostgreSQL (0: a free port)")
	replica := fs.Bool("replica", true, "start a streaming read replica of the private PostgreSQL (pg_basebackup) and send the instances' snapshot and catch-up reads to it")
	replicaPort := fs.Int("replica-port", 54331, "port of the replica (0: a free port)")
	dbURL := fs.String("database-url", "", "use this PostgreSQL instead of starting one")
	logFormat := fs.String("log-format", "text", "the instances' LOG_FORMAT: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: cluster [flags]\n\nRuns PostgreSQL, a NATS cluster, several server instances and HAProxy on loopback.\nSIGHUP restarts the instances one after another; SIGINT/SIGTERM stops everything.\nThe instances also read every server setting from the environment (see server -h).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	os.Chmod(*dir, 0o755) //nolint:errcheck // PostgreSQL may run as the postgres user, which must traverse it
	bin := *server
	if bin == "" {
		var err error
		log.Info("building the server")
		if bin, err = cluster.BuildServer(ctx, "", *dir); err != nil {
			return err
		}
	}
	env := []string{"LOG_FORMAT=" + *logFormat}
	if os.Getenv("DRAIN_DELAY") == "" {
		// Longer than HAProxy needs to take a failing instance out (inter 1s
		// fall 2), as in compose.yaml.
		env = append(env, "DRAIN_DELAY=3s")
	}
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{
		Server: []string{bin}, ServerEnv: env,
		Dir: *dir, DatabaseURL: *dbURL, PostgresPort: *pgPort, Replica: *replica && *dbURL == "", ReplicaPort: *replicaPort,
		Instances: *instances, NATSNodes: *natsNodes, NATSPort: *natsPort, NATSClusterPort: *natsClusterPort,
		HAProxyConfig: *haproxyCfg, Addr: *addr, BasePort: *basePort, AdminBasePort: *adminBase,
		Output: stdout, Logger: log,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ncorkboard cluster ready in %s: %s\n", time.Since(start).Round(time.Millisecond), c.URL())
	if u := c.ReplicaURL(); u != "" {
		fmt.Fprintf(stdout, "  DATABASE_REPLICA_URL=%s\n", u)
	}
	for _, in := range c.Instances() {
		fmt.Fprintf(stdout, "  %s  http://%s  admin http://%s/metrics\n", in.Name, in.Addr, in.AdminAddr)
	}
	user, password := c.NATSCredentials()
	fmt.Fprintf(stdout, "  NATS_URL=%s NATS_USER=%s NATS_PASSWORD=%s\n  kill -HUP %d: rolling restart; Ctrl-C: stop\n\n",
		c.NATSURL(), user, password, os.Getpid())

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			log.Info("rolling restart")
			if err := c.RollingRestart(ctx); err != nil {
				log.Error("rolling restart", "err", err)
			} else {
				log.Info("rolling restart done")
			}
		case <-ctx.Done():
			log.Info("stopping the cluster")
			return c.Stop()
		}
	}
}
