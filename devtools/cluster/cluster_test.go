package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// With CLUSTER_TEST_FAKE_SERVER=1 the test binary is a stand-in for the
// server: `migrate` does nothing, `serve` answers /readyz (503 once SIGTERM
// arrives, for a while, as the real one drains) and / with its own ADDR.
func TestMain(m *testing.M) {
	if os.Getenv("CLUSTER_TEST_FAKE_SERVER") == "1" {
		fakeServer()
		return
	}
	os.Exit(m.Run())
}

func fakeServer() {
	if len(os.Args) < 2 || os.Args[len(os.Args)-1] != "serve" {
		os.Exit(0) // migrate
	}
	addr := os.Getenv("ADDR")
	draining := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-draining:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, addr) })
	mux.HandleFunc("/replica", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, os.Getenv("DATABASE_REPLICA_URL"))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	<-term
	close(draining)
	time.Sleep(2500 * time.Millisecond) // longer than HAProxy's inter 1s fall 2
	srv.Shutdown(context.Background())  //nolint:errcheck // exiting
	os.Exit(0)
}

// TestStartRestartStop runs the topology around stand-in servers: the ports
// asked for are the ports used (NATS ones too), HAProxy with
// deploy/haproxy.cfg balances round-robin over every instance, a restarted
// instance is back in its rotation when Restart returns, and Stop lets go of
// every port.
func TestStartRestartStop(t *testing.T) {
	base := freeRange(t, 8)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out := &syncWriter{}
	c, err := Start(ctx, Options{
		Server: []string{os.Args[0]}, ServerEnv: []string{"CLUSTER_TEST_FAKE_SERVER=1"},
		DatabaseURL: "postgres://unused", Instances: 2, NATSNodes: 2,
		NATSPort: base, NATSClusterPort: base + 2, BasePort: base + 4, AdminBasePort: base + 6,
		HAProxyConfig: "../../deploy/haproxy.cfg", Output: out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	stopped := false
	defer func() {
		if !stopped {
			c.Stop() //nolint:errcheck // the test failed already
		}
	}()
	want := []string{fmt.Sprintf("127.0.0.1:%d", base+4), fmt.Sprintf("127.0.0.1:%d", base+5)}
	for i, in := range c.Instances() {
		if in.Addr != want[i] || in.AdminAddr != fmt.Sprintf("127.0.0.1:%d", base+6+i) {
			t.Errorf("instance %d on %s, admin %s", i, in.Addr, in.AdminAddr)
		}
	}
	if wantNATS := fmt.Sprintf("nats://127.0.0.1:%d,nats://127.0.0.1:%d", base, base+1); c.NATSURL() != wantNATS {
		t.Errorf("NATS_URL %s, want %s", c.NATSURL(), wantNATS)
	}
	seen := func() []string {
		var got []string
		for range 4 {
			resp, err := http.Get(c.URL() + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got = append(got, string(b))
		}
		slices.Sort(got)
		return slices.Compact(got)
	}
	if got := seen(); !slices.Equal(got, want) {
		t.Errorf("through HAProxy: %v, want both instances", got)
	}
	pid := c.Instances()[0].Pid()
	if err := c.Restart(ctx, 0, nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if c.Instances()[0].Pid() == pid {
		t.Error("the instance kept its process")
	}
	ready, err := c.Balancer().Ready(ctx)
	if err != nil || !slices.Equal(ready, want) {
		t.Errorf("HAProxy takes %v as up (%v), want %v", ready, err, want)
	}
	if got := seen(); !slices.Equal(got, want) {
		t.Errorf("through HAProxy after the restart: %v, want both instances", got)
	}
	stopped = true
	if err := c.Stop(); err != nil {
		t.Errorf("stop: %v\n%s", err, out.String())
	}
	lbPort, _ := strconv.Atoi(c.URL()[strings.LastIndexByte(c.URL(), ':')+1:])
	for _, p := range []int{base, base + 1, base + 2, base + 3, base + 4, base + 5, lbPort} {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err != nil {
			t.Errorf("port %d still taken after Stop: %v", p, err)
		} else {
			l.Close()
		}
	}
}

// freeRange returns the first of n consecutive free loopback ports.
func freeRange(t *testing.T, n int) int {
	for try := 0; try < 50; try++ {
		base := 20000 + int(time.Now().UnixNano()%20000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no range of free ports")
	return 0
}

// syncWriter collects the processes' output.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestPrivatePostgresWithReplica: with Replica, the topology starts its
// private PostgreSQL and a streaming replica of it, and every instance gets
// the replica as DATABASE_REPLICA_URL; a table the primary creates is read
// on the replica, which is in recovery (read-only).
func TestPrivatePostgresWithReplica(t *testing.T) {
	dir, err := os.MkdirTemp("", "corkboard-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) //nolint:errcheck // the postgres user must traverse it
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out := &syncWriter{}
	c, err := Start(ctx, Options{
		Server: []string{os.Args[0]}, ServerEnv: []string{"CLUSTER_TEST_FAKE_SERVER=1"},
		Dir: dir, Replica: true, Instances: 2, NATSNodes: 1, Output: out,
	})
	if err != nil {
		t.Fatalf("start (install postgresql): %v\n%s", err, out.String())
	}
	defer func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	if c.ReplicaURL() == "" || c.ReplicaURL() == c.DatabaseURL() {
		t.Fatalf("replica URL %q (primary %q)", c.ReplicaURL(), c.DatabaseURL())
	}
	for _, in := range c.Instances() {
		resp, err := http.Get("http://" + in.Addr + "/replica")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != c.ReplicaURL() {
			t.Errorf("%s has DATABASE_REPLICA_URL %q, want %q", in.Name, body, c.ReplicaURL())
		}
	}
	primary, err := pgx.Connect(ctx, c.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(ctx)
	if _, err := primary.Exec(ctx, `CREATE TABLE replicated (n int); INSERT INTO replicated VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	replica, err := pgx.Connect(ctx, c.ReplicaURL())
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close(ctx)
	var inRecovery bool
	if err := replica.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("the replica is not in recovery (%v)", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := replica.QueryRow(ctx, `SELECT n FROM replicated`).Scan(&n)
		if err == nil && n == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the primary's table never reached the replica: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
