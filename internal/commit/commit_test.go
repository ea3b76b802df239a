package commit_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/commit"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// local records what the committer hands this instance's hub, and when.
type local struct {
	mu    sync.Mutex
	calls []string
	evs   []board.Event
	revs  []board.Revocation
}

func (l *local) Publish(e board.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "publish "+e.Kind)
	l.evs = append(l.evs, e)
}

func (l *local) Revoke(r board.Revocation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "revoke "+r.UserID)
	l.revs = append(l.revs, r)
}

func (l *local) record(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

func (l *local) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// instance is a committer on a real store and a real bus, with a second bus
// (another instance) listening to what it sends.
type instance struct {
	st     *store.Store
	c      *commit.Committer
	local  *local
	remote chan natsbus.Message
	peer   *natsbus.Bus
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	st, err := store.Open(context.Background(), pgtest.NewDatabase(t, "store", store.Migrate), store.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	srv, err := natsbus.StartServer(natsbus.ServerOptions{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	connect := func() *natsbus.Bus {
		b, err := natsbus.Connect(context.Background(), natsbus.Options{URL: srv.ClientURL(), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close(context.Background()) }) //nolint:errcheck // test teardown
		return b
	}
	bus, peer := connect(), connect()
	in := &instance{st: st, local: &local{}, remote: make(chan natsbus.Message, 16), peer: peer}
	for _, k := range []string{natsbus.KindEvent, natsbus.KindRevoke} {
		peer.Register(k, func(m natsbus.Message) { in.remote <- m })
	}
	in.c = commit.New(commit.Options{Bus: bus, Local: in.local, Logger: log})
	return in
}

func (in *instance) next(t *testing.T) natsbus.Message {
	t.Helper()
	select {
	case m := <-in.remote:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("nothing reached the other instance within 10s")
		return natsbus.Message{}
	}
}

// After COMMIT, and only then, the event goes to the bus and the local hub,
// then to every OnCommitted hook.
func TestRunPublishesAfterCommit(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	var hooked []board.Event
	in.c.OnCommitted(func(e board.Event) { hooked = append(hooked, e); in.local.record("hook " + e.Kind) })
	ctx := context.Background()
	m := board.Meta{Actor: "alice"}

	res, err := in.c.Run(ctx, func(ctx context.Context) (any, board.Event, error) {
		return in.st.CreateBoard(ctx, m, board.BoardInput{Name: "b"})
	})
	if err != nil {
		t.Fatal(err)
	}
	b := res.(board.Board)
	leave, err := in.peer.Join(b.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer leave()

	_, err = in.c.Run(ctx, func(ctx context.Context) (any, board.Event, error) {
		return in.st.UpdateBoard(ctx, m, b.ID, board.BoardPatch{Name: new("renamed")}, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	msg := in.next(t)
	if msg.Kind != natsbus.KindEvent || msg.Board != b.ID {
		t.Fatalf("the other instance got %+v", msg)
	}
	want := []string{"publish board.created", "hook board.created", "publish board.updated", "hook board.updated"}
	if got := in.local.snapshot(); !slices.Equal(got, want) {
		t.Errorf("effects in the order %q, want %q", got, want)
	}
	if len(hooked) != 2 || hooked[1].Seq != 2 {
		t.Errorf("hooks saw %+v", hooked)
	}

	// A mutation that fails commits nothing and has no effect.
	_, err = in.c.Run(ctx, func(ctx context.Context) (any, board.Event, error) {
		return in.st.UpdateBoard(ctx, m, b.ID, board.BoardPatch{Name: new("stale")}, 99)
	})
	if e, ok := errors.AsType[*board.Error](err); !ok || e.Code != board.EVersionMismatch {
		t.Fatalf("stale update: %v", err)
	}
	// Nor does a replay of an idempotent call, which commits nothing now.
	ctx = board.WithIdempotentCall(ctx, &board.IdempotentCall{Caller: "alice", Key: "k", Replay: []byte(`{"id":"` + b.ID + `"}`)})
	res, err = in.c.Run(ctx, func(ctx context.Context) (any, board.Event, error) {
		return in.st.UpdateBoard(ctx, m, b.ID, board.BoardPatch{Name: new("again")}, 0)
	})
	if err != nil || res.(board.Board).ID != b.ID {
		t.Fatalf("replay: %v, %v", res, err)
	}
	if got := in.local.snapshot(); len(got) != len(want) {
		t.Errorf("a failed mutation or a replay had effects: %q", got[len(want):])
	}
}

// Removing a member revokes their live subscription to the board here and
// on every other instance: the committer does it, not the caller.
func TestRunRevokesARemovedMember(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	ctx := context.Background()
	owner := board.Meta{Actor: "alice"}
	res, err := in.c.Run(ctx, func(ctx context.Context) (any, board.Event, error) {
		return in.st.CreateBoard(ctx, owner, board.BoardInput{Name: "b"})
	})
	if err != nil {
		t.Fatal(err)
	}
	b := res.(board.Board)
	if _, err := in.st.Pool().Exec(ctx, `INSERT INTO board_members (board_id, user_id, role) VALUES ($1, 'bob', 'editor')`, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := in.c.Run(ctx, func(ctx context.Context) (any, board.Event, error) {
		ev, err := in.st.RemoveMember(ctx, owner, b.ID, "bob")
		return nil, ev, err
	}); err != nil {
		t.Fatal(err)
	}
	want := board.Revocation{UserID: "bob", BoardID: b.ID, Reason: "removed from the board"}
	if len(in.local.revs) != 1 || in.local.revs[0] != want {
		t.Errorf("revoked locally: %+v, want %+v", in.local.revs, want)
	}
	msg := in.next(t)
	if msg.Kind != natsbus.KindRevoke || msg.Board != "" {
		t.Fatalf("the other instance got %+v", msg)
	}
	var got board.Revocation
	natsbus.RevocationHandler(slog.Default(), func(r board.Revocation) { got = r })(msg)
	if got != want {
		t.Errorf("the other instance got the revocation %+v, want %+v", got, want)
	}
}
