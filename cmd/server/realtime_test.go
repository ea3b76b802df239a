package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/store"
)

// cluster is several instances sharing one database and a NATS cluster.
type cluster struct {
	dbURL   string
	natsURL string
	apps    []*App
}

func startCluster(t *testing.T, instances int, tweak func(i int, c *Config)) *cluster {
	t.Helper()
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	_, natsURL := natsCluster(t, 3)
	c := &cluster{dbURL: dbURL, natsURL: natsURL}
	for i := range instances {
		cfg := testConfig(dbURL, natsURL)
		if tweak != nil {
			tweak(i, &cfg)
		}
		c.apps = append(c.apps, startApp(t, cfg))
	}
	return c
}

// writeLoad runs writers that each make n card mutations on random boards
// through random instances, and returns when all are done.
func writeLoad(t *testing.T, apps []*App, owner string, boards []string, cols map[string]string, writers, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var cards []struct{ board, id string }
			for i := range n {
				c := apps[rng.IntN(len(apps))].api(t, owner)
				b := boards[rng.IntN(len(boards))]
				var own []int
				for j, cd := range cards {
					if cd.board == b {
						own = append(own, j)
					}
				}
				if len(own) == 0 || rng.IntN(3) == 0 {
					var card board.Card
					c.mustDo("POST", "/api/boards/"+b+"/cards",
						map[string]any{"column_id": cols[b], "title": fmt.Sprintf("w%d-%d", w, i)}, &card)
					cards = append(cards, struct{ board, id string }{b, card.ID})
					continue
				}
				cd := cards[own[rng.IntN(len(own))]]
				switch rng.IntN(3) {
				case 0:
					c.mustDo("PATCH", "/api/boards/"+b+"/cards/"+cd.id, map[string]any{"title": fmt.Sprintf("w%d-%d'", w, i)}, nil)
				case 1:
					c.mustDo("POST", "/api/boards/"+b+"/cards/"+cd.id+"/move", map[string]any{"position": map[string]any{"to": "top"}}, nil)
				case 2:
					c.mustDo("PATCH", "/api/boards/"+b+"/cards/"+cd.id, map[string]any{"done": rng.IntN(2) == 0}, nil)
				}
			}
		}()
	}
	wg.Wait()
}

// TestMultiInstanceDelivery: three instances, one PostgreSQL, a three-node
// NATS cluster; subscribers and writers on every instance. Every subscriber
// gets exactly 1..N of every board.
func TestMultiInstanceDelivery(t *testing.T) {
	c := startCluster(t, 3, nil)
	owner := "owner"
	var boards []string
	cols := map[string]string{}
	for i := range 3 {
		b, col := c.apps[i].api(t, owner).newBoard(fmt.Sprintf("board %d", i))
		boards = append(boards, b)
		cols[b] = col
	}
	var subs []*subscriber
	for i, a := range c.apps {
		for j := range 4 {
			s := dialSubscriber(t, a, owner, fmt.Sprintf("sub-%d-%d", i, j))
			for _, b := range boards {
				s.subscribe(b, 0)
			}
			subs = append(subs, s)
		}
	}
	for _, s := range subs {
		for _, b := range boards {
			s.waitSubscribed(b)
		}
	}
	writeLoad(t, c.apps, owner, boards, cols, 6, 40)
	heads := map[string]int64{}
	for _, b := range boards {
		heads[b] = c.apps[0].api(t, owner).snapshot(b).Seq
	}
	for _, s := range subs {
		for _, b := range boards {
			waitFor(t, 15*time.Second, s.name+" all events", func() bool { return s.last(b) >= heads[b] })
			s.checkExactly(t, b, 1, heads[b])
		}
	}
}

