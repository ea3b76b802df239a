package benchmarks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The HTTP mutation benchmark drives the server from a second process, so
// that the CPU time of this process is the server's alone (HTTP server,
// middleware, API, auth, store, pgx, publishing, GC) and the load
// generator's is measured apart, as pgbench's is. The load generator is this
// test binary started again with loadClientEnv set (TestMain hands over to
// runLoadClient): a lean HTTP/1.1 client with one keep-alive connection per
// writer, writing each request in one write(2) from bytes it assembles
// itself and reading just the status line, the headers up to
// Content-Length and the body. net/http's client cost about as much CPU per
// request as the server's whole HTTP layer; on a 2-core machine every µs
// the load generator spends is taken from the server and PostgreSQL, and
// pgbench's client is lean C.
//
// The exchange, over the child's stdin and stdout, one line each:
//
//	child:  ready                 (connected, nothing sent yet)
//	parent: go                    (CPU meters started)
//	child:  done <wall ns> <cpu ns> <ops>
//	child:  <latency ns>          (one line per operation)
//
// or, on any failure, "error <message>" and a non-zero exit.
const loadClientEnv = "CORKBOARD_BENCH_LOAD_CLIENT"

// loadConfig is what the child needs: where to send, as whom, and what.
type loadConfig struct {
	Addr    string // host:port
	Cookie  string // "name=value"
	Boards  int
	Cards   int
	Writers int
	Ops     int
	Seed    uint64
	// IdempotencyKeys makes every request carry an Idempotency-Key of its
	// own, as the browser client's mutations do.
	IdempotencyKeys bool
}

// loadRun is what the child measured.
type loadRun struct {
	wall, cpu time.Duration
	lat       []time.Duration
}

// startLoadClient starts the child for cfg and waits for it to be
// connected. The caller calls run on the result.
type loadClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startLoadClient(cfg loadConfig) (*loadClient, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("load client: %w", err)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), loadClientEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("load client: %w", err)
	}
	c := &loadClient{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10)}
	if line, err := c.line(); err != nil || line != "ready" {
		c.kill()
		return nil, fmt.Errorf("load client did not start: %q %v", line, err)
	}
	return c, nil
}

func (c *loadClient) line() (string, error) {
	s, err := c.out.ReadString('\n')
	s = strings.TrimSuffix(s, "\n")
	if strings.HasPrefix(s, "error ") {
		return "", errors.New("load client: " + strings.TrimPrefix(s, "error "))
	}
	return s, err
}

func (c *loadClient) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// run starts the operations and returns when the child says they are done
// (done is called then, before the latencies are read: the caller stops
// its meters there).
func (c *loadClient) run(done func()) (loadRun, error) {
	if _, err := io.WriteString(c.in, "go\n"); err != nil {
		c.kill()
		return loadRun{}, err
	}
	line, err := c.line()
	done()
	if err != nil {
		c.kill()
		return loadRun{}, err
	}
	var wall, cpu int64
	var n int
	if _, err := fmt.Sscanf(line, "done %d %d %d", &wall, &cpu, &n); err != nil {
		c.kill()
		return loadRun{}, fmt.Errorf("load client: %q: %w", line, err)
	}
	r := loadRun{wall: time.Duration(wall), cpu: time.Duration(cpu), lat: make([]time.Duration, 0, n)}
	for range n {
		s, err := c.line()
		if err != nil {
			c.kill()
			return loadRun{}, err
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			c.kill()
			return loadRun{}, fmt.Errorf("load client: %q: %w", s, err)
		}
		r.lat = append(r.lat, time.Duration(v))
	}
	c.in.Close()
	if err := c.cmd.Wait(); err != nil {
		return loadRun{}, fmt.Errorf("load client: %w", err)
	}
	return r, nil
}

