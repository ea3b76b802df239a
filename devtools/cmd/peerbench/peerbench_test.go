//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/rawws"
)

// The tests cover what needs no Centrifugo binary: its protocol frames,
// the configuration peerbench writes, the subscriber's checks, the
// analysis and the table. Running peerbench itself is a devtool's job
// (docs/load.md).

func TestParseCCFrame(t *testing.T) {
	ev := cardEvent("b1", 7, "pbx-", time.Unix(1700000000, 0))
	for name, tc := range map[string]struct {
		line    string
		kind    ccKind
		channel string
		data    string
		id      int
		err     string
	}{
		"ping":               {line: `{}`, kind: ccPing},
		"publication":        {line: `{"push":{"channel":"board","pub":{"data":` + string(ev) + `}}}`, kind: ccPub, channel: "board", data: string(ev)},
		"publication+offset": {line: `{"push":{"channel":"board","pub":{"data":{"a":1},"offset":3}}}`, kind: ccPub, channel: "board", data: `{"a":1}`},
		"publication+info":   {line: `{"push":{"channel":"board","pub":{"data":{"a":{}},"info":{"user":"u"}}}}`, kind: ccPub, channel: "board", data: `{"a":{}}`},
		"escaped channel":    {line: `{"push":{"channel":"a\"b","pub":{"data":{}}}}`, kind: ccPub, channel: `a"b`, data: `{}`},
		"connect reply":      {line: `{"id":1,"connect":{"client":"c","version":"6","ping":25,"pong":true}}`, kind: ccReply, id: 1},
		"subscribe reply":    {line: `{"id":2,"subscribe":{}}`, kind: ccReply, id: 2},
		"error reply":        {line: `{"id":2,"error":{"code":103,"message":"permission denied"}}`, kind: ccReply, id: 2, err: "103 permission denied"},
		"join push":          {line: `{"push":{"channel":"board","join":{"info":{}}}}`, kind: ccUnknown},
	} {
		f, err := parseCCFrame([]byte(tc.line))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f.kind != tc.kind || string(f.channel) != tc.channel || string(f.data) != tc.data || f.id != tc.id || f.err != tc.err {
			t.Errorf("%s: parseCCFrame = %+v, want %+v", name, f, tc)
		}
	}
	if _, err := parseCCFrame([]byte(`{"push":`)); err == nil {
		t.Error("a truncated frame parsed")
	}
}

// TestCardEvent checks that the change peerbench publishes is a Corkboard
// event frame whose seq and op_id the fast path reads as a full decode
// does, and that its size does not depend on the time.
func TestCardEvent(t *testing.T) {
	at := time.Date(2026, 12, 3, 15, 4, 5, 123456789, time.UTC)
	a := cardEvent("3f1c2d4e-0000-4000-8000-00000000b0a4", 41, "pbabc-", at)
	b := cardEvent("3f1c2d4e-0000-4000-8000-00000000b0a4", 42, "pbabc-", at.Add(time.Hour+111*time.Microsecond))
	if len(a) != len(b) {
		t.Errorf("sizes %d and %d for two changes", len(a), len(b))
	}
	var full struct {
		Type, Kind, OpID string
		Seq              int64
		Op               string `json:"op_id"`
		Data             struct{ Title string }
	}
	if err := json.Unmarshal(a, &full); err != nil {
		t.Fatal(err)
	}
	ev, ok := rawws.ParseEvent(a)
	seq, op := ev.Seq, ev.Op
	if !ok || seq != full.Seq || string(op) != full.Op || full.Type != "event" || full.Kind != "card.updated" ||
		full.Data.Title != "load op 41" || rawws.OpIndex(op, "pbabc-") != 41 {
		t.Errorf("ParseEvent = %d %q %v; decoded %+v", seq, op, ok, full)
	}
}

