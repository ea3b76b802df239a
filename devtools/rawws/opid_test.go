//go:build linux

package rawws

import "testing"

func TestOpIndex(t *testing.T) {
	for op, want := range map[string]int32{"pbabc-0": 0, "pbabc-12": 12, "pbabd-1": -1, "pbabc-": -1, "pbabc--1": -1,
		"pbabc-x": -1, "pbabc-99999999999": -1} {
		if got := OpIndex([]byte(op), "pbabc-"); got != want {
			t.Errorf("OpIndex(%q) = %d, want %d", op, got, want)
		}
	}
}