// runLoadClient is the child's main: see loadClientEnv.
func runLoadClient() int {
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	fail := func(err error) int {
		fmt.Fprintf(out, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		out.Flush()
		return 1
	}
	var cfg loadConfig
	if err := json.Unmarshal([]byte(os.Getenv(loadClientEnv)), &cfg); err != nil {
		return fail(err)
	}
	conns := make([]*rawConn, cfg.Writers)
	for i := range conns {
		c, err := dialRaw(cfg)
		if err != nil {
			return fail(err)
		}
		conns[i] = c
	}
	fmt.Fprintln(out, "ready")
	out.Flush()
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "go\n" {
		return fail(fmt.Errorf("want go, got %q %v", line, err))
	}

	var next atomic.Int64
	var failed atomic.Bool
	var firstErr error
	var errOnce sync.Once
	lats := make([][]time.Duration, cfg.Writers)
	var wg sync.WaitGroup
	cpu0 := selfCPU()
	start := time.Now()
	for w, c := range conns {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), cfg.Seed))
			l := make([]time.Duration, 0, cfg.Ops/cfg.Writers+1)
			for !failed.Load() {
				i := next.Add(1)
				if i > int64(cfg.Ops) {
					break
				}
				bd, k := 1+rnd.IntN(cfg.Boards), 1+rnd.IntN(cfg.Cards)
				t := time.Now()
				if err := c.patch(bd, k, int(i)); err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					break
				}
				l = append(l, time.Since(t))
			}
			lats[w] = l
		})
	}
	wg.Wait()
	wall, cpu := time.Since(start), selfCPU()-cpu0
	if firstErr != nil {
		return fail(firstErr)
	}
	n := 0
	for _, l := range lats {
		n += len(l)
	}
	fmt.Fprintf(out, "done %d %d %d\n", wall, cpu, n)
	for _, l := range lats {
		for _, d := range l {
			out.WriteString(strconv.FormatInt(int64(d), 10))
			out.WriteByte('\n')
		}
	}
	if err := out.Flush(); err != nil {
		return 1
	}
	return 0
}

// rawConn is one keep-alive HTTP/1.1 connection that sends card PATCHes.
type rawConn struct {
	conn   net.Conn
	r      *bufio.Reader
	req    []byte
	prefix []byte     // the headers every request carries, after the request line
	paths  [][]string // paths[b-1][k-1]: the path of card k of board b
	keys   bool       // prefix ends with the start of an Idempotency-Key
	body   []byte
}

func dialRaw(cfg loadConfig) (*rawConn, error) {
	conn, err := net.Dial("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	prefix := "Host: " + cfg.Addr + "\r\nUser-Agent: corkboard-bench\r\nCookie: " + cfg.Cookie +
		"\r\nContent-Type: application/json\r\n"
	if cfg.IdempotencyKeys {
		// Unique across runs and processes: the X-Op-Id that follows
		// completes it ("Idempotency-Key: <random>-go-<i>").
		prefix += "Idempotency-Key: " + strconv.FormatUint(rand.Uint64(), 36) + "-"
	}
	paths := make([][]string, cfg.Boards)
	for b := range paths {
		paths[b] = make([]string, cfg.Cards)
		for k := range paths[b] {
			paths[b][k] = "/api/boards/" + boardID(b+1) + "/cards/" + cardID(b+1, k+1)
		}
	}
	return &rawConn{conn: conn, r: bufio.NewReaderSize(conn, 8<<10), prefix: []byte(prefix), paths: paths,
		keys: cfg.IdempotencyKeys}, nil
}

// patch sends PATCH /api/boards/{board b}/cards/{card k} with a new title
// (as the store benchmark and pgbench change it) and reads the answer, which
// must be 200.
func (c *rawConn) patch(b, k, i int) error {
	body := append(c.body[:0], `{"title":"Card `...)
	body = strconv.AppendInt(body, int64(k), 10)
	body = append(body, " of board "...)
	body = strconv.AppendInt(body, int64(b), 10)
	body = append(body, ", edit "...)
	body = strconv.AppendInt(body, int64(i), 10)
	body = append(body, `"}`...)
	c.body = body

	req := append(c.req[:0], "PATCH "...)
	req = append(req, c.paths[b-1][k-1]...)
	req = append(req, " HTTP/1.1\r\n"...)
	req = append(req, c.prefix...)
	if c.keys {
		req = append(req, "go-"...)
		req = strconv.AppendInt(req, int64(i), 10)
		req = append(req, "\r\n"...)
	}
	req = append(req, "X-Op-Id: go-"...)
	req = strconv.AppendInt(req, int64(i), 10)
	req = append(req, "\r\nContent-Length: "...)
	req = strconv.AppendInt(req, int64(len(body)), 10)
	req = append(req, "\r\n\r\n"...)
	req = append(req, body...)
	c.req = req
	if _, err := c.conn.Write(req); err != nil {
		return err
	}
	return c.readResponse()
}

// readResponse reads one response, which must be 200 with a Content-Length.
func (c *rawConn) readResponse() error {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("read status line: %w", err)
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return fmt.Errorf("bad status line %q", line)
	}
	status := string(line[9:12])
	length := -1
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("read headers: %w", err)
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return fmt.Errorf("bad Content-Length %q", line)
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("status %s: no Content-Length (chunked answers are not read here)", status)
	}
	if status != "200" {
		b := make([]byte, min(length, 500))
		io.ReadFull(c.r, b) //nolint:errcheck // for the message only
		return fmt.Errorf("PATCH card: status %s: %s", status, b)
	}
	_, err = c.r.Discard(length)
	return err
}