func TestCentrifugoConfig(t *testing.T) {
	b, err := centrifugoConfig(18000, "secret-key")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		HTTPServer struct {
			Address string
			Port    int
		} `json:"http_server"`
		Client struct {
			Insecure bool
		}
		Channel struct {
			WithoutNamespace struct {
				AllowSubscribeForClient bool `json:"allow_subscribe_for_client"`
			} `json:"without_namespace"`
		}
		HTTPAPI struct {
			Key string
		} `json:"http_api"`
		UsageStats struct {
			Disabled bool
		} `json:"usage_stats"`
		Health, Debug struct{ Enabled bool }
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPServer.Address != "127.0.0.1" || cfg.HTTPServer.Port != 18000 || !cfg.Client.Insecure ||
		!cfg.Channel.WithoutNamespace.AllowSubscribeForClient || cfg.HTTPAPI.Key != "secret-key" ||
		!cfg.UsageStats.Disabled || !cfg.Health.Enabled || !cfg.Debug.Enabled {
		t.Errorf("config %s decodes to %+v", b, cfg)
	}
	for _, bad := range []struct {
		port int
		key  string
	}{{0, "k"}, {70000, "k"}, {8000, ""}} {
		if _, err := centrifugoConfig(bad.port, bad.key); err == nil {
			t.Errorf("centrifugoConfig(%d, %q) gave no error", bad.port, bad.key)
		}
	}
}

// serverFrame is an unmasked frame as a server sends it.
func serverFrame(opcode byte, payload string) []byte {
	f := []byte{0x80 | opcode}
	if len(payload) < 126 {
		f = append(f, byte(len(payload)))
	} else {
		f = append(f, 126)
		f = binary.BigEndian.AppendUint16(f, uint16(len(payload)))
	}
	return append(f, payload...)
}

// readClientFrames reads what the subscriber wrote and unmasks it.
func readClientFrames(t *testing.T, fd int) []string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := syscall.Read(fd, buf)
	if err != nil {
		t.Fatal(err)
	}
	b := buf[:n]
	var out []string
	for len(b) >= 6 {
		n := int(b[1] & 0x7f)
		mask, payload := b[2:6], append([]byte(nil), b[6:6+n]...)
		for i := range payload {
			payload[i] ^= mask[i&3]
		}
		out = append(out, string(payload))
		b = b[6+n:]
	}
	return out
}

// TestCCSubscriber feeds a subscriber what Centrifugo sends, through a
// socket pair, and checks what it counts and answers.
func TestCCSubscriber(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	var confirmed atomic.Int64
	s := &ccSub{fd: fds[0], channel: "board", opPrefix: "pbx-", confirm: &confirmed,
		recv: make([]int64, 4), pos: make([]int32, 4)}
	pub := func(k int) string {
		return `{"push":{"channel":"board","pub":{"data":` + string(cardEvent("b", k, "pbx-", time.Now())) + `}}}`
	}
	send := func(frames ...[]byte) bool {
		for _, f := range frames {
			if _, err := syscall.Write(fds[1], f); err != nil {
				t.Fatal(err)
			}
		}
		return s.Readable(int64(time.Second))
	}
	// A publication before the subscription is confirmed is a problem.
	if send(serverFrame(1, pub(0))) {
		t.Fatal("ended early")
	}
	if s.unexpected != 1 || s.n != 0 {
		t.Errorf("publication before subscribed: unexpected %d, received %d", s.unexpected, s.n)
	}
	// Replies and publications batched in one message, a ping, a WebSocket ping.
	msg := `{"id":1,"connect":{"client":"c"}}` + "\n" + `{"id":2,"subscribe":{}}` + "\n" + pub(2) + "\n" + pub(1)
	if send(serverFrame(1, msg), serverFrame(1, `{}`), serverFrame(9, "p"), serverFrame(1, pub(2)+"\n"+pub(9))) {
		t.Fatal("ended early")
	}
	if got := readClientFrames(t, fds[1]); strings.Join(got, "|") != "{}|p" {
		t.Errorf("answers %q, want {} and the pong", got)
	}
	if confirmed.Load() != 1 || s.n != 2 || s.recv[2] == 0 || s.recv[1] == 0 || s.pos[2] != 1 || s.pos[1] != 2 ||
		s.dups != 1 || s.unexpected != 2 || s.pings != 1 || s.got.Load() != 2 {
		t.Errorf("confirmed %d, received %d, recv %v, pos %v, dups %d, unexpected %d (%s), pings %d",
			confirmed.Load(), s.n, s.recv, s.pos, s.dups, s.unexpected, s.firstProb, s.pings)
	}
	// The close frame ends it.
	if !send(serverFrame(8, "\x0f\xa0bye")) || !s.ended.Load() || !strings.Contains(s.readErr.Error(), "4000") {
		t.Errorf("after a close frame: ended %v, %v", s.ended.Load(), s.readErr)
	}
}

