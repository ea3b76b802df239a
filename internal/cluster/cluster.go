// Package cluster runs Corkboard's production topology as plain processes on
// loopback, without Docker: PostgreSQL (package pglocal), a NATS cluster (in
// this process, package natsbus), several server instances (processes of
// the server binary) and a load balancer in front (package balancer). It is
// what compose.yaml describes, for people (cmd/cluster) and for tests.
//
// Migrations run once, as `server migrate`, before the instances start with
// MIGRATE=false (compose.yaml's one-shot migrate service does the same).
package cluster

import (
	"bufio"
	"bytes"
	"context"
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
	"sync"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/internal/balancer"
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

	Instances int // server instances; 0: 3
	NATSNodes int // NATS cluster nodes; 0: 3

	// Addr is the balancer's address; "": 127.0.0.1:8080.
	Addr string
	// BasePort, when set, puts instance i on 127.0.0.1:BasePort+i and
	// AdminBasePort its admin endpoint; 0: free ports.
	BasePort      int
	AdminBasePort int
	// CheckInterval is how often the balancer checks /readyz; 0: 500ms.
	CheckInterval time.Duration

	Output io.Writer    // instances' output, each line prefixed with its name; nil: discarded
	Logger *slog.Logger // the cluster's own log; nil: discarded
}

// Cluster is a running topology. Its methods are safe for concurrent use
// except Stop, which ends it.
type Cluster struct {
	o         Options
	log       *slog.Logger
	out       *prefixer
	dbURL     string
	natsURL   string
	pg        *pglocal.Server
	nats      []*natsbus.Server
	instances []*Instance
	lb        *balancer.Balancer
	lbSrv     *http.Server
	lbLn      net.Listener
	lbServed  chan error
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

type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed
}

// Start starts the topology and returns once every instance is ready and the
// balancer serves. On error it stops what it started.
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
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.CheckInterval == 0 {
		o.CheckInterval = 500 * time.Millisecond
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c = &Cluster{o: o, log: o.Logger, out: &prefixer{w: o.Output}, lbServed: make(chan error, 1)}
	defer func() {
		if err != nil {
			c.Stop() //nolint:errcheck // reporting the first error
			c = nil
		}
	}()

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
		port, adminPort := 0, 0
		if o.BasePort != 0 {
			port = o.BasePort + i
		}
		if o.AdminBasePort != 0 {
			adminPort = o.AdminBasePort + i
		}
		if in.Addr, err = loopbackAddr(port); err != nil {
			return c, err
		}
		if in.AdminAddr, err = loopbackAddr(adminPort); err != nil {
			return c, err
		}
		c.instances = append(c.instances, in)
	}
	errs := make([]error, len(c.instances))
	var wg sync.WaitGroup
	for i, in := range c.instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.startInstance(ctx, in)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return c, err
	}

	var backends []string
	for _, in := range c.instances {
		backends = append(backends, in.Addr)
	}
	c.lb = balancer.New(balancer.Options{Backends: backends, CheckInterval: o.CheckInterval, Logger: c.log})
	if c.lbLn, err = net.Listen("tcp", o.Addr); err != nil {
		return c, fmt.Errorf("cluster: balancer: listen on %s: %w", o.Addr, err)
	}
	c.lbSrv = &http.Server{Handler: c.lb, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelDebug)}
	go func() { c.lbServed <- c.lbSrv.Serve(c.lbLn) }()
	c.log.Info("cluster ready", "url", c.URL())
	return c, nil
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
	pg, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Port: c.o.PostgresPort, Log: c.out.named("postgres")})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.pg = pg
	if err := pg.CreateDatabase(ctx, "corkboard"); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.dbURL = pg.URL("corkboard")
	return nil
}

func (c *Cluster) startNATS() error {
	nodes, err := natsbus.StartCluster("corkboard", c.o.NATSNodes)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.nats, c.natsURL = nodes, natsbus.ClientURLs(nodes)
	c.log.Info("NATS cluster ready", "nodes", c.o.NATSNodes, "urls", c.natsURL)
	return nil
}

