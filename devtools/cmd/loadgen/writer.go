//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// apiClient talks to one instance's REST API as one user.
type apiClient struct {
	hc   *http.Client
	base string
	id   identity // zero: anonymous
}

// statusError is a non-2xx answer.
type statusError struct {
	method, path string
	status       int
	body         []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %.300s", e.method, e.path, e.status, http.StatusText(e.status), e.body)
}

// do sends a JSON request and decodes a 2xx answer into out. A 429 is
// retried after its Retry-After (a few times).
func (a apiClient) do(ctx context.Context, method, path string, body, out any) error {
	return a.doResp(ctx, method, path, body, out, nil)
}

// doResp is do, also handing the response (its body read) to seen.
func (a apiClient) doResp(ctx context.Context, method, path string, body, out any, seen func(*http.Response)) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		if a.id.header != "" {
			a.id.set(req.Header)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := a.hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 20 {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			return &statusError{method: method, path: path, status: resp.StatusCode, body: data}
		}
		if seen != nil {
			seen(resp)
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s %s: decode %.200q: %w", method, path, data, err)
			}
		}
		return nil
	}
}

// seededBoard is a board made for the run.
type seededBoard struct {
	ID      string
	Column  string
	Cards   []string
	Writers []int // the writers that write to it
}

// boardWriters returns the writers of board b: with at least as many boards
// as writers, writer w writes to the boards b with b % writers == w (it
// owns them); otherwise board b has writers b, b+boards, ... (it owns it,
// the others are made editors).
func boardWriters(b, boards, writers int) []int {
	var out []int
	for w := range writers {
		if (writers <= boards && b%writers == w) || (writers > boards && w%boards == b) {
			out = append(out, w)
		}
	}
	return out
}

// seed creates the boards, each with one column and cards cards, by their
// owners, and adds the other writers (editors) and the subscribers' users
// (viewers) as members, with a few requests in flight.
func seed(ctx context.Context, hc *http.Client, base string, u *users, boards, writers, cards int) ([]seededBoard, error) {
	out := make([]seededBoard, boards)
	var wg sync.WaitGroup
	errs := make([]error, boards)
	sem := make(chan struct{}, 8)
	for i := range boards {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			a := apiClient{hc: hc, base: base, id: u.owner(i)}
			var b struct{ ID string }
			if errs[i] = a.do(ctx, "POST", "/api/boards", map[string]any{"name": fmt.Sprintf("load board %d", i)}, &b); errs[i] != nil {
				return
			}
			var col struct{ ID string }
			if errs[i] = a.do(ctx, "POST", "/api/boards/"+b.ID+"/columns", map[string]any{"name": "Todo"}, &col); errs[i] != nil {
				return
			}
			sb := seededBoard{ID: b.ID, Column: col.ID, Writers: boardWriters(i, boards, writers)}
			for k := range cards {
				var c struct{ ID string }
				if errs[i] = a.do(ctx, "POST", "/api/boards/"+b.ID+"/cards",
					map[string]any{"column_id": col.ID, "title": fmt.Sprintf("card %d", k)}, &c); errs[i] != nil {
					return
				}
				sb.Cards = append(sb.Cards, c.ID)
			}
			add := func(id identity, role string) error {
				if id.username == a.id.username {
					return nil
				}
				return a.do(ctx, "POST", "/api/boards/"+b.ID+"/members", map[string]string{"username": id.username, "role": role}, nil)
			}
			for _, w := range sb.Writers {
				if errs[i] = add(u.writers[w], "editor"); errs[i] != nil {
					return
				}
			}
			for k, s := range u.subs {
				if slices.Contains(u.watches[k], i) {
					if errs[i] = add(s, "viewer"); errs[i] != nil {
						return
					}
				}
			}
			out[i] = sb
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("seed boards: %w", err)
	}
	return out, nil
}

// heads returns the seq of each board, from its owner's list of boards.
func heads(ctx context.Context, hc *http.Client, base string, u *users, boards []seededBoard) ([]int64, error) {
	seq := map[string]int64{}
	asked := map[string]bool{}
	for b := range boards {
		owner := u.owner(b)
		if asked[owner.username] {
			continue
		}
		asked[owner.username] = true
		var list struct {
			Boards []struct {
				ID  string
				Seq int64
			}
		}
		if err := (apiClient{hc: hc, base: base, id: owner}).do(ctx, "GET", "/api/boards", nil, &list); err != nil {
			return nil, err
		}
		for _, b := range list.Boards {
			seq[b.ID] = b.Seq
		}
	}
	out := make([]int64, len(boards))
	for i, b := range boards {
		s, ok := seq[b.ID]
		if !ok {
			return nil, fmt.Errorf("board %s missing from GET /api/boards", b.ID)
		}
		out[i] = s
	}
	return out, nil
}

