package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/store"
)

// TestWebhooksAcrossInstances: three server instances on one database, each
// running its webhook worker, three writers (one per instance): a receiver
// on loopback (allowed by WEBHOOK_ALLOW_PRIVATE_NETWORKS) gets each event
// once, in seq order; the instances then shut down cleanly.
func TestWebhooksAcrossInstances(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	_, natsURL := natsCluster(t, 1)
	var mu sync.Mutex
	var seqs []int64
	ids := map[string]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f struct{ Seq int64 }
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &f) //nolint:errcheck // a zero seq fails the check below
		mu.Lock()
		ids[r.Header.Get("webhook-id")]++
		seqs = append(seqs, f.Seq)
		mu.Unlock()
	}))
	defer rc.Close()
	var apps []*App
	for range 3 {
		cfg := testConfig(dbURL, natsURL)
		cfg.WebhookAllowPrivateNetworks = true
		cfg.WebhookPollInterval = 100 * time.Millisecond
		apps = append(apps, startApp(t, cfg))
	}
	owner := apps[0].api(t, "wendy")
	b, col := owner.newBoard("hooks")
	var hook struct{ ID string }
	owner.mustDo("POST", "/api/boards/"+b+"/webhooks", map[string]any{"url": rc.URL + "/hook", "kinds": []string{"card.created"}}, &hook)
	var wg sync.WaitGroup
	for i, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a.api(t, "wendy")
			for n := range 15 {
				c.mustDo("POST", "/api/boards/"+b+"/cards", map[string]any{"column_id": col, "title": fmt.Sprint(i, "-", n)}, nil)
			}
		}()
	}
	wg.Wait()
	waitFor(t, 30*time.Second, "45 deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(seqs) >= 45 })
	time.Sleep(300 * time.Millisecond) // a duplicate would come now
	mu.Lock()
	defer mu.Unlock()
	if len(seqs) != 45 || len(ids) != 45 || !slices.IsSorted(seqs) {
		t.Fatalf("received %d deliveries (%d ids): %v", len(seqs), len(ids), seqs)
	}
	for _, a := range apps {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
}

// TestSlowReceiverDoesNotSlowTheAPI: on a server whose pool has 4
// connections, eight webhooks' deliveries hang on a receiver that does not
// answer; meanwhile the API commits and serves changes on another board.
func TestSlowReceiverDoesNotSlowTheAPI(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	_, natsURL := natsCluster(t, 1)
	release := make(chan struct{})
	var hanging sync.WaitGroup
	hanging.Add(8)
	var once sync.Map
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, seen := once.LoadOrStore(r.URL.Path, true); !seen {
			hanging.Done()
		}
		<-release
	}))
	defer rc.Close()
	defer close(release)
	cfg := testConfig(dbURL, natsURL)
	cfg.DBMaxConns = 4
	cfg.WebhookAllowPrivateNetworks = true
	cfg.WebhookTimeout = time.Minute
	a := startApp(t, cfg)
	c := a.api(t, "sam")
	for i := range 8 {
		b, col := c.newBoard(fmt.Sprint("hooked ", i))
		c.mustDo("POST", "/api/boards/"+b+"/webhooks", map[string]any{"url": fmt.Sprintf("%s/%d", rc.URL, i)}, nil)
		c.mustDo("POST", "/api/boards/"+b+"/cards", map[string]any{"column_id": col, "title": "wake"}, nil)
	}
	hanging.Wait()
	b, col := c.newBoard("busy")
	for n := range 40 {
		c.mustDo("POST", "/api/boards/"+b+"/cards", map[string]any{"column_id": col, "title": fmt.Sprint(n)}, nil)
	}
	if s := c.snapshot(b); len(s.Cards) != 40 {
		t.Fatalf("%d cards", len(s.Cards))
	}
	select {
	case <-release:
		t.Fatal("released early")
	default:
	}
}
