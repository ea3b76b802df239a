//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/devtools/procstat"
	"github.com/corkboard/corkboard/internal/childproc"
)

// Version is the Centrifugo release peerbench measures. scripts/centrifugo.sh
// reads it here and builds that release from its source on the Go module
// proxy into centrifugoPath's directory.
const Version = "v6.9.1"

// centrifugoPath is where scripts/centrifugo.sh puts the binary:
// $XDG_CACHE_HOME (or ~/.cache)/corkboard/centrifugo-<Version>/centrifugo.
// CORKBOARD_CENTRIFUGO, when set, names a binary to use instead.
func centrifugoPath() (string, error) {
	if p := os.Getenv("CORKBOARD_CENTRIFUGO"); p != "" {
		return p, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("centrifugo binary: %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "corkboard", "centrifugo-"+Version, "centrifugo"), nil
}

// centrifugoConfig is the configuration file peerbench gives Centrifugo: its
// HTTP server (WebSocket, API, debug endpoints) on 127.0.0.1:port; clients
// without tokens (insecure client mode) who may subscribe to any channel
// without a namespace; the HTTP API behind apiKey; no history, presence or
// join/leave messages; the health endpoint (readiness) and the debug
// endpoints (pprof: forcing a GC before RSS is read, as loadgen does for
// Corkboard); no usage statistics (they would go out to the internet).
func centrifugoConfig(port int, apiKey string) ([]byte, error) {
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("centrifugo config: port %d out of range", port)
	}
	if apiKey == "" {
		return nil, errors.New("centrifugo config: empty API key")
	}
	cfg := map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"log":         map[string]any{"level": "warn"},
		"client": map[string]any{
			"insecure":        true,
			"allowed_origins": []string{"*"},
		},
		"channel": map[string]any{
			"without_namespace": map[string]any{"allow_subscribe_for_client": true},
		},
		"http_api":    map[string]any{"key": apiKey},
		"health":      map[string]any{"enabled": true},
		"debug":       map[string]any{"enabled": true},
		"usage_stats": map[string]any{"disabled": true},
		"shutdown":    map[string]any{"timeout": "5s"},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// centrifugo is a running Centrifugo process.
type centrifugo struct {
	base   string // http://127.0.0.1:port
	apiKey string
	cmd    *exec.Cmd
	proc   *childproc.Process
	log    string // its output
}

// startCentrifugo starts bin with a configuration written to dir and waits
// (at most 20 s) until its health endpoint answers.
func startCentrifugo(ctx context.Context, bin, dir string) (*centrifugo, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("centrifugo %s: %w (build it with scripts/centrifugo.sh)", Version, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &centrifugo{base: fmt.Sprintf("http://127.0.0.1:%d", port), apiKey: randomHex(16),
		log: filepath.Join(dir, "centrifugo.log")}
	cfg, err := centrifugoConfig(port, c.apiKey)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "centrifugo.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, fmt.Errorf("centrifugo config: %w", err)
	}
	out, err := os.Create(c.log)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	c.cmd = exec.Command(bin, "--config", cfgPath)
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = out, out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if c.proc, err = childproc.Start(c.cmd); err != nil {
		return nil, fmt.Errorf("start centrifugo: %w", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-c.proc.Done():
			return nil, fmt.Errorf("centrifugo exited at start (%v):\n%s", c.proc.Err(), procstat.Tail(c.log, 2048))
		default:
		}
		if err := ctx.Err(); err != nil {
			c.stop()
			return nil, err
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("centrifugo not healthy within 20 s:\n%s", procstat.Tail(c.log, 2048))
		}
		if getOK(ctx, c.base+"/health") == nil {
			return c, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *centrifugo) pid() int { return c.cmd.Process.Pid }

// gc makes Centrifugo collect garbage twice, through its pprof endpoint,
// as loadgen does for Corkboard before reading RSS.
func (c *centrifugo) gc(ctx context.Context) {
	for round := range 2 {
		if round > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		getOK(ctx, c.base+"/debug/pprof/heap?gc=1") //nolint:errcheck // only the collection matters
	}
}

// stop sends SIGTERM and waits (SIGKILL after 10 s).
func (c *centrifugo) stop() error {
	select {
	case <-c.proc.Done():
		return nil
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have just exited
	select {
	case <-c.proc.Done():
		return nil
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill() //nolint:errcheck // it may have just exited
		<-c.proc.Done()
		return errors.New("centrifugo did not stop within 10 s and was killed")
	}
}

// getOK GETs url and reports an error unless it answered 200.
func getOK(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status matters
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// freePort is a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