// opRecord is one mutation: when it was sent and answered (clock ns), the
// database's transaction time (the card's updated_at, which is the event's
// at) and commit time (commitTimes; 0 when unknown), which instance and
// board it went to, and the status.
type opRecord struct {
	sent, resp, txn, commit int64
	instance                int16
	board                   int16
	status                  int16
}

// writers drives the mutations: operation k is due at start + k/rate; each
// of the writers takes the next operation, waits until it is due and sends
// it (so a slow answer delays only that writer; when all are busy the rate
// falls behind and the report shows it). They stop at the duration or
// after max operations.
type writers struct {
	c        Config
	urls     []string
	hc       *http.Client
	users    *users
	boards   []seededBoard
	mine     [][]int // the boards of each writer
	clock    *clock
	opPrefix string

	ops    []opRecord
	next   atomic.Int64
	issued atomic.Int64 // operations sent
	errMu  sync.Mutex
	errs   map[string]int // failure kinds and counts
}

func newWriters(c Config, urls []string, hc *http.Client, u *users, boards []seededBoard, ck *clock, opPrefix string) *writers {
	n := c.Mutations
	if byTime := int(c.Rate*c.Duration.Seconds()) + 1; n == 0 || (c.Duration > 0 && byTime < n) {
		n = byTime
	}
	mine := make([][]int, c.Writers)
	for b, sb := range boards {
		for _, w := range sb.Writers {
			mine[w] = append(mine[w], b)
		}
	}
	return &writers{c: c, urls: urls, hc: hc, users: u, boards: boards, mine: mine, clock: ck, opPrefix: opPrefix,
		ops: make([]opRecord, n), errs: map[string]int{}}
}

// run runs the writers until they are done or ctx ends, and returns when
// the first operation was sent and when the last answer came.
func (w *writers) run(ctx context.Context) (start, end int64) {
	start = w.clock.now()
	interval := float64(time.Second) / w.c.Rate
	var wg sync.WaitGroup
	for i := range w.c.Writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 0x10adc0de))
			inst := i % len(w.urls)
			for n := 0; ; n++ {
				k := w.next.Add(1) - 1
				if k >= int64(len(w.ops)) {
					return
				}
				due := start + int64(float64(k)*interval)
				if w.c.Duration > 0 && max(due, w.clock.now()) >= start+int64(w.c.Duration) {
					return // the duration is up (a writer behind schedule sends no more)
				}
				if d := time.Duration(due - w.clock.now()); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				if ctx.Err() != nil {
					return
				}
				w.send(ctx, int(k), i, w.mine[i][n%len(w.mine[i])], inst, rng)
			}
		})
	}
	wg.Wait()
	return start, w.clock.now()
}

// send performs operation k as writer wi on board bi through instance inst:
// a card PATCH (a new title) or, every MoveEvery-th, a move to the top or
// the bottom of its column.
func (w *writers) send(ctx context.Context, k, wi, bi, inst int, rng *rand.Rand) {
	b := w.boards[bi]
	card := b.Cards[rng.IntN(len(b.Cards))]
	var method, path string
	var body []byte
	if w.c.MoveEvery > 0 && k%w.c.MoveEvery == w.c.MoveEvery-1 {
		to := "top"
		if (k/w.c.MoveEvery)%2 == 1 {
			to = "bottom"
		}
		method, path, body = "POST", "/api/boards/"+b.ID+"/cards/"+card+"/move", []byte(`{"position":{"to":"`+to+`"}}`)
	} else {
		method, path, body = "PATCH", "/api/boards/"+b.ID+"/cards/"+card, []byte(`{"title":"load op `+strconv.Itoa(k)+`"}`)
	}
	rec := &w.ops[k]
	rec.instance, rec.board = int16(inst), int16(bi)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, method, w.urls[inst]+path, bytes.NewReader(body))
	w.users.writers[wi].set(req.Header)
	req.Header.Set("X-Op-Id", w.opPrefix+strconv.Itoa(k))
	req.Header.Set("Content-Type", "application/json")
	rec.sent = w.clock.now()
	w.issued.Add(1)
	resp, err := w.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		w.fail("request error: " + err.Error())
		return
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	rec.resp = w.clock.now()
	rec.status = int16(resp.StatusCode)
	if err != nil {
		w.fail("reading response: " + err.Error())
		return
	}
	if resp.StatusCode != http.StatusOK {
		w.fail(fmt.Sprintf("%s %s: %.120s", method, resp.Status, data))
		return
	}
	var result struct {
		UpdatedAt time.Time `json:"updated_at"`
	}
	if json.Unmarshal(data, &result) == nil && !result.UpdatedAt.IsZero() {
		rec.txn = w.clock.wall(result.UpdatedAt)
	}
}

func (w *writers) fail(kind string) {
	w.errMu.Lock()
	w.errs[kind]++
	w.errMu.Unlock()
}
