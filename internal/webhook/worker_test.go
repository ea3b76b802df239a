package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/store"
	"github.com/corkboard/corkboard/internal/webhook"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const owner = "alice"

// env is one database and the stores of several instances on it.
type env struct {
	t      testing.TB
	url    string
	stores []*store.Store
	st     *store.Store
	log    *slog.Logger
}

func newEnv(t testing.TB, instances int) *env {
	t.Helper()
	e := &env{t: t, url: pgtest.NewDatabase(t, "store", store.Migrate), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for range instances {
		e.stores = append(e.stores, e.open(8))
	}
	e.st = e.stores[0]
	return e
}

func (e *env) open(conns int32) *store.Store {
	st, err := store.Open(context.Background(), e.url, store.Options{MaxConns: conns})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(st.Close)
	return st
}

// testOptions are fast retries and short timeouts, with the loopback
// receiver allowed.
func (e *env) options(st *store.Store) webhook.Options {
	return webhook.Options{Store: st, Guard: &webhook.Guard{AllowPrivateNetworks: true}, Logger: e.log,
		PollInterval: 50 * time.Millisecond, Timeout: 2 * time.Second, RetryInitial: 20 * time.Millisecond,
		RetryMax: 200 * time.Millisecond}
}

// running is a worker running in the background.
type running struct {
	w      *webhook.Worker
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *running) stop() { r.cancel(); <-r.done }

func (e *env) start(o webhook.Options) *running {
	w := webhook.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); w.Run(ctx) }()
	e.t.Cleanup(r.stop)
	return r
}