// TestAnalyzeCC checks the correctness counts and the rates.
func TestAnalyzeCC(t *testing.T) {
	sec := int64(time.Second)
	ops := []opRecord{{sent: 1 * sec, resp: 1*sec + 1e6, status: 200}, {sent: 2 * sec, resp: 2*sec + 3e6, status: 200},
		{sent: 3 * sec, status: 0}}
	sub := func(i int, recv []int64, pos []int32) *ccSub {
		s := &ccSub{i: i, recv: recv, pos: pos}
		for _, t := range recv {
			if t != 0 {
				s.n++
			}
		}
		return s
	}
	subs := []*ccSub{
		sub(0, []int64{1*sec + 5e6, 2*sec + 5e6, 0}, []int32{1, 2, 0}),
		sub(1, []int64{1*sec + 7e6, 2*sec + 9e6, 0}, []int32{1, 2, 0}),
		sub(2, []int64{1*sec + 7e6, 2*sec + 9e6, 0}, []int32{2, 1, 0}), // another order
		sub(3, []int64{1*sec + 7e6, 0, 0}, []int32{1, 0, 0}),           // one missing
	}
	res := &Result{Offered: 4}
	analyzeCC(res, subs, ops, 0, 3*sec, 3*sec, cpuSample{at: time.Unix(0, 0)}, cpuSample{at: time.Unix(3, 0), server: 70 * time.Millisecond})
	c := res.Correctness
	if c.Gaps != 1 || c.Incomplete != 1 || c.OutOfOrder != 1 || c.Duplicates != 0 || c.OK() {
		t.Errorf("correctness %+v: want 1 gap, 1 incomplete, 1 out of order", c)
	}
	if res.Deliveries != 7 || res.WriteFailures != 1 || res.WriteP50 != 1 || res.WriteP99 != 3 || res.CPUPerDeliveryUS != 10000 {
		t.Errorf("deliveries %d, write failures %d, write p50/p99 %g/%g, CPU %g", res.Deliveries, res.WriteFailures,
			res.WriteP50, res.WriteP99, res.CPUPerDeliveryUS)
	}
	if res.P50 != 7 || res.P99 != 9 {
		t.Errorf("latency p50/p99 %g/%g, want 7/9 ms", res.P50, res.P99)
	}
	if !res.Behind() {
		t.Error("a run with a missing delivery is not behind")
	}
}

