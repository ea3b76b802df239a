package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HAProxyOptions configure StartHAProxy.
type HAProxyOptions struct {
	// Config is the path of deploy/haproxy.cfg, the file compose.yaml
	// mounts. Required.
	Config string
	// Addr is where HAProxy listens (its LB_BIND); "": a free loopback port.
	Addr string
	// Servers are the instances' addresses (host:port); they replace the
	// config's server lines, one line each, with the same options.
	Servers []string
	// Env is added to HAProxy's environment: the LB_* variables the config
	// reads (timeouts, maxconn), for tests that want them short.
	Env []string
	// Output receives HAProxy's log; nil discards it.
	Output io.Writer
}

// HAProxy is a running haproxy process (Debian's package), in master-worker
// mode so that its runtime API can be asked which servers are up.
type HAProxy struct {
	addr    string
	dir     string
	servers []string
	proc    *process
}

// backend is the backend of deploy/haproxy.cfg that the instances serve.
const backend = "corkboard"

// serverLine is a server line of the config: name, address, options.
var serverLine = regexp.MustCompile(`^(\s*)server\s+\S+\s+\S+(.*)$`)

// HAProxyConfig is cfg with its server lines replaced by one line per
// address in servers (server1, server2, ...), each with the options of the
// config's first server line. Nothing else changes: addresses are all that
// differ between compose.yaml and a topology of processes.
func HAProxyConfig(cfg []byte, servers []string) ([]byte, error) {
	var out bytes.Buffer
	done := false
	for line := range strings.Lines(string(cfg)) {
		m := serverLine.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			out.WriteString(line)
			continue
		}
		if done {
			continue
		}
		for i, s := range servers {
			fmt.Fprintf(&out, "%sserver server%d %s%s\n", m[1], i+1, s, m[2])
		}
		done = true
	}
	if !done {
		return nil, errors.New("haproxy config: no server line")
	}
	return out.Bytes(), nil
}

// haproxyBinary finds Debian's haproxy (in /usr/sbin, which a user's PATH
// may lack).
func haproxyBinary() (string, error) {
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy", nil
	}
	return "", errors.New("haproxy is not installed: run `sudo apt-get install haproxy` (scripts/apt.sh's need_haproxy does it for the test and bench scripts)")
}

// StartHAProxy starts HAProxy with o.Config for o.Servers and returns once
// it listens and takes every server as up.
func StartHAProxy(ctx context.Context, o HAProxyOptions) (h *HAProxy, err error) {
	bin, err := haproxyBinary()
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(o.Config)
	if err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	cfg, err := HAProxyConfig(src, o.Servers)
	if err != nil {
		return nil, err
	}
	if o.Addr == "" {
		if o.Addr, err = loopbackAddr(0); err != nil {
			return nil, err
		}
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	h = &HAProxy{addr: o.Addr, servers: o.Servers}
	if h.dir, err = os.MkdirTemp("", "corkboard-haproxy-"); err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	defer func() {
		if err != nil {
			h.Stop() //nolint:errcheck // reporting the first error
		}
	}()
	cfgPath := filepath.Join(h.dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return h, fmt.Errorf("haproxy: %w", err)
	}
	cmd := exec.Command(bin, "-W", "-db", "-S", h.socket(), "-f", cfgPath)
	cmd.Env = append(os.Environ(), "LB_BIND="+o.Addr, "LB_MAXCONN="+strconv.Itoa(maxconn()))
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.Stdout, cmd.Stderr = o.Output, o.Output
	if h.proc, err = startProcess(cmd); err != nil {
		return h, fmt.Errorf("haproxy: start: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		// The master binds the listener before it starts the worker that
		// answers here: a worker that answers serves.
		ready, err := h.Ready(ctx)
		if err == nil && len(ready) == len(o.Servers) {
			return h, nil
		}
		if done, werr := h.proc.exited(); done {
			return h, fmt.Errorf("haproxy exited: %v (its log shows why)", werr)
		}
		select {
		case <-ctx.Done():
			return h, fmt.Errorf("haproxy: not serving every instance: %v (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (h *HAProxy) socket() string { return filepath.Join(h.dir, "master.sock") }

// URL is HAProxy's base URL, http://host:port.
func (h *HAProxy) URL() string { return "http://" + h.addr }

// Addr is the address HAProxy listens on.
func (h *HAProxy) Addr() string { return h.addr }

// Ready returns the addresses of the servers HAProxy takes as up (its
// health checks on /readyz pass), asked of its runtime API.
func (h *HAProxy) Ready(ctx context.Context) ([]string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", h.socket())
	if err != nil {
		return nil, fmt.Errorf("haproxy runtime API: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl) //nolint:errcheck // a read error says it
	} else {
		c.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // a read error says it
	}
	// "@1": the current worker, through the master's socket.
	if _, err := io.WriteString(c, "@1 show servers state "+backend+"\n"); err != nil {
		return nil, fmt.Errorf("haproxy runtime API: %w", err)
	}
	c.(*net.UnixConn).CloseWrite() //nolint:errcheck // the answer ends with EOF either way
	var ready []string
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		// be_id be_name srv_id srv_name srv_addr srv_op_state ... srv_port (19th)
		f := strings.Fields(sc.Text())
		if len(f) < 19 || f[1] != backend {
			continue
		}
		if f[5] == "2" { // SRV_ST_RUNNING
			ready = append(ready, net.JoinHostPort(f[4], f[18]))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("haproxy runtime API: %w", err)
	}
	return ready, nil
}

// Stop stops HAProxy (SIGTERM to the master, which stops its worker) and
// removes its files.
func (h *HAProxy) Stop() error {
	var err error
	if h.proc != nil {
		err = h.proc.stop("haproxy", 10*time.Second)
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM {
			err = nil
		}
	}
	return errors.Join(err, os.RemoveAll(h.dir))
}

// maxconn is HAProxy's LB_MAXCONN: the config's 20,000, or less when the
// open-file limit cannot take two descriptors per connection.
func maxconn() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1000
	}
	return int(min(20000, max(100, (rl.Max-200)/2)))
}
