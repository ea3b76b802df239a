package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthcheck is `server healthcheck`: a GET of /healthz (or /readyz) on the
// server's own address, for container health checks (the final image has no
// shell or curl). It returns nil when the answer is 200.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := getenv("ADDR")
	if def == "" {
		def = ":8080"
	}
	addr := fs.String("addr", def, "address the server serves HTTP on (ADDR); an empty or wildcard host means 127.0.0.1")
	ready := fs.Bool("ready", false, "check /readyz (PostgreSQL, NATS, not shutting down) instead of /healthz (alive)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	target, err := localURL(*addr)
	if err != nil {
		return fmt.Errorf("-addr / ADDR = %q: %w", *addr, err)
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s: %s", target+path, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s: %s\n", target+path, strings.TrimSpace(string(body)))
	return nil
}

// localURL is the http:// URL to reach a server listening on addr from the
// same host: a wildcard or empty host becomes the loopback address.
func localURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("must be host:port or :port")
	}
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