// env is an instance's environment.
func (c *Cluster) env(in *Instance) []string {
	env := os.Environ()
	env = append(env, "DATABASE_URL="+c.dbURL, "NATS_URL="+c.natsURL, "MIGRATE=false",
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
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cluster: start %s: %w", in.Name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
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
		case <-p.done:
			return fmt.Errorf("cluster: %s exited before it was ready: %v", in.Name, p.err)
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s not ready: %w", in.Name, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// stopInstance sends SIGTERM and waits for the exit (SIGKILL after
// timeout). It returns the process's error, if it did not exit cleanly.
func (c *Cluster) stopInstance(in *Instance, timeout time.Duration) error {
	in.mu.Lock()
	p := in.proc
	in.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have just exited
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.cmd.Process.Kill() //nolint:errcheck // it may have just exited
		<-p.done
		return fmt.Errorf("%s did not stop within %s and was killed", in.Name, timeout)
	}
}

// URL is the balancer's base URL, http://host:port.
func (c *Cluster) URL() string { return "http://" + c.lbLn.Addr().String() }

// DatabaseURL is the database the instances share.
func (c *Cluster) DatabaseURL() string { return c.dbURL }

// NATSURL is the NATS_URL the instances get (every node).
func (c *Cluster) NATSURL() string { return c.natsURL }

// Instances are the server instances, in order.
func (c *Cluster) Instances() []*Instance { return c.instances }

// Ready is the addresses of the instances the balancer takes as ready.
func (c *Cluster) Ready() []string { return c.lb.Ready() }

// Restart restarts instance i as a rolling restart does: SIGTERM (it fails
// /readyz, waits its drain delay, closes its WebSockets with "going away"
// and drains), wait for the exit, start it again on the same ports and wait
// until it is ready and back in the balancer's rotation. onStopping, when set, runs right after the SIGTERM.
func (c *Cluster) Restart(ctx context.Context, i int, onStopping func(*Instance)) error {
	in := c.instances[i]
	c.log.Info("restarting instance", "name", in.Name)
	in.mu.Lock()
	p := in.proc
	in.mu.Unlock()
	if p != nil {
		p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have just exited
		if onStopping != nil {
			onStopping(in)
		}
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			p.cmd.Process.Kill() //nolint:errcheck // it may have just exited
			<-p.done
			return fmt.Errorf("cluster: %s did not stop within 60s", in.Name)
		}
		if p.err != nil {
			return fmt.Errorf("cluster: %s exited with %w", in.Name, p.err)
		}
	}
	if err := c.startInstance(ctx, in); err != nil {
		return err
	}
	// Back in rotation before the caller takes the next one out.
	deadline := time.Now().Add(10 * time.Second)
	for c.lb != nil && !slices.Contains(c.lb.Ready(), in.Addr) {
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: the balancer does not take %s as ready", in.Name)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
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

// Stop stops everything in the reverse order of start: the instances
// (SIGTERM, at once), the balancer, NATS, PostgreSQL. It returns what did
// not stop cleanly.
func (c *Cluster) Stop() error {
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, in := range c.instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.stopInstance(in, 60*time.Second); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if c.lbSrv != nil {
		c.lbSrv.Close() //nolint:errcheck // the instances are gone
		<-c.lbServed
	}
	if c.lb != nil {
		c.lb.Close()
	}
	for _, s := range c.nats {
		s.Shutdown()
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

// prefixer writes each process's output line by line, prefixed with its
// name, as docker compose does.
type prefixer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *prefixer) named(name string) io.Writer {
	return &lineWriter{p: p, prefix: fmt.Sprintf("%-9s | ", name)}
}

type lineWriter struct {
	p      *prefixer
	prefix string
	buf    bytes.Buffer
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.buf.Write(b)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil { // no full line yet: keep it
			rest := append([]byte(nil), line...)
			l.buf.Reset()
			l.buf.Write(rest)
			return len(b), nil
		}
		l.p.mu.Lock()
		bw := bufio.NewWriter(l.p.w)
		bw.WriteString(l.prefix) //nolint:errcheck // flushed below
		bw.Write(line)           //nolint:errcheck // flushed below
		bw.Flush()               //nolint:errcheck // output is best effort
		l.p.mu.Unlock()
	}
}
