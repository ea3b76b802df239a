package natsbus

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/corkboard/corkboard/internal/board"
)

// A bus alone on its own server sends nothing (the server receives no
// message); once another client is connected, it sends again and that
// client receives.
func TestAloneOnItsServerSendsNothing(t *testing.T) {
	srv, err := StartServer(ServerOptions{Port: -1, User: "u", Password: "p", NoProducerStall: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	b, err := Connect(context.Background(), Options{Server: srv, User: "u", Password: "p", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) }) //nolint:errcheck // test teardown
	inMsgs := func() int64 {
		t.Helper()
		if err := b.nc.Flush(); err != nil { // what was sent has reached the server
			t.Fatal(err)
		}
		v, err := srv.s.Varz(nil)
		if err != nil {
			t.Fatal(err)
		}
		return v.InMsgs
	}
	m := Message{Kind: "typing", Payload: []byte("{}")}
	if err := b.Send(m); err != nil {
		t.Fatal(err)
	}
	if err := b.SendEvent(board.Event{BoardID: "b", Seq: 1, Kind: "card.created", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if n := inMsgs(); n != 0 {
		t.Fatalf("the server received %d messages from a bus alone on it", n)
	}

	sub := typingSubscriber(t, srv.ClientURL(), nats.UserInfo("u", "p"))
	if err := b.Send(m); err != nil {
		t.Fatal(err)
	}
	if got, err := sub.NextMsg(10 * time.Second); err != nil || string(got.Data) != "{}" {
		t.Fatalf("the other client received %v, %v", got, err)
	}
	if n := inMsgs(); n != 1 {
		t.Errorf("the server received %d messages, want the one sent while another client was connected", n)
	}
}

// A bus alone on its server among clients, but whose server is a node of a
// cluster, sends: a client of another node receives.
func TestAloneOnAClusterNodeSends(t *testing.T) {
	a, err := StartServer(ServerOptions{Port: -1, Cluster: "c", ClusterPort: -1, Name: "a", NoProducerStall: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Shutdown)
	b, err := StartServer(ServerOptions{Port: -1, Cluster: "c", ClusterPort: -1, Name: "b", Routes: []string{a.RouteURL()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	bus, err := Connect(context.Background(), Options{Server: a, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close(context.Background()) }) //nolint:errcheck // test teardown
	sub := typingSubscriber(t, b.ClientURL())
	// Until the subscription has crossed the route, what is sent is lost:
	// send until one arrives.
	m := Message{Kind: "typing", Payload: []byte("{}")}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := bus.Send(m); err != nil {
			t.Fatal(err)
		}
		if got, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			if string(got.Data) != "{}" {
				t.Fatalf("the other node's client received %q", got.Data)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing sent by a bus on a cluster node reached a client of the other node")
		}
	}
}

// typingSubscriber connects a plain client to url and subscribes it to the
// instance-wide typing subject; the subscription is on the server when it
// returns.
func typingSubscriber(t *testing.T, url string, opts ...nats.Option) *nats.Subscription {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync(subject("typing", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}
