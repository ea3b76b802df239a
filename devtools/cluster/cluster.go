// Package cluster runs Corkboard's production topology as plain processes on
// loopback, without Docker: PostgreSQL (package pglocal), a NATS cluster (in
// this process, package natsbus), several server instances (processes of
// the server binary) and, in front, Debian's haproxy with deploy/haproxy.cfg,
// the file compose.yaml mounts. It is what compose.yaml describes, for
// people (devtools/cmd/cluster), for the load generator (devtools/cmd/loadgen, without the
// balancer) and for tests.
//
// Migrations run once, as `server migrate`, before the instances start with
// MIGRATE=false (compose.yaml's one-shot migrate service does the same).
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/pglocal"
)

// Options configure a cluster.
type Options struct {
	// Server is the command that runs an instance: the server binary and
	// any leading arguments. Required.
	Server []string
	// ServerEnv is added to each instance's environment (which is this
	// process's, with the cluster's own settings on top); it wins.
	ServerEnv []string
	// Dir holds PostgreSQL's data (Dir/pg, kept between runs). Required
	// unless DatabaseURL is set.
	Dir string
	// DatabaseURL, when set, is used instead of starting PostgreSQL.
	DatabaseURL  string
	PostgresPort int // 0: any free port
	// PostgresSettings are extra settings of the private PostgreSQL (-c
	// name=value; not with DatabaseURL), such as track_commit_timestamp.
	PostgresSettings map[string]string
	// Replica, with the private PostgreSQL (not with DatabaseURL), starts a
	// streaming read replica of it (pg_basebackup, Dir/pg-replica) and
	// gives every instance DATABASE_REPLICA_URL; ReplicaPort is its port
	// (0: any free port).
	Replica     bool
	ReplicaPort int

	Instances int // server instances; 0: 3
	NATSNodes int // NATS nodes (more than one: routed into a cluster); 0: 3
	// NATSPort and NATSClusterPort, when set, put node i's client port on
	// NATSPort+i and its route port on NATSClusterPort+i; 0: free ports.
	NATSPort        int
	NATSClusterPort int
	// BasePort, when set, puts instance i on 127.0.0.1:BasePort+i and
	// AdminBasePort its admin endpoint; 0: free ports.
	BasePort      int
	AdminBasePort int

	// HAProxyConfig is the path of deploy/haproxy.cfg; when set, HAProxy
	// runs in front of the instances on Addr ("": a free port), with
	// HAProxyEnv added to its environment (see HAProxyOptions). Without
	// it there is no balancer: callers talk to the instances.
	HAProxyConfig string
	Addr          string
	HAProxyEnv    []string

	Output io.Writer    // every process's output, each line prefixed with its name; nil: discarded
	Logger *slog.Logger // the cluster's own log; nil: discarded
}

// Cluster is a running topology. Its methods are safe for concurrent use
// except Stop, which ends it.
type Cluster struct {
	o       Options
	log     *slog.Logger
	out     *prefixer
	dbURL   string
	natsURL string
	// natsUser and natsPassword are required by the NATS nodes.
	natsUser, natsPassword string
	pg                     *pglocal.Server
	replica                *pglocal.Server // with Options.Replica
	replicaURL             string
	nats                   []*natsbus.Server
	instances              []*Instance
	lb                     *HAProxy
}

// Instance is one server process. Addr and AdminAddr stay the same across
// restarts.
type Instance struct {
	Name      string
	Addr      string // 127.0.0.1:port
	AdminAddr string

	mu   sync.Mutex
	proc *process
}

func (in *Instance) process() *process {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.proc
}

