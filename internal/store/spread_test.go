package store

import (
	"testing"

	"github.com/corkboard/corkboard/internal/rank"
)

// TestSpread: respacing's keys are valid, strictly increasing, short, and
// leave room for inserts between any two and at both ends.
func TestSpread(t *testing.T) {
	for _, n := range []int{0, 1, 2, 61, 62, 3843, 10000, 1_000_000} {
		keys, err := spread(n)
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if len(keys) != n {
			t.Fatalf("%d: %d keys", n, len(keys))
		}
		longest := 0
		for i, k := range keys {
			if err := rank.Valid(k); err != nil {
				t.Fatalf("%d: key %d %q: %v", n, i, k, err)
			}
			if i > 0 && keys[i-1] >= k {
				t.Fatalf("%d: keys %d, %d: %q, %q not increasing", n, i-1, i, keys[i-1], k)
			}
			longest = max(longest, len(k))
		}
		if n > 0 {
			for _, gap := range [][2]string{{"", keys[0]}, {keys[n-1], ""}, {keys[n/2], keys[min(n-1, n/2+1)]}} {
				if gap[0] == gap[1] {
					continue
				}
				if k, err := rank.Between(gap[0], gap[1]); err != nil || len(k) > 10 {
					t.Errorf("%d: between %q and %q: %q, %v", n, gap[0], gap[1], k, err)
				}
			}
		}
		if longest > 6 {
			t.Errorf("%d keys: some of %d digits", n, longest)
		}
	}
}
