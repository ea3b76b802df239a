// Command server runs Corkboard: the REST API, the WebSocket endpoint and
// the web page on one address (metrics and pprof on a second, private one),
// backed by PostgreSQL, with NATS carrying events between instances.
//
//	server [serve] [flags]   start serving (see -h for every setting)
//	server migrate [flags]   apply database migrations and exit
//	server healthcheck       exit 0 when the local server answers /healthz
//	server -version          print the build's version and exit
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/corkboard/corkboard/internal/ops"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errHelp) {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
	}
}

// Run runs the subcommand in args until ctx is done (serve) or the work is
// finished (migrate).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 1 && (args[0] == "-version" || args[0] == "--version") {
		fmt.Fprintf(stdout, "corkboard server %s\n", ops.BuildVersion())
		return nil
	}
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "migrate") {
		cmd, args = args[0], args[1:]
	}
	cfg, err := parseConfig("server", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if cmd == "migrate" {
		db, err := openDatabase(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer db.close()
		return migrate(ctx, db.url)
	}
	app, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "corkboard listening on http://%s\n", displayAddr(app.Addr()))
	<-ctx.Done()
	log.Info("shutting down")
	return app.Close()
}

// displayAddr is a listen address as a person would open it: localhost for
// the unspecified host.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
