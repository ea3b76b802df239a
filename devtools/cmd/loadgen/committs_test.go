//go:build linux

package main

import (
	"testing"
	"time"
)

// TestDecodedCommitLog checks the parsing of test_decoding's lines.
func TestDecodedCommitLog(t *testing.T) {
	for _, c := range []struct {
		data string
		k    int
		ok   bool
	}{
		{`table public.events: INSERT: board_id[uuid]:'3f1c2d4e-0000-4000-8000-000000000001' seq[bigint]:7 kind[text]:'card.updated' payload[jsonb]:'{"title": "load op 12"}' actor[text]:'u' op_id[text]:'lgabc123-12' at[timestamp with time zone]:'2026-12-03 15:04:15.123456+00' position[bigint]:null`, 12, true},
		{`table public.events: INSERT: op_id[text]:'lgabc123-0' at[timestamp with time zone]:'x'`, 0, true},
		{`table public.events: INSERT: op_id[text]:'lgother-12' at[timestamp with time zone]:'x'`, 0, false},
		{`table public.events: INSERT: op_id[text]:'' at[timestamp with time zone]:'x'`, 0, false},
		{`table public.events: INSERT: op_id[text]:'lgabc123-x1'`, 0, false},
	} {
		k, ok := opOfInsert(c.data, "lgabc123-")
		if k != c.k || ok != c.ok {
			t.Errorf("opOfInsert(%.60q) = %d, %v; want %d, %v", c.data, k, ok, c.k, c.ok)
		}
	}
	want := time.Date(2026, 12, 3, 15, 4, 15, 123456000, time.UTC)
	for _, s := range []string{" (at 2026-12-03 15:04:15.123456+00)", " 1234 (at 2026-12-03 16:04:15.123456+01)",
		" (at 2026-12-03 10:34:15.123456-04:30)"} {
		if got, err := commitTime(s); err != nil || !got.Equal(want) {
			t.Errorf("commitTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", " (at yesterday)", " 1234"} {
		if _, err := commitTime(s); err == nil {
			t.Errorf("commitTime(%q): no error", s)
		}
	}
}
