package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// envOn is newEnv on an existing database, reached at url, with the store's
// options o.
func envOn(t *testing.T, url string, o store.Options) *env {
	t.Helper()
	if o.MaxConns == 0 {
		o.MaxConns = 4
	}
	return serveAPI(t, apitest.OpenStoreAt(t, url, o))
}

// waitFor polls cond (a SQL boolean) until it holds; 10s at most.
func (e *env) waitFor(what, cond string, args ...any) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		if err := e.Store.Pool().QueryRow(context.Background(), "SELECT "+cond, args...).Scan(&ok); err != nil {
			e.t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s did not happen within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A client that gives up on a request and retries it at once with the same
// Idempotency-Key gets its retry run, not 409 idempotency_in_progress: the
// abandoned request released its key although its own context was gone.
func TestAbandonedRequestReleasesItsKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.mkBoard(alice, "abandon")
	col := e.mkColumn(alice, b.ID, "todo")
	cards := "/api/boards/" + b.ID + "/cards"
	body := map[string]any{"column_id": col.ID, "title": "abandoned"}

	// A server that says when a request's handler has returned.
	ended := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ended <- struct{}{} }()
		e.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	// Hold the board's row, so that the request waits in its transaction.
	ctx := context.Background()
	lock, err := e.Store.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx) //nolint:errcheck // ended below
	if _, err := lock.Exec(ctx, `SELECT FROM boards WHERE id = $1 FOR UPDATE`, b.ID); err != nil {
		t.Fatal(err)
	}
	reqCtx, abandon := context.WithCancel(ctx)
	req := e.request("POST", srv.URL+cards, alice, body, "Idempotency-Key", "abandon-1").WithContext(reqCtx)
	gone := make(chan error, 1)
	go func() {
		res, err := srv.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		gone <- err
	}()
	e.waitFor("the request waiting for the board's lock",
		`EXISTS (SELECT FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE boards SET seq%')`)
	abandon()
	if err := <-gone; err == nil {
		t.Fatal("the abandoned request got an answer")
	}
	<-ended // the first attempt is over on the server
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	retry := e.do("POST", cards, alice, body, "Idempotency-Key", "abandon-1")
	c := apitest.Must[board.Card](t, retry, http.StatusCreated)
	if retry.Header.Get("Idempotent-Replayed") != "" || c.Title != "abandoned" {
		t.Errorf("the retry was not run afresh: %v", retry)
	}
	if n := e.count(`SELECT count(*) FROM cards WHERE title = 'abandoned'`); n != 1 {
		t.Errorf("%d cards, want 1", n)
	}
}

// commitCutter is a TCP proxy between the store and PostgreSQL that, once
// armed, loses the answer to the next COMMIT: it holds the bytes of the
// batch that runs COMMIT, closes the client's side (which sees the
// connection die during COMMIT), and forwards them to the server when told,
// so the transaction commits after the client gave up on it.
type commitCutter struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu      sync.Mutex
	armed   int    // COMMIT batches to let pass before the one cut (describe, then run)
	held    []byte // the cut batch
	heldTo  net.Conn
	cutDone chan struct{}
}

func newCommitCutter(t *testing.T, target string) *commitCutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitCutter{t: t, ln: ln, target: target, armed: -1, cutDone: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go p.accept()
	return p
}

func (p *commitCutter) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.t.Cleanup(func() { client.Close(); server.Close() })
		go io.Copy(client, server) //nolint:errcheck // ends with either side
		go p.forward(client, server)
	}
}

// commitMarker is COMMIT as an unnamed statement's query in a Parse message.
var commitMarker = []byte("\x00COMMIT\x00")

func (p *commitCutter) forward(client, server net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if err != nil {
			server.Close()
			return
		}
		chunk := buf[:n]
		p.mu.Lock()
		cut := false
		if p.armed >= 0 && bytes.Contains(chunk, commitMarker) {
			if p.armed == 0 {
				cut = true
				p.held, p.heldTo = bytes.Clone(chunk), server
				p.armed = -1
			} else {
				p.armed--
			}
		}
		p.mu.Unlock()
		if cut {
			client.Close()
			close(p.cutDone)
			return // the server side stays open, idle in its transaction
		}
		if _, err := server.Write(chunk); err != nil {
			return
		}
	}
}

// arm makes the proxy cut the next COMMIT batch that runs. The store uses
// the describe_exec mode: each batch is described (one COMMIT) then run.
func (p *commitCutter) arm() {
	p.mu.Lock()
	p.armed = 1
	p.mu.Unlock()
}

// release sends the held batch to the server, which then commits.
func (p *commitCutter) release() {
	<-p.cutDone
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.heldTo.Write(p.held); err != nil {
		p.t.Fatalf("forward the held COMMIT: %v", err)
	}
}