func TestParseLoadgen(t *testing.T) {
	out := `{"deliveries":1000,"websocket_messages":900,"deliveries_per_second":99.5,"settle_seconds":0.1,
	"latency_ms":{"sent_same":{"p50_ms":4.5,"p99_ms":16.6},"txn_same":{"p50_ms":1,"p99_ms":2}},
	"cpu":{"window_seconds":10,"server_us_per_delivery":18.8,"other_seconds":5},
	"rss":{"per_connection_bytes":26009.6},
	"mutations":{"ok":40,"failed":1,"per_second":8,"http_ms":{"p50_ms":4.5,"p99_ms":15.9}},
	"correctness":{"subscribers":200,"gaps":0,"acked_not_delivered":2,"resyncs":1}}`
	var r Result
	if err := parseLoadgen([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Deliveries != 1000 || r.DeliveriesPerSecond != 99.5 || r.P50 != 4.5 || r.P99 != 16.6 || r.CPUPerDeliveryUS != 18.8 ||
		r.OtherCores != 0.5 || r.RSSPerConnKiB != 25.4 || r.WriteP50 != 4.5 || r.WriteP99 != 15.9 || r.WriteFailures != 1 ||
		r.Correctness.Gaps != 2 || r.Correctness.Unexpected != 1 || r.Correctness.OK() {
		t.Errorf("parsed %+v", r)
	}
	for _, bad := range []string{``, `{"deliveries":1}`, `not json`} {
		if err := parseLoadgen([]byte(bad), &Result{}); err == nil {
			t.Errorf("parseLoadgen(%q) gave no error", bad)
		}
	}
	args := strings.Join(loadgenArgs(Config{Subscribers: 5000, Writers: 16, Duration: 15 * time.Second,
		Settle: 15 * time.Second, IdleWait: 2 * time.Second, DialWorkers: 32, MaxRun: 4 * time.Minute}, "/x/server", 12.5), " ")
	for _, want := range []string{"-json", "-boards 1", "-move-every 0", "-subscribers 5000", "-rate 12.5", "-duration 15s", "-server-bin /x/server"} {
		if !strings.Contains(args, want) {
			t.Errorf("loadgen args %q lack %q", args, want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	c, err := parseConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subscribers != 5000 || len(c.Rates) != 6 || c.Rates[0] != 4 || c.Rates[5] != 32 || strings.Join(c.Servers, ",") != "corkboard,centrifugo" {
		t.Errorf("defaults %+v", c)
	}
	for _, bad := range [][]string{{"-rates", "4,x"}, {"-rates", "0"}, {"-servers", "nginx"}, {"-servers", "corkboard,corkboard"},
		{"-subscribers", "0"}, {"-duration", "10ms"}, {"-rates", "100", "-writers", "2"}, {"extra"}} {
		if _, err := parseConfig(bad, io.Discard); err == nil {
			t.Errorf("parseConfig(%q) gave no error", bad)
		}
	}
}

func TestPrintTable(t *testing.T) {
	exact := Correctness{Subscribers: 10}
	results := []*Result{
		{Server: "corkboard", Rate: 4, Offered: 40, EventBytes: 739, DeliveriesPerSecond: 40, P50: 3, P99: 10, CPUPerDeliveryUS: 20, WriteP50: 2, WriteP99: 8, RSSPerConnKiB: 17, Correctness: exact, LoadStart: "1.50 1.00 0.50"},
		{Server: "centrifugo", Rate: 4, Offered: 40, DeliveriesPerSecond: 40, P50: 2, P99: 20, CPUPerDeliveryUS: 16, WriteP50: 1, WriteP99: 4, RSSPerConnKiB: 46, Correctness: exact},
		{Server: "centrifugo", Rate: 8, Offered: 80, DeliveriesPerSecond: 60, P50: 200, P99: 1500, CPUPerDeliveryUS: 14, Correctness: Correctness{Subscribers: 10, Incomplete: 3, Gaps: 9}},
		{Server: "corkboard", Rate: 8, Offered: 80, DeliveriesPerSecond: 80, P50: 5, P99: 30, CPUPerDeliveryUS: 12, Correctness: exact},
		{Server: "corkboard", Rate: 16, Offered: 160, Err: "loadgen: boom | bang"},
	}
	var b bytes.Buffer
	printTable(&b, Config{Subscribers: 10, Writers: 2, Duration: time.Second}, results)
	out := b.String()
	for _, want := range []string{
		"a 739-byte Corkboard card event",
		"| 4 (40) | corkboard | 40 | 3.00 / 10.0 | 20.0 | 2.00 / 8.00 | 17.0 | exact | 1.50 |",
		"| 8 (80) | centrifugo | 60 (behind) | 200 / 1,500 |",
		"9 missing, 3 incomplete",
		"| 16 (160) | corkboard | run failed: loadgen: boom / bang |",
		"| 4 | 1.00× | 0.50× | 1.25× | 2.00× |",
		"| 8 | 1.33× | 0.02× | 0.86× | – |",
		"corkboard: highest rate kept up with: 8 changes/s, 80 deliveries/s at p99 30.0 ms",
		"centrifugo: highest rate kept up with: 4 changes/s",
		"goal (≥ 1.2× Centrifugo's sustained deliveries, at a lower p99 at each rate both kept up with): met (2.00× the sustained deliveries; p99 Corkboard / Centrifugo at 4: 10.0 / 20.0 ms)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	results[0].P99 = 25 // over Centrifugo's 20 at 4 changes/s
	if g := goal(results[3], results[1], pairUp(results)); !strings.HasPrefix(g, "missed (2.00×") {
		t.Errorf("goal with a higher p99 at 4 changes/s: %s", g)
	}
	if thousands(1234567.4) != "1,234,567" || thousands(-1000) != "-1,000" || thousands(999) != "999" {
		t.Errorf("thousands: %s %s %s", thousands(1234567.4), thousands(-1000), thousands(999))
	}
}

// TestMedians checks the summary of several rounds: medians per server and
// rate, exact runs counted, behind by the majority of the runs.
func TestMedians(t *testing.T) {
	exact := Correctness{Subscribers: 10}
	lost := Correctness{Subscribers: 10, Gaps: 4, Incomplete: 1}
	results := []*Result{
		{Server: "centrifugo", Round: 1, Rate: 4, Offered: 40, DeliveriesPerSecond: 40, P99: 30, Correctness: exact, LoadStart: "3.00 2 1"},
		{Server: "corkboard", Round: 1, Rate: 4, Offered: 40, DeliveriesPerSecond: 40, P99: 10, Correctness: exact, LoadStart: "1.00 2 1"},
		{Server: "corkboard", Round: 2, Rate: 4, Offered: 40, DeliveriesPerSecond: 20, P99: 900, Correctness: lost, LoadStart: "9.00 2 1"},
		{Server: "centrifugo", Round: 2, Rate: 4, Offered: 40, DeliveriesPerSecond: 39, P99: 20, Correctness: lost, LoadStart: "2.00 2 1"},
		{Server: "corkboard", Round: 3, Rate: 4, Offered: 40, DeliveriesPerSecond: 41, P99: 12, Correctness: exact, LoadStart: "1.50 2 1"},
		{Server: "centrifugo", Round: 3, Rate: 4, Offered: 40, Err: "boom"},
	}
	m := medians(results)
	if len(m) != 2 || m[0].Server != "centrifugo" || m[1].Server != "corkboard" {
		t.Fatalf("medians: %+v", m)
	}
	k, f := m[1], m[0]
	if k.Runs != 3 || k.Exact != 2 || k.DeliveriesPerSecond != 40 || k.P99 != 12 || k.Correctness.Gaps != 4 || k.Behind() || !k.keptUp() {
		t.Errorf("corkboard's median %+v", k)
	}
	if f.Runs != 2 || f.Exact != 1 || f.DeliveriesPerSecond != 39.5 || f.P99 != 25 || !f.Behind() || f.LoadStart != "3.00, 2.00" {
		t.Errorf("centrifugo's median (one of two runs exact: behind) %+v", f)
	}
	var b bytes.Buffer
	printTable(&b, Config{Subscribers: 10, Writers: 2, Duration: time.Second, Rounds: 3}, results)
	for _, want := range []string{"| 4 (40) #2 | corkboard | 20 (behind) |", "Medians over the rounds",
		"| 4 (40) | corkboard | 40 | – / 12.0 |", "2/3 exact", "| 4 (40) | centrifugo | 40 (behind) |", "1/2 exact",
		"| 4 | 1.01× | 0.48× |", "corkboard: highest rate kept up with: 4 changes/s", "centrifugo: kept up with none"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
