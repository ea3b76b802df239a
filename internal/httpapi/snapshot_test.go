package httpapi_test

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// TestSnapshotBody: GET /api/boards/{id} writes exactly board.MarshalJSON of the
// store's snapshot, also for strings that need escaping and with requests
// for two boards at once (the encoding buffers are pooled).
func TestSnapshotBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tricky := "<b>\"Q&A\"</b> \\ \t\u2028\u2029 ünïcode 👍 \x01"
	var ids []string
	for i, name := range []string{tricky, "plain"} {
		b := e.mkBoard(alice, name)
		e.addMember(b.ID, bob, "viewer")
		col := e.mkColumn(alice, b.ID, name)
		e.mkCard(alice, b.ID, col.ID, "bare")
		var labels []string
		for _, l := range []string{tricky, "x"} {
			labels = append(labels, apitest.Must[board.Label](t, e.do("POST", "/api/boards/"+b.ID+"/labels", alice, map[string]any{"name": l}), http.StatusCreated).ID)
		}
		for k := range 20 * (i + 1) {
			c := e.do("POST", "/api/boards/"+b.ID+"/cards", alice, map[string]any{
				"column_id": col.ID, "title": tricky + strconv.Itoa(k), "description": name, "labels": labels,
				"due": "2030-01-02", "assignees": []string{bob}, "done": k%2 == 0,
			})
			if c.Status != http.StatusCreated {
				t.Fatalf("create card: %v", c)
			}
		}
		archived := e.mkCard(alice, b.ID, col.ID, "archived")
		if r := e.do("POST", "/api/boards/"+b.ID+"/cards/"+archived.ID+"/archive", alice, nil); r.Status != http.StatusOK {
			t.Fatalf("archive: %v", r)
		}
		ids = append(ids, b.ID)
	}

	want := map[string][]byte{}
	for _, id := range ids {
		snap, err := e.Store.Snapshot(t.Context(), alice, id)
		if err != nil {
			t.Fatal(err)
		}
		if want[id], err = board.MarshalJSON(snap); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := ids[i%len(ids)]
			r, err := e.send("GET", "/api/boards/"+id, alice, nil)
			switch {
			case err != nil:
				t.Error(err)
			case r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/json":
				t.Errorf("GET snapshot: %v %v", r, r.Header)
			case !bytes.Equal(r.Body, want[id]):
				t.Errorf("GET snapshot of %s:\n%s\nwant board.MarshalJSON's\n%s", id, r.Body, want[id])
			}
		})
	}
	wg.Wait()
}