// TestFaultsKeepDeliveryComplete injects faults while writes flow: an
// instance that "dies" between COMMIT and publish (its publications of some
// events are dropped), NATS messages lost on receipt, and a NATS node that
// stops and restarts mid-stream. Every subscriber still ends with exactly
// 1..N, in order.
func TestFaultsKeepDeliveryComplete(t *testing.T) {
	var dropped atomic.Int64
	c := startCluster(t, 3, func(i int, cfg *Config) {
		switch i {
		case 0: // drops every 4th publication entirely
			cfg.hooks.beforePublish = func(e board.Event) bool {
				if e.Seq%4 == 0 {
					dropped.Add(1)
					return false
				}
				return true
			}
		case 1: // loses a fifth of what NATS brings
			var n atomic.Int64
			cfg.hooks.dropNATS = func(string) bool { return n.Add(1)%5 == 0 }
		}
	})
	owner := "owner"
	b, col := c.apps[0].api(t, owner).newBoard("faults")
	var subs []*subscriber
	for i, a := range c.apps {
		for j := range 3 {
			s := dialSubscriber(t, a, owner, fmt.Sprintf("sub-%d-%d", i, j))
			s.subscribe(b, 0)
			s.waitSubscribed(b)
			subs = append(subs, s)
		}
	}
	writeLoad(t, c.apps, owner, []string{b}, map[string]string{b: col}, 4, 30)
	head := c.apps[0].api(t, owner).snapshot(b).Seq
	for _, s := range subs {
		waitFor(t, 15*time.Second, s.name+" all events", func() bool { return s.last(b) >= head })
		s.checkExactly(t, b, 1, head)
	}
	if dropped.Load() == 0 {
		t.Fatal("the fault hook dropped nothing: the test tested nothing")
	}
}

