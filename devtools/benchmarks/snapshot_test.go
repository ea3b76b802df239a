package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// BenchmarkSnapshot reads the snapshot of a board with 10,000 cards, one at
// a time:
//
//   - store: store.Snapshot (the read transaction and the scan into Go
//     values);
//   - marshal: json.Marshal of that snapshot, as the API encoded it before
//     board.Snapshot.AppendJSON;
//   - encode: board.Snapshot.AppendJSON of that snapshot, as the API encodes
//     it (the same bytes);
//   - export: store.ExportBoard and json.Marshal of the board with every
//     card's checklist and comments: what the snapshot would cost if it
//     carried them instead of their counts;
//   - http: GET /api/boards/{board} through a real HTTP server and client,
//     which adds the JSON encoding and the transfer of the body. server-p50-ms
//     is the time inside the server, from routing to the handler's return.
//
// Reported: p50-ms and p99-ms per snapshot (the target is 50 ms
// server-side).
func BenchmarkSnapshot(b *testing.B) {
	b.Run("cards=10000/store", func(b *testing.B) {
		e := getEnv(b)
		ctx := context.Background()
		id := boardID(snapshotBoard)
		if err := e.snapshotOnce(ctx); err != nil {
			b.Fatal(err)
		}
		lat, elapsed, cpu := runWriters(b, e, 1, func(ctx context.Context, _ *rand.Rand, _ int) error {
			snap, err := e.store.Snapshot(ctx, e.user, id)
			if err == nil && len(snap.Cards) != snapshotCards {
				err = fmt.Errorf("snapshot has %d cards, want %d", len(snap.Cards), snapshotCards)
			}
			return err
		})
		p50, p99 := summarize(lat)
		record(b, result{config: "snapshot", impl: "store", ops: float64(len(lat)) / elapsed.Seconds(), p50: p50, p99: p99,
			extra: cpu})
	})
	encoders := []struct {
		impl   string
		encode func(board.Snapshot) ([]byte, error)
	}{
		{"marshal", func(s board.Snapshot) ([]byte, error) { return json.Marshal(s) }},
		{"encode", func(s board.Snapshot) ([]byte, error) { return s.AppendJSON(nil) }},
	}
	for _, enc := range encoders {
		b.Run("cards=10000/"+enc.impl, func(b *testing.B) {
			e := getEnv(b)
			snap, err := e.store.Snapshot(context.Background(), e.user, boardID(snapshotBoard))
			if err != nil {
				b.Fatal(err)
			}
			lat, elapsed, cpu := runWriters(b, e, 1, func(context.Context, *rand.Rand, int) error {
				_, err := enc.encode(snap)
				return err
			})
			p50, p99 := summarize(lat)
			record(b, result{config: "snapshot", impl: enc.impl, ops: float64(len(lat)) / elapsed.Seconds(), p50: p50, p99: p99,
				extra: cpu})
		})
	}
	b.Run("cards=10000/export", func(b *testing.B) {
		e := getEnv(b)
		var size int
		lat, elapsed, cpu := runWriters(b, e, 1, func(ctx context.Context, _ *rand.Rand, _ int) error {
			x, err := e.store.ExportBoard(ctx, e.user, boardID(snapshotBoard))
			if err != nil {
				return err
			}
			body, err := json.Marshal(x)
			size = len(body)
			return err
		})
		p50, p99 := summarize(lat)
		cpu["body-MB"] = float64(size) / 1e6
		record(b, result{config: "snapshot", impl: "export", ops: float64(len(lat)) / elapsed.Seconds(), p50: p50, p99: p99,
			extra: cpu})
	})
	// Over HTTP, server-side and whole: read anew every time (the cache
	// off: what the first read after a change costs), repeated reads of
	// the unchanged board (from the cache), and revalidation (304).
	// "http-gzip" is the cached read as a browser makes it (Accept-Encoding:
	// gzip; body-MB is then what goes over the wire).
	httpSnapshot(b, "http-uncached", "/uncached/api/boards/"+boardID(snapshotBoard), "", "identity", http.StatusOK)
	httpSnapshot(b, "http", "/api/boards/"+boardID(snapshotBoard), "", "identity", http.StatusOK)
	httpSnapshot(b, "http-gzip", "/api/boards/"+boardID(snapshotBoard), "", "gzip", http.StatusOK)
	httpSnapshot(b, "http-304", "/api/boards/"+boardID(snapshotBoard), "*", "identity", http.StatusNotModified)
}

// httpSnapshot measures GET path of the snapshot board, with If-None-Match
// inm unless empty and Accept-Encoding ae (the client then leaves the body
// as it came), expecting status.
func httpSnapshot(b *testing.B, impl, path, inm, ae string, status int) {
	b.Run("cards=10000/"+impl, func(b *testing.B) {
		e := getEnv(b)
		url := e.http.URL + path
		server := make(chan time.Duration, 1)
		e.setServerTime(server)
		defer e.setServerTime(nil)
		var serverLat []time.Duration
		var size int64
		lat, elapsed, cpu := runWriters(b, e, 1, func(ctx context.Context, _ *rand.Rand, _ int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			req.AddCookie(e.cookie)
			if inm != "" {
				req.Header.Set("If-None-Match", inm)
			}
			req.Header.Set("Accept-Encoding", ae)
			resp, err := e.client.Do(req)
			if err != nil {
				return err
			}
			size, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != status {
				return fmt.Errorf("GET snapshot: status %s, want %d", resp.Status, status)
			}
			select {
			case d := <-server:
				serverLat = append(serverLat, d)
			case <-time.After(time.Second):
				return fmt.Errorf("no server-side time for the request")
			}
			return nil
		})
		p50, p99 := summarize(lat)
		sp50, sp99 := summarize(serverLat)
		cpu["server-p50-ms"], cpu["server-p99-ms"], cpu["body-MB"] = sp50, sp99, float64(size)/1e6
		record(b, result{config: "snapshot", impl: impl, ops: float64(len(lat)) / elapsed.Seconds(), p50: p50, p99: p99,
			extra: cpu})
	})
}

// snapshotOnce warms the caches with one snapshot.
func (e *env) snapshotOnce(ctx context.Context) error {
	_, err := e.store.Snapshot(ctx, e.user, boardID(snapshotBoard))
	return err
}