// When the connection dies during COMMIT, the client cannot know whether
// the change committed. A retry with the same Idempotency-Key finds out: it
// answers the first attempt's result when that committed after all, and the
// change exists once.
func TestAmbiguousCommitIsAnsweredByTheRetry(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t, "store", store.Migrate)
	direct := envOn(t, dbURL, store.Options{})
	b := direct.mkBoard(alice, "ambiguous")
	col := direct.mkColumn(alice, b.ID, "todo")
	cards := "/api/boards/" + b.ID + "/cards"
	body := map[string]any{"column_id": col.ID, "title": "exactly once"}
	seq := direct.seq(b.ID)

	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newCommitCutter(t, u.Host)
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("default_query_exec_mode", "describe_exec") // COMMIT's text in every batch that runs it
	u.RawQuery = q.Encode()
	cut := envOn(t, u.String(), store.Options{})

	p.arm()
	first := make(chan apitest.Response, 1)
	go func() {
		r, err := cut.send("POST", cards, alice, body, "Idempotency-Key", "ambiguous-1")
		if err != nil {
			t.Error(err)
		}
		first <- r
	}()
	<-p.cutDone
	// The first attempt has given its key up, or is waiting to learn how its
	// transaction ended; only then does the COMMIT reach the server.
	direct.waitFor("the first attempt's release",
		`NOT EXISTS (SELECT FROM idempotency_keys WHERE caller = $1 AND key = 'ambiguous-1')
		 OR EXISTS (SELECT FROM pg_stat_activity WHERE wait_event_type = 'Lock'
		            AND query LIKE '%DELETE FROM idempotency_keys%')`, alice)
	p.release()
	if r := <-first; r.Status < 500 {
		t.Fatalf("the first attempt, whose COMMIT went unanswered, got %v", r)
	}

	retry := direct.do("POST", cards, alice, body, "Idempotency-Key", "ambiguous-1")
	c := apitest.Must[board.Card](t, retry, http.StatusCreated)
	if n := direct.count(`SELECT count(*) FROM cards WHERE title = 'exactly once'`); n != 1 {
		t.Fatalf("%d cards after the retry, want 1", n)
	}
	var id string
	if err := direct.Store.Pool().QueryRow(context.Background(), `SELECT id::text FROM cards WHERE title = 'exactly once'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if c.ID != id || retry.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the retry answered %v, not the first attempt's card %s", retry, id)
	}
	if got := direct.seq(b.ID); got != seq+1 {
		t.Errorf("seq %d, want %d", got, seq+1)
	}
	if !strings.Contains(string(retry.Body), `"exactly once"`) {
		t.Errorf("retry body %s", retry.Body)
	}
}

// A claim whose owner is gone (its instance died before its transaction
// began, or it could not release the key) holds a retry off only for the
// store's ClaimGrace, not for the key's lifetime; and should that owner
// still run after all, it finds its claim taken and changes nothing.
func TestOrphanedClaimIsTakenOver(t *testing.T) {
	t.Parallel()
	const grace = 300 * time.Millisecond
	e := envOn(t, pgtest.NewDatabase(t, "store", store.Migrate), store.Options{ClaimGrace: grace})
	b := e.mkBoard(alice, "orphan")
	col := e.mkColumn(alice, b.ID, "todo")
	cards := "/api/boards/" + b.ID + "/cards"
	body := []byte(`{"column_id":"` + col.ID + `","title":"orphaned"}`)
	ctx := context.Background()

	// The owner claims the key, then goes silent.
	owner := &board.IdempotentCall{Caller: alice, Key: "orphan-1"}
	if stored, err := e.Store.ClaimIdempotencyKey(ctx, owner, requestHash("POST", cards, body), time.Hour); err != nil || stored != nil {
		t.Fatalf("claim: %v, %v", stored, err)
	}
	apitest.CheckProblem(t, e.do("POST", cards, alice, body, "Idempotency-Key", "orphan-1"), http.StatusConflict, board.EIdempotencyPending)
	e.waitFor("the claim to outlive its grace", `(SELECT claimed_at < now() - $1::interval FROM idempotency_keys WHERE key = 'orphan-1')`, grace)

	retry := e.do("POST", cards, alice, body, "Idempotency-Key", "orphan-1")
	c := apitest.Must[board.Card](t, retry, http.StatusCreated)
	sameResponse(t, retry, e.do("POST", cards, alice, body, "Idempotency-Key", "orphan-1"))

	// The first owner wakes up and runs its mutation: its claim is lost.
	_, _, err := e.Store.CreateCard(board.WithIdempotentCall(ctx, owner), board.Meta{Actor: alice}, b.ID,
		board.CardInput{ColumnID: col.ID, Title: "orphaned"})
	if be, ok := errors.AsType[*board.Error](err); !ok || be.Code != board.EIdempotencyPending {
		t.Fatalf("the first owner's mutation after its claim was taken: %v", err)
	}
	if err := e.Store.ReleaseIdempotencyKey(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM cards WHERE title = 'orphaned'`); n != 1 {
		t.Errorf("%d cards, want 1", n)
	}
	sameResponse(t, retry, e.do("POST", cards, alice, body, "Idempotency-Key", "orphan-1"))
	if got := e.do("GET", cards+"/"+c.ID, alice, nil); got.Status != http.StatusOK {
		t.Errorf("the retry's card: %v", got)
	}
}