// TestNATSNodeRestart stops a NATS node mid-stream and starts it again on
// the same ports; instances connected to it reconnect (to it or another
// node) and every subscriber still gets exactly 1..N.
func TestNATSNodeRestart(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	nodes, _ := natsCluster(t, 3)
	var apps []*App
	for range 3 {
		apps = append(apps, startApp(t, testConfig(dbURL, strings.Join(
			[]string{nodes[0].ClientURL(), nodes[1].ClientURL(), nodes[2].ClientURL()}, ","))))
	}
	// Stop the node instance 0 is connected to.
	victim := -1
	for i, n := range nodes {
		if n.ClientURL() == apps[0].bus.ConnectedURL() {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("instance 0 is connected to %s, none of the nodes", apps[0].bus.ConnectedURL())
	}
	others := []string{}
	for i, n := range nodes {
		if i != victim {
			others = append(others, n.RouteURL())
		}
	}
	owner := "owner"
	b, col := apps[0].api(t, owner).newBoard("nats restart")
	var subs []*subscriber
	for i, a := range apps {
		s := dialSubscriber(t, a, owner, fmt.Sprintf("sub-%d", i))
		s.subscribe(b, 0)
		s.waitSubscribed(b)
		subs = append(subs, s)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		writeLoad(t, apps[1:], owner, []string{b}, map[string]string{b: col}, 2, 60)
	}()
	time.Sleep(150 * time.Millisecond)
	clientPort, clusterPort := nodes[victim].ClientPort(), nodes[victim].ClusterPort()
	nodes[victim].Shutdown()
	time.Sleep(500 * time.Millisecond)
	restarted, err := natsbus.StartServer(natsbus.ServerOptions{Port: clientPort, Cluster: "corkboard-test",
		ClusterPort: clusterPort, Routes: others, Name: "restarted"})
	if err != nil {
		t.Fatalf("restart nats node: %v", err)
	}
	t.Cleanup(restarted.Shutdown)
	<-done
	head := apps[0].api(t, owner).snapshot(b).Seq
	for _, s := range subs {
		waitFor(t, 15*time.Second, s.name+" all events", func() bool { return s.last(b) >= head })
		s.checkExactly(t, b, 1, head)
	}
	if apps[0].bus.Reconnects() == 0 {
		t.Error("instance 0 never reconnected: the restart did not cut it off")
	}
}

// TestResumeWithSince cuts a client off for a while; it comes back with
// since = the last seq it got and receives exactly what it missed.
func TestResumeWithSince(t *testing.T) {
	c := startCluster(t, 2, nil)
	owner := "owner"
	b, col := c.apps[0].api(t, owner).newBoard("resume")
	s1 := dialSubscriber(t, c.apps[1], owner, "before")
	s1.subscribe(b, 0)
	s1.waitSubscribed(b)
	writeLoad(t, c.apps, owner, []string{b}, map[string]string{b: col}, 2, 10)
	mid := c.apps[0].api(t, owner).snapshot(b).Seq
	waitFor(t, 10*time.Second, "first part", func() bool { return s1.last(b) >= mid })
	s1.conn.Kill()
	writeLoad(t, c.apps, owner, []string{b}, map[string]string{b: col}, 2, 10) // while it is away
	s2 := dialSubscriber(t, c.apps[0], owner, "after")
	s2.subscribe(b, s1.last(b))
	if got := s2.waitSubscribed(b); got < mid {
		t.Errorf("subscribed at %d, want at least %d", got, mid)
	}
	writeLoad(t, c.apps, owner, []string{b}, map[string]string{b: col}, 2, 10) // after it is back
	head := c.apps[0].api(t, owner).snapshot(b).Seq
	waitFor(t, 10*time.Second, "resumed stream", func() bool { return s2.last(b) >= head })
	s1.checkExactly(t, b, 1, mid)
	s2.checkExactly(t, b, mid+1, head)
}

// TestResyncPastRetention: a client resuming from a seq whose events are no
// longer kept is told to resync.
func TestResyncPastRetention(t *testing.T) {
	c := startCluster(t, 1, nil)
	owner := "owner"
	b, col := c.apps[0].api(t, owner).newBoard("retention")
	writeLoad(t, c.apps, owner, []string{b}, map[string]string{b: col}, 1, 5)
	// Retention deletes only events with their place in the global log:
	// give every event its place first, rather than wait for the sequencer.
	for {
		n, err := c.apps[0].store.SequenceLog(t.Context(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	// Nor does it delete what a registered consumer (notifications) has
	// not read yet: wake it until only the board's last event is left (a
	// board keeps its last).
	waitFor(t, 15*time.Second, "retention to delete all but the board's last event", func() bool {
		c.apps[0].notify.Wake()
		if _, err := c.apps[0].store.DeleteEventsBefore(t.Context(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		evs, err := c.apps[0].store.LogEvents(t.Context(), b, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs) == 1 && evs[0].Seq > 2
	})
	s := dialSubscriber(t, c.apps[0], owner, "late")
	s.subscribe(b, 1)
	waitFor(t, 15*time.Second, "resync", func() bool { _, ok := s.frameOf("resync", b); return ok })
	if f, _ := s.frameOf("resync", b); f.Reason != "since_expired" {
		t.Errorf("resync reason %q, want since_expired", f.Reason)
	}
	// Reloading the snapshot and resuming from its seq works.
	snap := c.apps[0].api(t, owner).snapshot(b)
	s.subscribe(b, snap.Seq)
	if got := s.waitSubscribed(b); got != snap.Seq {
		t.Errorf("subscribed at %d, want %d", got, snap.Seq)
	}
}

// TestSubscribeRacesWriters subscribes 200 times while writers run: each
// time a client loads the snapshot, subscribes from its seq (racing the
// writers) and applies what arrives; then writes pause, and once the client
// has the head its state must equal the database's.
func TestSubscribeRacesWriters(t *testing.T) {
	c := startCluster(t, 2, nil)
	owner := "owner"
	b, col := c.apps[0].api(t, owner).newBoard("race")
	var cards []string
	for i := range 20 {
		var card board.Card
		c.apps[0].api(t, owner).mustDo("POST", "/api/boards/"+b+"/cards",
			map[string]any{"column_id": col, "title": fmt.Sprintf("card %d", i)}, &card)
		cards = append(cards, card.ID)
	}
	stop := make(chan struct{})
	var pause sync.RWMutex // writers hold it shared for each write
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			cl := c.apps[w].api(t, owner)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				card := "/api/boards/" + b + "/cards/" + cards[rng.IntN(len(cards))]
				pause.RLock()
				if i%2 == 0 {
					cl.do("PATCH", card, map[string]any{"title": fmt.Sprintf("w%d %d", w, i)}, nil)
				} else {
					cl.do("POST", card+"/move", map[string]any{"position": map[string]any{
						"after": cards[rng.IntN(len(cards))]}}, nil) // after itself is refused: fine
				}
				pause.RUnlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	defer func() { close(stop); writers.Wait() }()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		a := c.apps[i%2]
		snap := a.api(t, owner).snapshot(b)
		s := dialSubscriber(t, a, owner, fmt.Sprintf("racer-%d", i))
		s.subscribe(b, snap.Seq)
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		pause.Lock()
		final := a.api(t, owner).snapshot(b)
		deadline := time.Now().Add(10 * time.Second)
		for s.last(b) < final.Seq && snap.Seq < final.Seq && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		s.mu.Lock()
		events := slices.Clone(s.events[b])
		problems := slices.Clone(s.problems)
		frames := slices.Clone(s.frames)
		s.mu.Unlock()
		pause.Unlock()
		for _, p := range problems {
			t.Errorf("%s: %s", s.name, p)
		}
		state := snap
		for _, e := range events {
			if err := state.Apply(e); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if state.Seq != final.Seq {
			t.Fatalf("%s (snapshot at %d) got events up to %d, want exactly up to %d; control frames %+v",
				s.name, snap.Seq, state.Seq, final.Seq, frames)
		}
		if diff := snapshotDiff(state, final); diff != "" {
			t.Fatalf("%s: state after replay differs from the database: %s", s.name, diff)
		}
		s.conn.Kill()
	}
}

// snapshotDiff compares the columns and cards of two snapshots (ids, order,
// versions, fields), ignoring timestamps.
func snapshotDiff(a, b board.Snapshot) string {
	if a.Seq != b.Seq {
		return fmt.Sprintf("seq %d vs %d", a.Seq, b.Seq)
	}
	if len(a.Columns) != len(b.Columns) || len(a.Cards) != len(b.Cards) {
		return fmt.Sprintf("%d/%d columns, %d/%d cards", len(a.Columns), len(b.Columns), len(a.Cards), len(b.Cards))
	}
	for i := range a.Columns {
		x, y := a.Columns[i], b.Columns[i]
		if x.ID != y.ID || x.Name != y.Name || x.Rank != y.Rank || x.Version != y.Version {
			return fmt.Sprintf("column %d: %+v vs %+v", i, x, y)
		}
	}
	for i := range a.Cards {
		x, y := a.Cards[i], b.Cards[i]
		if x.ID != y.ID || x.ColumnID != y.ColumnID || x.Title != y.Title || x.Rank != y.Rank ||
			x.Version != y.Version || x.Done != y.Done || x.Archived != y.Archived {
			return fmt.Sprintf("card %d: %+v vs %+v", i, x, y)
		}
	}
	return ""
}

// TestPresenceAcrossInstances: viewers on different instances see each
// other; an instance that dies takes its viewers with it within seconds.
func TestPresenceAcrossInstances(t *testing.T) {
	c := startCluster(t, 3, nil)
	b, _ := c.apps[0].api(t, "ann").newBoard("presence")
	addMember(t, c.apps[0], "ann", b, "bob", board.RoleEditor)
	addMember(t, c.apps[0], "ann", b, "cat", board.RoleViewer)
	ids := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, c.apps[0].api(t, n).id)
		}
		slices.Sort(out)
		return out
	}
	ann := dialSubscriber(t, c.apps[0], "ann", "ann")
	bob := dialSubscriber(t, c.apps[1], "bob", "bob")
	cat := dialSubscriber(t, c.apps[2], "cat", "cat")
	for _, s := range []*subscriber{ann, bob, cat} {
		s.subscribe(b, -1)
	}
	sees := func(s *subscriber, names ...string) func() bool {
		want := ids(names...)
		return func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			for i := len(s.frames) - 1; i >= 0; i-- {
				if f := s.frames[i]; f.Type == "presence" && f.Board == b {
					return fmt.Sprint(f.Users) == fmt.Sprint(want)
				}
			}
			return false
		}
	}
	for _, s := range []*subscriber{ann, bob, cat} {
		waitFor(t, 10*time.Second, s.name+" sees all three", sees(s, "ann", "bob", "cat"))
	}
	// Instance 2 crashes: its NATS connection drops without a word.
	c.apps[2].bus.Abort()
	c.apps[2].hub.Close()
	for _, s := range []*subscriber{ann, bob} {
		waitFor(t, 10*time.Second, s.name+" sees cat leave", sees(s, "ann", "bob"))
	}
	// A viewer who unsubscribes leaves at once.
	ctx := t.Context()
	if err := bob.conn.Send(ctx, map[string]any{"type": "unsubscribe", "board": b}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "ann sees bob leave", sees(ann, "ann"))
}

// TestBoardDeletedFromTheLog: board.deleted is in the log, so an instance
// that hears nothing over NATS still delivers a deleted board's last events
// and its board.deleted to its subscribers, from the log, and ends their
// subscription as deleted (not "gone").
func TestBoardDeletedFromTheLog(t *testing.T) {
	c := startCluster(t, 2, func(i int, cfg *Config) {
		if i == 1 {
			cfg.hooks.dropNATS = func(string) bool { return true }
		}
	})
	owner := "owner"
	b, col := c.apps[0].api(t, owner).newBoard("doomed")
	s := dialSubscriber(t, c.apps[1], owner, "deaf")
	s.subscribe(b, 0)
	s.waitSubscribed(b)
	writeLoad(t, c.apps[:1], owner, []string{b}, map[string]string{b: col}, 1, 5)
	c.apps[0].api(t, owner).mustDo("DELETE", "/api/boards/"+b, nil, nil)
	waitFor(t, 15*time.Second, "the end of the subscription", func() bool {
		_, unsub := s.frameOf("unsubscribed", b)
		_, resync := s.frameOf("resync", b)
		return unsub || resync
	})
	if f, ok := s.frameOf("resync", b); ok {
		t.Fatalf("resync %q instead of board.deleted", f.Reason)
	}
	s.mu.Lock()
	events := s.events[b]
	s.mu.Unlock()
	// board.created, column.created, five card changes, board.deleted.
	s.checkExactly(t, b, 1, 8)
	if last := events[len(events)-1]; last.Kind != board.KindBoardDeleted {
		t.Errorf("the last event is %s, want board.deleted", last.Kind)
	}
}

// TestGlobalLogNumbered: every instance runs the log sequencer. Events
// committed through either instance get their position even when the
// instances "die" between COMMIT and publish (and so never wake their
// sequencers): the sequencers' polling numbers them.
func TestGlobalLogNumbered(t *testing.T) {
	c := startCluster(t, 2, func(i int, cfg *Config) {
		cfg.LogSequence = 50 * time.Millisecond
		cfg.hooks.beforePublish = func(board.Event) bool { return false }
	})
	owner := "owner"
	var boards []string
	cols := map[string]string{}
	for i := range 2 {
		b, col := c.apps[i].api(t, owner).newBoard(fmt.Sprint("board ", i))
		boards, cols[b] = append(boards, b), col
	}
	writeLoad(t, c.apps, owner, boards, cols, 2, 10)
	var total int64
	for _, b := range boards {
		total += c.apps[1].api(t, owner).snapshot(b).Seq
	}
	var got []board.Event
	waitFor(t, 15*time.Second, "every event numbered", func() bool {
		var err error
		got, err = c.apps[1].store.ReadLog(t.Context(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return int64(len(got)) >= total
	})
	last := map[string]int64{}
	for i, e := range got {
		if e.Position != int64(i+1) || e.Seq != last[e.BoardID]+1 {
			t.Fatalf("event %d: position %d, board %s seq %d after %d", i, e.Position, e.BoardID, e.Seq, last[e.BoardID])
		}
		last[e.BoardID] = e.Seq
	}
	if int64(len(got)) != total {
		t.Errorf("%d events numbered, the boards have %d", len(got), total)
	}
}