// Pid is the instance's current process id (0 before it started).
func (in *Instance) Pid() int {
	if p := in.process(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// Exited reports whether the instance's current process has ended, and
// with which error.
func (in *Instance) Exited() (bool, error) {
	if p := in.process(); p != nil {
		return p.exited()
	}
	return false, nil
}

// Start starts the topology and returns once every instance is ready and,
// with HAProxyConfig, HAProxy takes each of them as up. On error it stops
// what it started.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	if len(o.Server) == 0 {
		return nil, errors.New("cluster: no server command")
	}
	if o.DatabaseURL == "" && o.Dir == "" {
		return nil, errors.New("cluster: no data directory and no DATABASE_URL")
	}
	if o.Instances == 0 {
		o.Instances = 3
	}
	if o.NATSNodes == 0 {
		o.NATSNodes = 3
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c = &Cluster{o: o, log: o.Logger, out: &prefixer{w: o.Output}}
	defer func() {
		if err != nil {
			c.Stop() //nolint:errcheck // reporting the first error
			c = nil
		}
	}()
	if o.HAProxyConfig != "" { // before anything starts
		if _, err := haproxyBinary(); err != nil {
			return c, fmt.Errorf("cluster: %w", err)
		}
		if _, err := os.Stat(o.HAProxyConfig); err != nil {
			return c, fmt.Errorf("cluster: HAProxy's configuration (run from the repository, or name it): %w", err)
		}
	}

	if err := c.startPostgres(ctx); err != nil {
		return c, err
	}
	if err := c.startNATS(); err != nil {
		return c, err
	}
	// Migrations: once, before any instance serves.
	c.log.Info("migrating the database")
	if err := c.run(ctx, "migrate", []string{"migrate"}); err != nil {
		return c, fmt.Errorf("cluster: server migrate: %w", err)
	}

	for i := range o.Instances {
		in := &Instance{Name: fmt.Sprintf("server-%d", i+1)}
		if in.Addr, err = loopbackAddr(portOf(o.BasePort, i)); err != nil {
			return c, err
		}
		if in.AdminAddr, err = loopbackAddr(portOf(o.AdminBasePort, i)); err != nil {
			return c, err
		}
		c.instances = append(c.instances, in)
	}
	errs := make([]error, len(c.instances))
	var wg sync.WaitGroup
	for i, in := range c.instances {
		wg.Go(func() { errs[i] = c.startInstance(ctx, in) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return c, err
	}

	if o.HAProxyConfig != "" {
		var addrs []string
		for _, in := range c.instances {
			addrs = append(addrs, in.Addr)
		}
		c.lb, err = StartHAProxy(ctx, HAProxyOptions{Config: o.HAProxyConfig, Addr: o.Addr, Servers: addrs,
			Env: o.HAProxyEnv, Output: c.out.named("haproxy")})
		if err != nil {
			return c, fmt.Errorf("cluster: %w", err)
		}
	}
	c.log.Info("cluster ready", "url", c.URL())
	return c, nil
}

func portOf(base, i int) int {
	if base == 0 {
		return 0
	}
	return base + i
}

func (c *Cluster) startPostgres(ctx context.Context) error {
	if c.o.DatabaseURL != "" {
		c.dbURL = c.o.DatabaseURL
		return nil
	}
	dir, err := filepath.Abs(filepath.Join(c.o.Dir, "pg"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.o.Dir, 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.log.Info("starting PostgreSQL", "dir", dir)
	pg, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Port: c.o.PostgresPort, Settings: c.o.PostgresSettings,
		Log: c.out.named("postgres")})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.pg = pg
	if err := pg.CreateDatabase(ctx, "corkboard"); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.dbURL = pg.URL("corkboard")
	if !c.o.Replica {
		return nil
	}
	c.log.Info("starting a streaming replica", "dir", dir+"-replica")
	c.replica, err = pg.StartReplica(ctx, pglocal.Options{Dir: dir + "-replica", Port: c.o.ReplicaPort,
		Log: c.out.named("replica")})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.replicaURL = c.replica.URL("corkboard")
	return nil
}

// ReplicaURL is the DATABASE_REPLICA_URL the instances get; "" without a
// replica.
func (c *Cluster) ReplicaURL() string { return c.replicaURL }

// startNATS starts the NATS nodes in this process: one alone, or several
// routed into one cluster.
func (c *Cluster) startNATS() error {
	n := c.o.NATSNodes
	// Never an open bus: the nodes require a user, with a password made
	// for this cluster, of clients and of each other's routes.
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("cluster: NATS password: %w", err)
	}
	c.natsUser, c.natsPassword = "corkboard", hex.EncodeToString(secret)
	for i := range n {
		so := natsbus.ServerOptions{Port: -1, Name: fmt.Sprintf("corkboard-%d", i+1),
			User: c.natsUser, Password: c.natsPassword}
		if c.o.NATSPort != 0 {
			so.Port = c.o.NATSPort + i
		}
		if n > 1 {
			so.Cluster, so.ClusterPort = "corkboard", -1
			if c.o.NATSClusterPort != 0 {
				so.ClusterPort = c.o.NATSClusterPort + i
			}
			if i > 0 {
				so.Routes = []string{c.nats[0].RouteURL()}
			}
		}
		s, err := natsbus.StartServer(so)
		if err != nil {
			return fmt.Errorf("cluster: NATS node %d: %w", i+1, err)
		}
		c.nats = append(c.nats, s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range c.nats {
		for s.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				return fmt.Errorf("cluster: the %d NATS nodes did not route to each other within 10s", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	c.natsURL = natsbus.ClientURLs(c.nats)
	c.log.Info("NATS ready", "nodes", n, "urls", c.natsURL)
	return nil
}

// env is an instance's environment.
func (c *Cluster) env(in *Instance) []string {
	env := os.Environ()
	if c.replicaURL != "" {
		env = append(env, "DATABASE_REPLICA_URL="+c.replicaURL)
	}
	env = append(env, "DATABASE_URL="+c.dbURL, "NATS_URL="+c.natsURL, "MIGRATE=false",
		"NATS_USER="+c.natsUser, "NATS_PASSWORD="+c.natsPassword,
		"TRUSTED_PROXIES=127.0.0.1/32", "LOCAL_POSTGRES=")
	if in != nil {
		env = append(env, "ADDR="+in.Addr, "ADMIN_ADDR="+in.AdminAddr)
	}
	return append(env, c.o.ServerEnv...)
}

// run runs a server subcommand to its end.
func (c *Cluster) run(ctx context.Context, name string, args []string) error {
	cmd := exec.CommandContext(ctx, c.o.Server[0], append(c.o.Server[1:], args...)...)
	cmd.Env = c.env(nil)
	w := c.out.named(name)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = sysProcAttr()
	return cmd.Run()
}

// startInstance starts in's process and waits until it is ready.
func (c *Cluster) startInstance(ctx context.Context, in *Instance) error {
	cmd := exec.Command(c.o.Server[0], append(c.o.Server[1:], "serve")...)
	cmd.Env = c.env(in)
	w := c.out.named(in.Name)
	cmd.Stdout, cmd.Stderr = w, w
	p, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("cluster: start %s: %w", in.Name, err)
	}
	in.mu.Lock()
	in.proc = p
	in.mu.Unlock()
	c.log.Info("started instance", "name", in.Name, "addr", in.Addr, "admin", in.AdminAddr, "pid", cmd.Process.Pid)
	return c.waitReady(ctx, in, p)
}

func (c *Cluster) waitReady(ctx context.Context, in *Instance, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + in.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.Done():
			return fmt.Errorf("cluster: %s exited before it was ready: %v", in.Name, p.Err())
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s not ready: %w", in.Name, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// URL is the balancer's base URL, http://host:port, or without one the
// first instance's.
func (c *Cluster) URL() string {
	if c.lb != nil {
		return c.lb.URL()
	}
	return "http://" + c.instances[0].Addr
}

// DatabaseURL is the database the instances share.
func (c *Cluster) DatabaseURL() string { return c.dbURL }

// NATSURL is the NATS_URL the instances get (every node).
func (c *Cluster) NATSURL() string { return c.natsURL }

// NATSCredentials are the NATS_USER and NATS_PASSWORD the nodes require.
func (c *Cluster) NATSCredentials() (user, password string) { return c.natsUser, c.natsPassword }

// Instances are the server instances, in order.
func (c *Cluster) Instances() []*Instance { return c.instances }

// Balancer is HAProxy, or nil without one.
func (c *Cluster) Balancer() *HAProxy { return c.lb }

// StopInstance stops instance i for good (SIGTERM; SIGKILL after 60s).
func (c *Cluster) StopInstance(i int) error {
	if p := c.instances[i].process(); p != nil {
		return p.stop(c.instances[i].Name, 60*time.Second)
	}
	return nil
}

// Restart restarts instance i as a rolling restart does: SIGTERM (it fails
// /readyz, waits its drain delay, closes its WebSockets with "going away"
// and drains), wait for the exit, start it again on the same ports and wait
// until it is ready and, with a balancer, back in HAProxy's rotation.
// onStopping, when set, runs right after the SIGTERM.
func (c *Cluster) Restart(ctx context.Context, i int, onStopping func(*Instance)) error {
	in := c.instances[i]
	c.log.Info("restarting instance", "name", in.Name)
	if p := in.process(); p != nil {
		stopped := make(chan error, 1)
		go func() { stopped <- p.stop(in.Name, 60*time.Second) }()
		if onStopping != nil {
			onStopping(in)
		}
		if err := <-stopped; err != nil {
			return fmt.Errorf("cluster: %s: %w", in.Name, err)
		}
	}
	if err := c.startInstance(ctx, in); err != nil {
		return err
	}
	if c.lb == nil {
		return nil
	}
	// Back in rotation before the caller takes the next one out.
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		ready, err := c.lb.Ready(ctx)
		if err == nil && slices.Contains(ready, in.Addr) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: HAProxy does not take %s as up (%v): %w", in.Name, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// RollingRestart restarts every instance, one after another.
func (c *Cluster) RollingRestart(ctx context.Context) error {
	for i := range c.instances {
		if err := c.Restart(ctx, i, nil); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops everything in the reverse order of start: HAProxy, the
// instances (SIGTERM, at once), NATS, the replica, PostgreSQL. It returns what did not
// stop cleanly.
func (c *Cluster) Stop() error {
	var errs []error
	if c.lb != nil {
		errs = append(errs, c.lb.Stop())
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, in := range c.instances {
		wg.Go(func() {
			p := in.process()
			if p == nil {
				return
			}
			if err := p.stop(in.Name, 60*time.Second); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, s := range c.nats {
		s.Shutdown()
	}
	if c.replica != nil {
		errs = append(errs, c.replica.Stop())
	}
	if c.pg != nil {
		errs = append(errs, c.pg.Stop())
	}
	return errors.Join(errs...)
}

func loopbackAddr(port int) (string, error) {
	if port != 0 {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("cluster: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ServerPackage is the server's import path.
const ServerPackage = "github.com/corkboard/corkboard/cmd/server"

// BuildServer builds the server of the corkboard module in src ("": the
// current directory's) into dir and returns the binary's absolute path.
func BuildServer(ctx context.Context, src, dir string) (string, error) {
	bin, err := filepath.Abs(filepath.Join(dir, "server"))
	if err != nil {
		return "", err
	}
	pkgDir, err := goOutput(ctx, src, "list", "-f", "{{.Dir}}", ServerPackage)
	if err != nil {
		return "", fmt.Errorf("find %s (run inside the corkboard module, or name a built server): %w", ServerPackage, err)
	}
	if _, err := goOutput(ctx, pkgDir, "build", "-o", bin, ServerPackage); err != nil {
		return "", fmt.Errorf("build the server: %w", err)
	}
	return bin, nil
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}
