package natsbus_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/testcert"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/natsbus"
)

func connect(t *testing.T, o natsbus.Options) *natsbus.Bus {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	b, err := natsbus.Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) }) //nolint:errcheck // test teardown
	return b
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived within 10s")
		var zero T
		return zero
	}
}

// typingFrame is a new kind of real-time message, defined here, in the test:
// what it costs is this type and the handler below, nothing in the bus.
type typingFrame struct {
	Type  string `json:"type"`
	Board string `json:"board"`
	User  string `json:"user"`
}

// A new kind of message needs its payload type and a registered handler:
// the bus carries it on the board's subject to the instances that joined the
// board, and to every instance when it is about no board.
func TestANewKindIsAFrameTypeAndAHandler(t *testing.T) {
	t.Parallel()
	srv, err := natsbus.StartServer(natsbus.ServerOptions{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	a, b := connect(t, natsbus.Options{URL: srv.ClientURL()}), connect(t, natsbus.Options{URL: srv.ClientURL()})

	got := make(chan typingFrame, 4)
	handler := func(m natsbus.Message) {
		var f typingFrame
		if err := json.Unmarshal(m.Payload, &f); err != nil || f.Board != m.Board && m.Board != "" {
			t.Errorf("malformed typing message %+v: %v", m, err)
			return
		}
		got <- f
	}
	b.Register("typing", handler)
	a.Register("typing", handler) // NoEcho: a never gets its own
	const boardID = "6f1c2a9e-0000-4000-8000-000000000001"
	leave, err := b.Join(boardID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Join(boardID); err != nil {
		t.Fatal(err)
	}
	send := func(boardID, user string) {
		payload, _ := json.Marshal(typingFrame{Type: "typing", Board: boardID, User: user})
		if err := a.Send(natsbus.Message{Kind: "typing", Board: boardID, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	send(boardID, "alice")
	if f := receive(t, got); f != (typingFrame{Type: "typing", Board: boardID, User: "alice"}) {
		t.Errorf("received %+v", f)
	}
	send("", "to everyone") // an instance-wide message of the same kind
	if f := receive(t, got); f.User != "to everyone" {
		t.Errorf("received %+v", f)
	}

	// After leaving the board, b gets none of its messages; a kind nobody
	// registered is dropped.
	leave()
	send(boardID, "after leave")
	if err := a.Send(natsbus.Message{Kind: "unheard", Board: "", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	send("", "last")
	if f := receive(t, got); f.User != "last" {
		t.Errorf("received %+v after leaving the board, want only the instance-wide message", f)
	}
	if err := a.Send(natsbus.Message{Kind: "Not A Token", Payload: nil}); err == nil {
		t.Error("a kind that is no subject token was sent")
	}
}

// The server's own kinds are kinds like any other: an event travels as one
// envelope and is refused when it claims another board than its subject's.
func TestEventKind(t *testing.T) {
	t.Parallel()
	srv, err := natsbus.StartServer(natsbus.ServerOptions{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	a, b := connect(t, natsbus.Options{URL: srv.ClientURL()}), connect(t, natsbus.Options{URL: srv.ClientURL()})
	events := make(chan board.Event, 4)
	b.Register(natsbus.KindEvent, natsbus.EventHandler(slog.Default(), func(e board.Event) { events <- e }))
	const one, other = "6f1c2a9e-0000-4000-8000-000000000001", "6f1c2a9e-0000-4000-8000-000000000002"
	if _, err := b.Join(one); err != nil {
		t.Fatal(err)
	}
	forged, _ := json.Marshal(board.Event{BoardID: other, Seq: 1, Kind: "card.created", Data: []byte("{}")})
	if err := a.Send(natsbus.Message{Kind: natsbus.KindEvent, Board: one, Payload: forged}); err != nil {
		t.Fatal(err)
	}
	m, err := natsbus.EventMessage(board.Event{BoardID: one, Seq: 7, Kind: "card.created", Data: []byte(`{"id":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Send(m); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, events); e.BoardID != one || e.Seq != 7 {
		t.Errorf("received %+v, want event 7 of the joined board (and not the mislabelled one)", e)
	}
}

// A cluster that requires a user and TLS: the instances with both talk
// across nodes; a wrong password, a missing password or an untrusted
// certificate does not connect.
func TestAuthenticatedTLSCluster(t *testing.T) {
	t.Parallel()
	cert, caFile := testcert.Loopback(t)
	nodes, err := natsbus.StartClusterWith("corkboard-auth", 2, natsbus.ServerOptions{
		User: "corkboard", Password: "s3cret", TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Shutdown()
		}
	})
	tc, err := natsbus.TLSConfig(caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	good := natsbus.Options{User: "corkboard", Password: "s3cret", TLS: tc}
	oa, ob := good, good
	oa.URL, ob.URL = nodes[0].ClientURL(), nodes[1].ClientURL()
	a, b := connect(t, oa), connect(t, ob)
	got := make(chan board.Revocation, 1)
	b.Register(natsbus.KindRevoke, natsbus.RevocationHandler(slog.Default(), func(r board.Revocation) {
		select {
		case got <- r:
		default: // a repeat (below)
		}
	}))
	m, _ := natsbus.RevocationMessage(board.Revocation{UserID: "u1", Reason: "test"})
	// b's subscription reaches node 0 over the route a moment after b's
	// own node has it; until then node 0 drops what a sends. So a sends
	// again until b has it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := a.Send(m); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-got:
			if r.UserID != "u1" {
				t.Errorf("received %+v", r)
			}
		case <-time.After(200 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			t.Fatal("nothing arrived across the TLS cluster within 10s")
		}
		break
	}

	systemRoots, err := natsbus.TLSConfig("", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]natsbus.Options{
		"wrong password":   {User: "corkboard", Password: "guess", TLS: tc},
		"no password":      {TLS: tc},
		"untrusted server": {User: "corkboard", Password: "s3cret", TLS: systemRoots},
		"no tls":           {User: "corkboard", Password: "s3cret"},
	} {
		o.URL = nodes[0].ClientURL()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b, err := natsbus.Connect(ctx, o)
		cancel()
		if err == nil {
			b.Abort()
			t.Errorf("%s: connected", name)
		}
	}
}

// Every handler runs on the bus's one delivery goroutine, in the order the
// connection read the messages: one sender's messages on many boards arrive
// in the order sent, never two handlers at once, and none after Close.
func TestOneDeliveryGoroutineInArrivalOrder(t *testing.T) {
	t.Parallel()
	srv, err := natsbus.StartServer(natsbus.ServerOptions{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	a := connect(t, natsbus.Options{URL: srv.ClientURL()})
	b, err := natsbus.Connect(context.Background(), natsbus.Options{URL: srv.ClientURL(), Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	const boards, n = 20, 2000
	var running, closed atomic.Bool
	var got []int
	all := make(chan struct{})
	b.Register("seq", func(m natsbus.Message) {
		if !running.CompareAndSwap(false, true) {
			t.Error("two handlers ran at once")
		}
		defer running.Store(false)
		if closed.Load() {
			t.Error("a handler ran after Close returned")
		}
		k, err := strconv.Atoi(string(m.Payload))
		if err != nil || m.Board != boardN(k%boards) {
			t.Errorf("message %q on board %s", m.Payload, m.Board)
		}
		if got = append(got, k); len(got) == n {
			close(all)
		}
	})
	for i := range boards {
		if _, err := b.Join(boardN(i)); err != nil {
			t.Fatal(err)
		}
	}
	for k := range n {
		if err := a.Send(natsbus.Message{Kind: "seq", Board: boardN(k % boards), Payload: []byte(strconv.Itoa(k))}); err != nil {
			t.Fatal(err)
		}
	}
	receive(t, all)
	for i, k := range got {
		if k != i {
			t.Fatalf("message %d arrived as number %d (%v...)", k, i, got[max(0, i-3):i+1])
		}
	}
	// Close waits for the handler; later messages reach no handler.
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed.Store(true)
	if err := a.Send(natsbus.Message{Kind: "seq", Board: boardN(0), Payload: []byte("0")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(context.Background()); err != nil { // flushes the send
		t.Fatal(err)
	}
}

func boardN(i int) string { return fmt.Sprintf("6f1c2a9e-0000-4000-8000-%012d", i) }

// A bus given its server (Options.Server) talks to it through an
// in-process pipe and exchanges messages with buses connected over TCP,
// both ways, never receiving its own.
func TestInProcessConnection(t *testing.T) {
	t.Parallel()
	srv, err := natsbus.StartServer(natsbus.ServerOptions{Port: -1, User: "corkboard", Password: "s3cret", NoProducerStall: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	in := connect(t, natsbus.Options{Server: srv, User: "corkboard", Password: "s3cret"})
	tcp := connect(t, natsbus.Options{URL: srv.ClientURL(), User: "corkboard", Password: "s3cret"})
	if in.ConnectedURL() != srv.ClientURL() {
		t.Errorf("the in-process bus reports %q, want the server's URL %q", in.ConnectedURL(), srv.ClientURL())
	}
	const boardID = "6f1c2a9e-0000-4000-8000-000000000001"
	gotIn, gotTCP := make(chan board.Event, 1), make(chan board.Event, 1)
	in.Register(natsbus.KindEvent, natsbus.EventHandler(slog.Default(), func(e board.Event) { gotIn <- e }))
	tcp.Register(natsbus.KindEvent, natsbus.EventHandler(slog.Default(), func(e board.Event) { gotTCP <- e }))
	for _, b := range []*natsbus.Bus{in, tcp} {
		if _, err := b.Join(boardID); err != nil {
			t.Fatal(err)
		}
	}
	send := func(b *natsbus.Bus, seq int64) {
		m, err := natsbus.EventMessage(board.Event{BoardID: boardID, Seq: seq, Kind: "card.created", Data: []byte(`{"id":"x"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	send(in, 1)
	if e := receive(t, gotTCP); e.Seq != 1 {
		t.Errorf("over TCP: received %+v, want event 1 sent in-process", e)
	}
	send(tcp, 2)
	if e := receive(t, gotIn); e.Seq != 2 {
		t.Errorf("in-process: received %+v, want event 2 sent over TCP", e)
	}
	// SendEvent reuses its buffer: every event arrives whole, each with its
	// own payload.
	for seq := int64(3); seq <= 200; seq++ {
		data := fmt.Appendf(nil, `{"id":"card-%d","title":"%s"}`, seq, strings.Repeat("x", int(seq)))
		if err := in.SendEvent(board.Event{BoardID: boardID, Seq: seq, Kind: "card.updated", Data: data}); err != nil {
			t.Fatal(err)
		}
		e := receive(t, gotTCP)
		if want := fmt.Sprintf(`{"id":"card-%d","title":"%s"}`, seq, strings.Repeat("x", int(seq))); e.Seq != seq || string(e.Data) != want {
			t.Fatalf("received event %d with %s, want event %d with %s", e.Seq, e.Data, seq, want)
		}
	}
	select {
	case e := <-gotIn:
		t.Errorf("the in-process bus received its own event %+v", e)
	default:
	}
}
