package hub

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
)

func dataPrint(seed maphash.Seed, data string) uint64 {
	return (&jsonHasher{seed: seed}).hash([]byte(data))
}

// TestJSONHashMeaning: documents that say the same thing hash alike however
// they are written (as Go writes them and as PostgreSQL's jsonb prints
// them); documents that say something else do not.
func TestJSONHashMeaning(t *testing.T) {
	seed := maphash.MakeSeed()
	same := [][]string{
		{`{"id":"a","title":"x <y> & z","n":3,"tags":["p","q"],"due":null,"done":false}`,
			`{"n": 3, "id": "a", "due": null, "done": false, "tags": ["p", "q"], "title": "x \u003cy\u003e \u0026 z"}`,
			"{\n\t\"tags\" : [ \"p\" , \"q\" ] ,\"title\":\"x <y> & z\",\"id\":\"\\u0061\",\"n\":3.0,\"done\":false,\"due\":null}"},
		{`1.5`, `15e-1`, `1.50`},
		{`100`, `1e2`, `100.0`},
		{`"é😀/"`, `"\u00e9\ud83d\ude00\/"`},
		{`{}`, `{ }`},
		{`[]`, `[ ]`},
		{`{"a":{"b":[1,{"c":true}]}}`, `{"a": {"b": [1, {"c": true}]}}`},
	}
	for _, group := range same {
		want := dataPrint(seed, group[0])
		for _, d := range group[1:] {
			if got := dataPrint(seed, d); got != want {
				t.Errorf("%s and %s hash apart", group[0], d)
			}
		}
	}
	differ := []string{
		`{"id":"a","n":3}`, `{"id":"a","n":4}`, `{"id":"b","n":3}`, `{"id":"a","m":3}`,
		`{"id":"a","n":"3"}`, `{"id":"a"}`, `{"id":"a","n":3,"x":null}`, `[1,2]`, `[2,1]`, `[[1],2]`,
		`[1,[2]]`, `{"a":[]}`, `{"a":{}}`, `{"a":null}`, `{"a":false}`, `{"a":0}`, `{"a":""}`,
		`1.25`, `"1"`, `"ab"`, `["a","b"]`, `{"a":"b"}`, `{"b":"a"}`, `true`, `null`, `{"a":1,"b":2}`,
		`{"a":2,"b":1}`, `not json`, `{"a":1} trailing`, `{"a":1`,
	}
	seen := map[uint64]string{}
	for _, d := range differ {
		h := dataPrint(seed, d)
		if prev, ok := seen[h]; ok {
			t.Errorf("%s and %s hash alike", prev, d)
		}
		seen[h] = d
	}
	// The other fields count too.
	h := New(Options{Log: newFakeLog()})
	defer h.Close()
	e := board.Event{Kind: "card.updated", Actor: "a", OpID: "o", Data: json.RawMessage(`{"id":"x"}`)}
	base := h.fingerprint(e)
	for _, changed := range []board.Event{
		{Kind: "card.deleted", Actor: "a", OpID: "o", Data: e.Data},
		{Kind: "card.updated", Actor: "b", OpID: "o", Data: e.Data},
		{Kind: "card.updated", Actor: "a", OpID: "p", Data: e.Data},
		{Kind: "card.updatedo", Actor: "", OpID: "", Data: e.Data},
	} {
		if h.fingerprint(changed) == base {
			t.Errorf("%+v has the fingerprint of %+v", changed, e)
		}
	}
}

// FuzzJSONHash: a valid document hashes as itself re-indented, and as Go
// re-encodes it with and without HTML escapes; the hasher never panics.
func FuzzJSONHash(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null,"x\u00e9"]}`, `[1.5e3,-0,"<&>"]`, `"\ud83d\ude00"`, `{}`, `{"a":{"b":{"c":[]}}}`} {
		f.Add([]byte(s))
	}
	seed := maphash.MakeSeed()
	f.Fuzz(func(t *testing.T, data []byte) {
		j := &jsonHasher{seed: seed}
		x := j.hash(data)
		if !json.Valid(data) {
			return
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, data, "", "  "); err != nil {
			t.Fatal(err)
		}
		if y := (&jsonHasher{seed: seed}).hash(ind.Bytes()); y != x {
			t.Fatalf("%q and its indented form %q hash apart", data, ind.Bytes())
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return
		}
		goEncoded, err := json.Marshal(v)
		if err != nil {
			return
		}
		var raw bytes.Buffer
		enc := json.NewEncoder(&raw)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", " ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		a, b := (&jsonHasher{seed: seed}).hash(goEncoded), (&jsonHasher{seed: seed}).hash(raw.Bytes())
		if a != b {
			t.Fatalf("%q and %q hash apart", goEncoded, raw.Bytes())
		}
	})
}

// BenchmarkFingerprint measures one event's fingerprint, computed once per
// event published to the hub (not per subscriber).
func BenchmarkFingerprint(b *testing.B) {
	h := &Hub{seed: maphash.MakeSeed()}
	e := board.Event{BoardID: "b", Kind: board.KindCardUpdated, Actor: "writer", OpID: "op",
		Data: []byte(`{"id":"3f1c2d4e-0000-4000-8000-000000000000","title":"Write the benchmark","rank":"V","version":3,"labels":["a","b"]}`)}
	b.ReportAllocs()
	for b.Loop() {
		h.fingerprint(e)
	}
}
