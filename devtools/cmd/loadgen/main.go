//go:build linux

// Command loadgen measures Corkboard under load on one machine: it starts
// PostgreSQL, NATS and N server processes on 127.0.0.1 (or uses -targets),
// opens WebSocket subscribers spread over the instances, drives HTTP
// writers at a fixed rate, and reports deliveries per second, latency to
// delivery (same and other instance), gaps and duplicates per subscriber
// (which must be 0), server CPU per delivery and server RSS per idle
// subscribed connection. Every run is bounded in time and size and talks to
// loopback only.
//
//	loadgen -scenario fanout   5,000 subscribers of one board on one instance, 30 events/s
//	loadgen -scenario mutation the same at 24 events/s (80 %): mutation latency during fan-out
//	loadgen -scenario idle     RSS per idle subscribed connection
//	loadgen -scenario cross    3 instances, 2,000 subscribers, 1,000 mutations/s
//
// See docs/load.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// Main runs loadgen with args and prints the report to stdout. It fails when
// the run could not be made or a subscriber's stream was not exactly the
// committed events; missed performance targets are reported, not errors.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	rep, err := run(ctx, c, log)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout)
	}
	if !rep.Correctness.OK() {
		return errFailed
	}
	return nil
}
