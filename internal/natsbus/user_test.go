package natsbus_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/natsbus"
)

// A user message reaches every other instance as it was sent; malformed
// ones are dropped by the handler.
func TestUserMessages(t *testing.T) {
	t.Parallel()
	srv, err := natsbus.StartServer(natsbus.ServerOptions{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	a, b := connect(t, natsbus.Options{URL: srv.ClientURL()}), connect(t, natsbus.Options{URL: srv.ClientURL()})
	got := make(chan board.UserMessage, 4)
	b.Register(natsbus.KindUser, natsbus.UserHandler(slog.New(slog.NewTextHandler(t.Output(), nil)),
		func(m board.UserMessage) { got <- m }))
	for _, bad := range [][]byte{[]byte(`{`), []byte(`{"kind":"notification"}`), []byte(`{"user":"u"}`)} {
		if err := a.Send(natsbus.Message{Kind: natsbus.KindUser, Payload: bad}); err != nil {
			t.Fatal(err)
		}
	}
	want := board.UserMessage{User: "u", Kind: board.UserNotification, Board: "b", Data: []byte(`{"id":7,"excerpt":"<@u>"}`)}
	msg, err := natsbus.UserMessage(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Send(msg); err != nil {
		t.Fatal(err)
	}
	m := receive(t, got)
	if m.User != want.User || m.Kind != want.Kind || m.Board != want.Board || !bytes.Equal(m.Data, want.Data) {
		t.Errorf("got %+v, want %+v", m, want)
	}
	if len(got) != 0 {
		t.Errorf("a malformed message was handed over: %+v", <-got)
	}
}
