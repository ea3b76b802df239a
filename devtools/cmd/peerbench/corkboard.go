//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corkboard/corkboard/devtools/procstat"
	"github.com/corkboard/corkboard/internal/childproc"
)

// runCorkboard measures Corkboard at rate changes/s with loadgen (built
// once into the run's directory): loadgen starts PostgreSQL (durable), NATS
// and one server with devtools/cluster, opens the subscribers with the same
// raw WebSocket client as Centrifugo's (epoll loops, in-place frame
// parsing), drives card PATCHes from c.Writers writers on a fixed
// schedule, and checks every subscriber's stream for gaps, duplicates and
// reorderings. Its JSON report gives the figures.
func runCorkboard(ctx context.Context, c Config, loadgen, server string, rate float64, log *slog.Logger) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.MaxRun)
	defer cancel()
	args := loadgenArgs(c, server, rate)
	log.Info("corkboard: loadgen", "args", strings.Join(args, " "))
	cmd := exec.Command(loadgen, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	res := &Result{Server: "corkboard", Rate: rate, Offered: rate * float64(c.Subscribers), LoadStart: procstat.LoadAverage()}
	p, err := childproc.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("start loadgen: %w", err)
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have just exited
		select {
		case <-p.Done():
		case <-time.After(15 * time.Second):
			cmd.Process.Kill() //nolint:errcheck // it may have just exited
			<-p.Done()
		}
		return nil, fmt.Errorf("corkboard: loadgen: %w", ctx.Err())
	}
	res.LoadEnd = procstat.LoadAverage()
	// loadgen exits 1 with its report printed when a stream was wrong.
	if err := parseLoadgen(stdout.Bytes(), res); err != nil {
		return nil, fmt.Errorf("corkboard: loadgen (%v): %w\n%s", p.Err(), err, tailString(stderr.String(), 2048))
	}
	if !res.Correctness.OK() {
		log.Warn("corkboard: streams not exact; loadgen's log ends", "rate", rate, "log", tailString(stderr.String(), 1500))
	}
	res.EventBytes = len(cardEvent("3f1c2d4e-0000-4000-8000-00000000b0a4", int(rate*c.Duration.Seconds()/2), "lg000000-", time.Now()))
	return res, nil
}

// loadgenArgs is loadgen's command line for one Corkboard run: one
// instance, one board, only card PATCHes.
func loadgenArgs(c Config, server string, rate float64) []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	args := []string{"-json", "-instances", "1", "-boards", "1", "-move-every", "0",
		"-subscribers", strconv.Itoa(c.Subscribers), "-writers", strconv.Itoa(c.Writers),
		"-rate", f(rate), "-duration", c.Duration.String(), "-settle", c.Settle.String(),
		"-idle-wait", c.IdleWait.String(), "-dial-workers", strconv.Itoa(c.DialWorkers),
		"-max-duration", c.MaxRun.String()}
	if server != "" {
		args = append(args, "-server-bin", server)
	}
	return args
}

// loadgenReport is the part of loadgen's JSON report peerbench reads.
type loadgenReport struct {
	Deliveries          int64   `json:"deliveries"`
	Messages            int64   `json:"websocket_messages"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	SettleSeconds       float64 `json:"settle_seconds"`
	Latency             map[string]*struct {
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
	} `json:"latency_ms"`
	CPU *struct {
		WindowSeconds       float64 `json:"window_seconds"`
		ServerUSPerDelivery float64 `json:"server_us_per_delivery"`
		OtherSeconds        float64 `json:"other_seconds"`
	} `json:"cpu"`
	RSS *struct {
		PerConnBytes float64 `json:"per_connection_bytes"`
	} `json:"rss"`
	Mutations struct {
		OK        int64   `json:"ok"`
		Failed    int64   `json:"failed"`
		PerSecond float64 `json:"per_second"`
		HTTP      *struct {
			P50 float64 `json:"p50_ms"`
			P99 float64 `json:"p99_ms"`
		} `json:"http_ms"`
	} `json:"mutations"`
	Correctness struct {
		Subscribers       int      `json:"subscribers"`
		Gaps              int64    `json:"gaps"`
		Duplicates        int64    `json:"duplicates"`
		OutOfOrder        int64    `json:"out_of_order"`
		Incomplete        int64    `json:"incomplete"`
		BeyondHead        int64    `json:"beyond_head"`
		Mismatched        int64    `json:"mismatched"`
		AckedNotDelivered int64    `json:"acked_not_delivered"`
		Resyncs           int64    `json:"resyncs"`
		ErrorFrames       int64    `json:"error_frames"`
		Disconnected      int64    `json:"disconnected"`
		Unexpected        int64    `json:"unexpected_frames"`
		Examples          []string `json:"examples"`
	} `json:"correctness"`
}

// parseLoadgen fills res from loadgen's JSON report.
func parseLoadgen(out []byte, res *Result) error {
	var r loadgenReport
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("loadgen's report: %w (%.300q)", err, out)
	}
	if r.Correctness.Subscribers == 0 {
		return errors.New("loadgen's report has no subscribers")
	}
	res.Deliveries, res.Messages, res.DeliveriesPerSecond = r.Deliveries, r.Messages, r.DeliveriesPerSecond
	res.SettleSeconds = r.SettleSeconds
	if l := r.Latency["sent_same"]; l != nil {
		res.P50, res.P99 = l.P50, l.P99
	}
	if l := r.Latency["in_loadgen_socket"]; l != nil {
		res.ClientWaitP99 = l.P99
	}
	if r.CPU != nil {
		res.CPUPerDeliveryUS = r.CPU.ServerUSPerDelivery
		if r.CPU.WindowSeconds > 0 {
			res.OtherCores = r.CPU.OtherSeconds / r.CPU.WindowSeconds
		}
	}
	if r.RSS != nil {
		res.RSSPerConnKiB = r.RSS.PerConnBytes / 1024
	}
	res.WritesPerSecond, res.WriteFailures = r.Mutations.PerSecond, r.Mutations.Failed
	if h := r.Mutations.HTTP; h != nil {
		res.WriteP50, res.WriteP99 = h.P50, h.P99
	}
	c := r.Correctness
	res.Correctness = Correctness{Subscribers: c.Subscribers, Gaps: c.Gaps + c.AckedNotDelivered,
		Duplicates: c.Duplicates, OutOfOrder: c.OutOfOrder, Incomplete: c.Incomplete, Disconnected: c.Disconnected,
		Unexpected: c.Unexpected + c.BeyondHead + c.Mismatched + c.Resyncs + c.ErrorFrames, Examples: c.Examples}
	return nil
}

func tailString(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
