package benchmarks

// TEMPORARY: session cookie vs API token; to be removed.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

func BenchmarkZZAuth(b *testing.B) {
	e := getEnv(b)
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/auth/tokens", strings.NewReader(`{"name":"bench"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(e.cookie)
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var t struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&t)
	resp.Body.Close()
	if t.Token == "" {
		b.Fatal("no token", resp.Status)
	}
	for r := range 2 {
		for _, cfg := range []mutationConfig{{16, 16}, {1, 1}} {
			for _, how := range []string{"cookie", "token"} {
				b.Run(fmt.Sprintf("r%d/%s/%s", r, cfg.name(), how), func(b *testing.B) {
					e.checkpoint(b)
					op := func(ctx context.Context, rnd *rand.Rand, i int) error {
						bd, k := 1+rnd.IntN(cfg.boards), 1+rnd.IntN(cardsPerBoard)
						req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, e.http.URL+"/api/boards/"+boardID(bd)+"/cards/"+cardID(bd, k), strings.NewReader(`{"title":"x"}`))
						req.Header.Set("Content-Type", "application/json")
						if how == "cookie" {
							req.AddCookie(e.cookie)
						} else {
							req.Header.Set("Authorization", "Bearer "+t.Token)
						}
						resp, err := e.client.Do(req)
						if err != nil {
							return err
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							return fmt.Errorf("%s", resp.Status)
						}
						return nil
					}
					lat, elapsed, cpu := runWriters(b, e, cfg.writers, op)
					p50, p99 := summarize(lat)
					record(b, result{config: cfg.name(), impl: "zz-" + how, ops: float64(len(lat)) / elapsed.Seconds(), p50: p50, p99: p99, extra: cpu})
				})
			}
		}
	}
}
