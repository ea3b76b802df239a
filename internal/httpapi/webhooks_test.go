package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/webhook"
)

type notifier struct {
	mu     sync.Mutex
	boards []string
}

func (n *notifier) Notify(b string) { n.mu.Lock(); n.boards = append(n.boards, b); n.mu.Unlock() }

type hookList struct {
	Webhooks []webhook.Webhook `json:"webhooks"`
	Kinds    []string          `json:"kinds"`
}

// An owner's webhook from creation to deletion: the secret is in the answer
// to creation and rotation only; updates, the delivery log, test events and
// redeliveries.
func TestWebhookLifecycle(t *testing.T) {
	n := &notifier{}
	e := newEnv(t, func(o *httpapi.Options) { o.WebhookNotifier = n })
	b := e.mkBoard(alice, "hooks")
	W := "/api/boards/" + b.ID + "/webhooks"

	r := e.do("POST", W, alice, map[string]any{"url": "https://example.com/hook", "kinds": []string{"card.moved", "card.created", "card.moved"}})
	h := apitest.Must[webhook.Webhook](t, r, http.StatusCreated)
	if !strings.HasPrefix(h.Secret, "whsec_") || len(h.Secret) < 40 || !h.Active || h.Cursor != b.Seq ||
		strings.Join(h.Kinds, ",") != "card.created,card.moved" || r.Header.Get("Location") != W+"/"+h.ID ||
		r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created %+v %v", h, r.Header)
	}
	list := apitest.Must[hookList](t, e.do("GET", W, alice, nil), http.StatusOK)
	if len(list.Webhooks) != 1 || list.Webhooks[0].Secret != "" || strings.Contains(string(e.do("GET", W, alice, nil).Body), h.Secret) ||
		len(list.Kinds) != len(webhook.Kinds) {
		t.Fatalf("list %+v", list)
	}
	if g := apitest.Must[webhook.Webhook](t, e.do("GET", W+"/"+h.ID, alice, nil), http.StatusOK); g.Secret != "" || g.URL != h.URL {
		t.Fatalf("get %+v", g)
	}

	off := apitest.Must[webhook.Webhook](t, e.do("PATCH", W+"/"+h.ID, alice, map[string]any{"active": false}), http.StatusOK)
	if off.Active || off.DisabledReason == "" {
		t.Fatalf("turned off: %+v", off)
	}
	on := apitest.Must[webhook.Webhook](t, e.do("PATCH", W+"/"+h.ID, alice, map[string]any{"active": true, "kinds": []string{}, "url": "http://example.org/x"}), http.StatusOK)
	if !on.Active || on.DisabledReason != "" || len(on.Kinds) != 0 || on.URL != "http://example.org/x" {
		t.Fatalf("turned on: %+v", on)
	}

	rot := e.do("POST", W+"/"+h.ID+"/rotate-secret", alice, nil)
	nh := apitest.Must[webhook.Webhook](t, rot, http.StatusOK)
	if nh.Secret == h.Secret || !strings.HasPrefix(nh.Secret, "whsec_") {
		t.Fatalf("rotated %+v", nh)
	}

	job := apitest.Must[webhook.Job](t, e.do("POST", W+"/"+h.ID+"/test", alice, nil), http.StatusAccepted)
	if job.Trigger != webhook.TriggerTest || job.ID == "" {
		t.Fatalf("test job %+v", job)
	}
	if len(n.boards) == 0 || n.boards[len(n.boards)-1] != b.ID {
		t.Fatalf("worker not woken: %v", n.boards)
	}
	var id int64
	if err := e.Store.Pool().QueryRow(t.Context(), `INSERT INTO webhook_deliveries (webhook_id, message_id, seq, kind, trigger, attempt, ok)
		VALUES ($1, 'm', 1, 'board.created', 'event', 1, false) RETURNING id`, h.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	ds := apitest.Must[struct{ Deliveries []webhook.Delivery }](t, e.do("GET", W+"/"+h.ID+"/deliveries", alice, nil), http.StatusOK)
	if len(ds.Deliveries) != 1 || ds.Deliveries[0].ID != id {
		t.Fatalf("deliveries %+v", ds)
	}
	rj := apitest.Must[webhook.Job](t, e.do("POST", W+"/"+h.ID+"/deliveries/"+itoa(id)+"/redeliver", alice, nil), http.StatusAccepted)
	if rj.Trigger != webhook.TriggerRedeliver || rj.Seq != 1 {
		t.Fatalf("redeliver job %+v", rj)
	}
	apitest.CheckProblem(t, e.do("POST", W+"/"+h.ID+"/deliveries/"+itoa(id+1)+"/redeliver", alice, nil), 404, board.ENotFound)
	apitest.CheckProblem(t, e.do("POST", W+"/"+h.ID+"/deliveries/x/redeliver", alice, nil), 404, board.ENotFound)

	// Webhooks make no board events.
	if s := e.seq(b.ID); s != b.Seq {
		t.Fatalf("board seq %d, was %d", s, b.Seq)
	}
	if r := e.do("DELETE", W+"/"+h.ID, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %v", r)
	}
	apitest.CheckProblem(t, e.do("GET", W+"/"+h.ID, alice, nil), 404, board.ENotFound)
	if n := e.count(`SELECT count(*) FROM webhook_deliveries`) + e.count(`SELECT count(*) FROM webhook_jobs`); n != 0 {
		t.Fatalf("%d log entries and jobs left", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Bad input is a problem naming the field, and changes nothing.
func TestWebhookBadInput(t *testing.T) {
	e := newEnv(t)
	b := e.mkBoard(alice, "hooks")
	W := "/api/boards/" + b.ID + "/webhooks"
	h := apitest.Must[webhook.Webhook](t, e.do("POST", W, alice, map[string]any{"url": "https://example.com/hook"}), http.StatusCreated)
	cases := []struct {
		method, path string
		body         any
		status       int
		code, field  string
	}{
		{"POST", W, map[string]any{}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "example.com/hook"}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "ftp://example.com/hook"}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "javascript:alert(1)"}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "file:///etc/passwd"}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "https:///nohost"}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "https://example.com/#frag"}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "https://exa mple.com/"}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "https://example.com/" + strings.Repeat("a", webhook.MaxURLLen)}, 422, board.EInvalid, "url"},
		{"POST", W, map[string]any{"url": "https://example.com/", "kinds": []string{"card.exploded"}}, 422, board.EInvalid, "kinds"},
		{"POST", W, map[string]any{"url": "https://example.com/", "kinds": "card.created"}, 422, board.EInvalid, "kinds"},
		{"POST", W, map[string]any{"url": "https://example.com/", "secret": "whsec_mine"}, 422, board.EInvalid, "secret"},
		{"POST", W, `{"url": `, 400, board.EMalformed, ""},
		{"PATCH", W + "/" + h.ID, map[string]any{"url": "gopher://example.com"}, 422, board.EInvalid, "url"},
		{"PATCH", W + "/" + h.ID, map[string]any{"kinds": []string{"nope"}}, 422, board.EInvalid, "kinds"},
		{"PATCH", W + "/" + h.ID, map[string]any{"active": "yes"}, 422, board.EInvalid, "active"},
		{"PATCH", W + "/00000000-0000-4000-8000-000000000000", map[string]any{"active": true}, 404, board.ENotFound, "webhook"},
		{"GET", W + "/not-an-id", nil, 404, board.ENotFound, "webhook"},
		{"GET", W + "/" + h.ID + "/deliveries?limit=100000", nil, 422, board.EInvalid, "limit"},
		{"GET", W + "/" + h.ID + "/deliveries?before=-1", nil, 422, board.EInvalid, "before"},
	}
	before := e.count(`SELECT count(*) FROM webhooks WHERE updated_at = created_at`)
	for _, c := range cases {
		p := apitest.CheckProblem(t, e.do(c.method, c.path, alice, c.body), c.status, c.code)
		if p.Field != c.field {
			t.Errorf("%s %s %v: field %q, want %q", c.method, c.path, c.body, p.Field, c.field)
		}
	}
	if after := e.count(`SELECT count(*) FROM webhooks WHERE updated_at = created_at`); after != before || e.count(`SELECT count(*) FROM webhooks`) != 1 {
		t.Fatal("a refused request changed the webhooks")
	}
	// At most MaxPerBoard webhooks on a board.
	for i := 1; i < webhook.MaxPerBoard; i++ {
		apitest.Must[webhook.Webhook](t, e.do("POST", W, alice, map[string]any{"url": "https://example.com/" + itoa(int64(i))}), http.StatusCreated)
	}
	apitest.CheckProblem(t, e.do("POST", W, alice, map[string]any{"url": "https://example.com/more"}), 409, board.EConflict)
	// At most MaxPendingJobs test events waiting.
	for range webhook.MaxPendingJobs {
		apitest.Must[webhook.Job](t, e.do("POST", W+"/"+h.ID+"/test", alice, nil), http.StatusAccepted)
	}
	apitest.CheckProblem(t, e.do("POST", W+"/"+h.ID+"/test", alice, nil), 409, board.EConflict)
}