func (e *env) board(name string) (string, string) {
	e.t.Helper()
	ctx := context.Background()
	m := board.Meta{Actor: owner}
	b, _, err := e.st.CreateBoard(ctx, m, board.BoardInput{Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	c, _, err := e.st.CreateColumn(ctx, m, b.ID, board.ColumnInput{Name: "todo"})
	if err != nil {
		e.t.Fatal(err)
	}
	return b.ID, c.ID
}

func (e *env) hook(rc *receiver, name, boardID string, kinds ...string) webhook.Webhook {
	e.t.Helper()
	if kinds == nil {
		kinds = []string{}
	}
	w, err := e.st.CreateWebhook(context.Background(), owner, boardID, webhook.Input{URL: rc.url(name), Kinds: kinds}, webhook.NewSecret())
	if err != nil {
		e.t.Fatal(err)
	}
	rc.register(name, w.Secret)
	return w
}

// card makes one change on the board: a new card, or (every third) a new
// title for the writer's last card.
func (e *env) change(st *store.Store, boardID, colID string, i int, last *string) error {
	ctx := context.Background()
	m := board.Meta{Actor: owner, OpID: fmt.Sprint("op", i)}
	if i%3 == 2 && *last != "" {
		title := fmt.Sprint("renamed ", i)
		_, _, err := st.UpdateCard(ctx, m, boardID, *last, board.CardPatch{Title: &title}, 0)
		return err
	}
	c, _, err := st.CreateCard(ctx, m, boardID, board.CardInput{ColumnID: colID, Title: fmt.Sprint("card ", i)})
	*last = c.ID
	return err
}

// wait waits until every listed webhook's cursor is at its board's head
// (or the webhook stopped being active).
func (e *env) wait(hooks []webhook.Webhook, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		behind := ""
		for _, h := range hooks {
			w, err := e.st.GetWebhook(context.Background(), owner, h.BoardID, h.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			_, head, err := e.st.Events(context.Background(), owner, h.BoardID, 0, 0)
			if err != nil {
				e.t.Fatal(err)
			}
			if w.Active && w.Cursor < head {
				behind += fmt.Sprintf(" %s at %d of %d (attempts %d);", h.URL, w.Cursor, head, w.Attempts)
			}
		}
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("webhooks still behind after %s:%s", within, behind)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expect returns the events the webhook must deliver: those after its
// first cursor that it wants, in order.
func (e *env) expect(h webhook.Webhook) []board.Event {
	e.t.Helper()
	evs, err := e.st.LogEvents(context.Background(), h.BoardID, h.Cursor, 1<<20)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []board.Event
	for _, ev := range evs {
		if h.Wants(ev.Kind) {
			out = append(out, ev)
		}
	}
	return out
}

// checkStream checks that name received exactly the events want, in order,
// each body the WebSocket frame of its event, with duplicates (by
// webhook-id) only of the ids in dupOK. It returns the number of
// duplicates.
func checkStream(t *testing.T, rc *receiver, name string, h webhook.Webhook, want []board.Event, dupOK map[string]bool) int {
	t.Helper()
	seen := map[string]bool{}
	var order []int64
	dups := 0
	for _, a := range rc.arrivals(name) {
		if seen[a.id] {
			dups++
			if !dupOK[a.id] {
				t.Errorf("%s: %s (seq %d) delivered twice", name, a.id, a.seq)
			}
			continue
		}
		seen[a.id] = true
		order = append(order, a.seq)
		i := slices.IndexFunc(want, func(e board.Event) bool { return e.Seq == a.seq })
		if i < 0 {
			t.Errorf("%s: got seq %d (%s), which it should not", name, a.seq, a.kind)
			continue
		}
		if !bytes.Equal(a.body, hub.EncodeEvent(want[i])) {
			t.Errorf("%s: seq %d body\n%s\nwant\n%s", name, a.seq, a.body, hub.EncodeEvent(want[i]))
		}
		if a.id != webhook.MessageID(h.ID, h.BoardID, a.seq) {
			t.Errorf("%s: seq %d has webhook-id %s", name, a.seq, a.id)
		}
	}
	var wantSeqs []int64
	for _, e := range want {
		wantSeqs = append(wantSeqs, e.Seq)
	}
	if !slices.Equal(order, wantSeqs) {
		t.Errorf("%s: received seqs %v\nwant %v", name, order, wantSeqs)
	}
	return dups
}

// Three instances' workers on one database, sixteen writers on four boards,
// two webhooks per board (one of them for card.updated only): every
// webhook receives each of its events exactly once, in seq order, signed,
// never two requests at once.
func TestThreeWorkersDeliverEachEventOnceInOrder(t *testing.T) {
	e := newEnv(t, 3)
	rc := newReceiver(t)
	var workers []*running
	for _, st := range e.stores {
		workers = append(workers, e.start(e.options(st)))
	}
	type target struct {
		board, col string
	}
	var targets []target
	var hooks []webhook.Webhook
	names := map[string]string{}
	for i := range 4 {
		b, c := e.board(fmt.Sprint("board ", i))
		targets = append(targets, target{b, c})
		all := e.hook(rc, fmt.Sprintf("b%d-all", i), b)
		upd := e.hook(rc, fmt.Sprintf("b%d-updated", i), b, board.KindCardUpdated)
		hooks = append(hooks, all, upd)
		names[all.ID], names[upd.ID] = fmt.Sprintf("b%d-all", i), fmt.Sprintf("b%d-updated", i)
	}
	const writers, perWriter = 16, 24
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg := targets[w%len(targets)]
			st := e.stores[w%len(e.stores)]
			var last string
			for i := range perWriter {
				if err := e.change(st, tg.board, tg.col, i, &last); err != nil {
					t.Error(err)
					return
				}
				// The instance that committed wakes its worker; the
				// others find the event by polling.
				workers[w%len(workers)].w.Notify(tg.board)
			}
		}()
	}
	wg.Wait()
	e.wait(hooks, 60*time.Second)
	total := 0
	for _, h := range hooks {
		want := e.expect(h)
		total += len(want)
		checkStream(t, rc, names[h.ID], h, want, nil)
	}
	rc.check(t)
	if total < writers*perWriter {
		t.Errorf("only %d events expected in all", total)
	}
	t.Logf("%d deliveries to %d webhooks", total, len(hooks))

	// The delivery log has them all, succeeded.
	ds, err := e.st.WebhookDeliveries(context.Background(), owner, hooks[0].BoardID, hooks[0].ID, 0, webhook.MaxLogPageLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 || !ds[0].OK || ds[0].StatusCode != 200 || ds[0].Trigger != webhook.TriggerEvent {
		t.Errorf("delivery log: %+v", ds[:min(1, len(ds))])
	}
}

// A receiver that answers 500 and then times out for a while, then
// recovers, gets everything in order; the failures are in the delivery log
// with their retry times.
func TestFailingReceiverRecovers(t *testing.T) {
	e := newEnv(t, 3)
	rc := newReceiver(t)
	rc.behave = func(name string, n int, a arrival) (int, time.Duration) {
		switch {
		case name != "flaky":
			return 200, 0
		case n < 5:
			return 500, 0
		case n < 7:
			return 200, 3 * time.Second // past the 500ms timeout
		case n < 9:
			return 503, 0
		}
		return 200, 0
	}
	for _, st := range e.stores {
		o := e.options(st)
		o.Timeout = 500 * time.Millisecond
		e.start(o)
	}
	b, c := e.board("flaky")
	flaky := e.hook(rc, "flaky", b)
	steady := e.hook(rc, "steady", b)
	var last string
	for i := range 30 {
		if err := e.change(e.st, b, c, i, &last); err != nil {
			t.Fatal(err)
		}
	}
	e.wait([]webhook.Webhook{flaky, steady}, 60*time.Second)
	checkStream(t, rc, "flaky", flaky, e.expect(flaky), nil)
	checkStream(t, rc, "steady", steady, e.expect(steady), nil)
	rc.check(t)

	ds, err := e.st.WebhookDeliveries(context.Background(), owner, b, flaky.ID, 0, webhook.MaxLogPageLimit)
	if err != nil {
		t.Fatal(err)
	}
	var fails, timeouts, with500 int
	for _, d := range ds {
		if d.OK {
			continue
		}
		fails++
		if d.NextRetryAt == nil || !d.NextRetryAt.After(d.At) {
			t.Errorf("failed delivery without a later retry time: %+v", d)
		}
		if d.StatusCode == 500 {
			with500++
		}
		if strings.Contains(d.Error, "no answer within") {
			timeouts++
		}
		if d.Seq != flaky.Cursor+1 {
			t.Errorf("a failure of seq %d; only the first event (%d) failed", d.Seq, flaky.Cursor+1)
		}
	}
	if fails != 9 || with500 != 5 || timeouts != 2 {
		t.Errorf("log has %d failures (%d with 500, %d timeouts), want 9 (5, 2)", fails, with500, timeouts)
	}
	w, _ := e.st.GetWebhook(context.Background(), owner, b, flaky.ID)
	if !w.Active || w.Attempts != 0 || w.FailingSince != nil {
		t.Errorf("after recovery: %+v", w)
	}
}

// A receiver that never recovers: after RetryFor of failures the webhook is
// disabled and says why; re-enabling it resumes from its cursor.
func TestPersistentFailureDisables(t *testing.T) {
	e := newEnv(t, 1)
	rc := newReceiver(t)
	var mu sync.Mutex
	down := true
	rc.behave = func(string, int, arrival) (int, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return 500, 0
		}
		return 200, 0
	}
	o := e.options(e.st)
	o.RetryFor = 300 * time.Millisecond
	e.start(o)
	b, c := e.board("dead")
	h := e.hook(rc, "dead", b)
	var last string
	for i := range 3 {
		if err := e.change(e.st, b, c, i, &last); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	var w webhook.Webhook
	for {
		var err error
		if w, err = e.st.GetWebhook(context.Background(), owner, b, h.ID); err != nil {
			t.Fatal(err)
		}
		if !w.Active || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w.Active || !strings.Contains(w.DisabledReason, "answered 500") || w.Cursor != h.Cursor {
		t.Fatalf("after persistent failure: active %v, reason %q, cursor %d (was %d)", w.Active, w.DisabledReason, w.Cursor, h.Cursor)
	}
	if n := len(rc.arrivals("dead")); n != 0 {
		t.Fatalf("%d processed", n)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	on := true
	if w, err := e.st.UpdateWebhook(context.Background(), owner, b, h.ID, webhook.Patch{Active: &on}); err != nil || w.DisabledReason != "" {
		t.Fatalf("re-enable: %+v %v", w, err)
	}
	e.wait([]webhook.Webhook{h}, 30*time.Second)
	checkStream(t, rc, "dead", h, e.expect(h), nil)
}

// A worker killed while a request is in flight loses nothing: another
// instance's worker delivers everything after the lease runs out; the event
// in flight may come twice (the receiver may have processed it), nothing
// else does. The dead instance does not release its lease (its database
// connections are gone), as after a crash.
func TestKilledWorkerLosesNothing(t *testing.T) {
	e := newEnv(t, 2)
	rc := newReceiver(t)
	b, c := e.board("crash")
	h := e.hook(rc, "crash", b)
	inFlight := make(chan struct{})
	killed := make(chan struct{})
	var once sync.Once
	rc.onArrive = func(name string, n int) {
		if n == 3 {
			once.Do(func() { close(inFlight) })
			<-killed // then processes it and answers, to a sender that is gone
		}
	}
	victimStore := e.open(4)
	o := e.options(victimStore)
	o.Timeout = 500 * time.Millisecond // a lease of 6s
	victim := e.start(o)
	var last string
	for i := range 12 {
		if err := e.change(e.st, b, c, i, &last); err != nil {
			t.Fatal(err)
		}
		victim.w.Notify(b)
	}
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("the fourth request never came")
	}
	victimStore.Close()
	victim.stop()
	close(killed)
	// More changes while nobody delivers, then the survivor.
	for i := 12; i < 20; i++ {
		if err := e.change(e.st, b, c, i, &last); err != nil {
			t.Fatal(err)
		}
	}
	e.start(e.options(e.stores[1]))
	e.wait([]webhook.Webhook{h}, 60*time.Second)
	want := e.expect(h)
	dups := checkStream(t, rc, "crash", h, want, map[string]bool{webhook.MessageID(h.ID, b, want[3].Seq): true})
	rc.check(t)
	t.Logf("%d events, %d duplicates across the crash", len(want), dups)
}

// A slow receiver does not slow the API: while every delivery hangs, the
// instance's store (which the API uses, with a small pool) goes on
// committing mutations; the worker holds no database connection while it
// waits for a receiver.
func TestSlowReceiverDoesNotHoldTheDatabase(t *testing.T) {
	e := newEnv(t, 1)
	st := e.open(3)
	rc := newReceiver(t)
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(6)
	rc.onArrive = func(name string, n int) {
		if n == 0 {
			arrived.Done()
		}
		<-release
	}
	o := e.options(st)
	o.Timeout = time.Minute
	e.start(o)
	var hooks []webhook.Webhook
	var boards [][2]string
	for i := range 6 {
		b, c := e.board(fmt.Sprint("slow ", i))
		boards = append(boards, [2]string{b, c})
		hooks = append(hooks, e.hook(rc, fmt.Sprint("slow", i), b))
		var last string
		if err := e.change(st, b, c, 0, &last); err != nil {
			t.Fatal(err)
		}
	}
	arrived.Wait() // six requests hang, more than the pool has connections
	for i := range 60 {
		bc := boards[i%len(boards)]
		var last string
		if err := e.change(st, bc[0], bc[1], i, &last); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			if _, err := st.Snapshot(context.Background(), owner, bc[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-release:
		t.Fatal("released early")
	default:
	}
	if n := len(rc.arrivals("slow0")); n != 0 {
		t.Fatalf("the receiver finished %d requests while hanging", n)
	}
	close(release)
	e.wait(hooks, 60*time.Second)
	rc.check(t)
}

// Test events and redeliveries: jobs an owner asks for, sent by the lease
// holder with their own webhook-id (a test) or the event's (a redelivery).
func TestTestEventAndRedeliver(t *testing.T) {
	e := newEnv(t, 1)
	rc := newReceiver(t)
	w := e.start(e.options(e.st))
	b, c := e.board("jobs")
	h := e.hook(rc, "jobs", b)
	var last string
	if err := e.change(e.st, b, c, 0, &last); err != nil {
		t.Fatal(err)
	}
	e.wait([]webhook.Webhook{h}, 30*time.Second)
	ctx := context.Background()
	job, err := e.st.RequestWebhookJob(ctx, owner, b, h.ID, webhook.TriggerTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.w.Notify(b)
	ds := waitLog(t, e, h, 2)
	if d := ds[0]; d.Trigger != webhook.TriggerTest || !d.OK || d.Kind != webhook.KindTest || d.MessageID != "msg_test_"+job.ID {
		t.Fatalf("test delivery: %+v", d)
	}
	if _, err := e.st.RequestWebhookJob(ctx, owner, b, h.ID, webhook.TriggerRedeliver, ds[1].ID); err != nil {
		t.Fatal(err)
	}
	w.w.Notify(b)
	ds = waitLog(t, e, h, 3)
	if d := ds[0]; d.Trigger != webhook.TriggerRedeliver || !d.OK || d.Seq != ds[2].Seq || d.MessageID != ds[2].MessageID {
		t.Fatalf("redelivery: %+v (of %+v)", d, ds[2])
	}
	got := rc.arrivals("jobs")
	if len(got) != 3 || got[1].kind != webhook.KindTest || got[1].seq != 0 || got[2].id != got[0].id {
		t.Fatalf("receiver got %+v", got)
	}
	rc.check(t)
	// Another board's delivery id is not this webhook's.
	if _, err := e.st.RequestWebhookJob(ctx, owner, b, h.ID, webhook.TriggerRedeliver, 1<<40); board.ErrorCode(err) != board.ENotFound {
		t.Fatalf("redeliver an unknown delivery: %v", err)
	}
}

func waitLog(t *testing.T, e *env, h webhook.Webhook, n int) []webhook.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := e.st.WebhookDeliveries(context.Background(), owner, h.BoardID, h.ID, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log has %d entries, want %d", len(ds), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// claimCounter counts the worker's looks for work.
type claimCounter struct {
	webhook.Store
	mu     sync.Mutex
	claims int
}

func (c *claimCounter) ClaimWebhooks(ctx context.Context, token string, lease time.Duration, limit int) ([]webhook.State, error) {
	c.mu.Lock()
	c.claims++
	c.mu.Unlock()
	return c.Store.ClaimWebhooks(ctx, token, lease, limit)
}

func (c *claimCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.claims
}

// TestNotifySpacing: a stream of commits (a Notify every millisecond for a
// second) makes the worker look for work once per Spacing, not once each;
// a Notify after a quiet spell is looked at at once.
func TestNotifySpacing(t *testing.T) {
	e := newEnv(t, 1)
	st := &claimCounter{Store: e.st}
	o := e.options(e.st)
	o.Store, o.PollInterval, o.Spacing = st, time.Hour, 100*time.Millisecond
	r := e.start(o)
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitUntil("the first look", func() bool { return st.count() >= 1 })
	time.Sleep(o.Spacing)

	before := st.count()
	start := time.Now()
	for time.Since(start) < time.Second {
		r.w.Notify("b")
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	if n, most := st.count()-before, int(elapsed/o.Spacing)+2; n > most {
		t.Errorf("%d looks for work in %v of Notify every millisecond, want at most %d (one per %v)", n, elapsed, most, o.Spacing)
	}

	time.Sleep(2 * o.Spacing)
	before = st.count()
	r.w.Notify("b")
	waitUntil("a look after a quiet Notify", func() bool { return st.count() > before })
}
