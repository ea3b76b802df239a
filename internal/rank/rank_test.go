package rank_test

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/internal/rank"
)

const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func TestValid(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"1", true},
		{"V", true},
		{"z", true},
		{"zzz", true},
		{"01", true},
		{"001", true},
		{"a0b", true},
		{"Zz9", true},
		{strings.Repeat("z", rank.MaxLen), true},

		{"", false},
		{"0", false},
		{"00", false},
		{"a0", false},
		{"10", false},
		{"a-b", false},
		{"a b", false},
		{"a\x00", false},
		{"é", false},
		{"\xff", false},
		{"~", false},
		{strings.Repeat("z", rank.MaxLen+1), false},
	}
	for _, tt := range tests {
		err := rank.Valid(tt.key)
		if tt.ok && err != nil {
			t.Errorf("Valid(%.20q) = %v, want nil", tt.key, err)
		}
		if !tt.ok && !errors.Is(err, rank.ErrInvalid) {
			t.Errorf("Valid(%.20q) = %v, want ErrInvalid", tt.key, err)
		}
	}
}

func TestInitial(t *testing.T) {
	k, err := rank.Between("", "")
	if err != nil || k != rank.Initial() {
		t.Fatalf(`Between("", "") = %q, %v; want Initial() = %q`, k, err, rank.Initial())
	}
	if err := rank.Valid(k); err != nil {
		t.Fatal(err)
	}
}

func TestBetween(t *testing.T) {
	long := strings.Repeat("V", rank.MaxLen-2)
	tests := []struct {
		a, b, want string
	}{
		// Open bounds: the first key is the middle digit; then the grid of
		// keys of at most m0+2 digits is walked from the bounded side.
		{"", "", "V"},
		{"V", "", "V01"},
		{"", "V", "Uzz"},
		{"V01", "", "V02"},
		{"V0z", "", "V1"}, // the step carries; trailing zeros drop
		{"", "Uzz", "Uzy"},
		{"", "U", "Tzz"},
		{"z", "", "z001"},
		{"zzz", "", "zzz001"},
		{"1", "", "101"},
		{"", "1", "0zzz"},
		{"", "01", "00zzz"},
		{"", "001", "000zzz"},

		// Equal lengths: the middle of the shortest keys between.
		{"1", "2", "1V"},
		{"y", "z", "yV"},
		{"a", "b", "aV"},
		{"1", "z", "V"},
		{"1", "3", "2"},
		{"V01", "V02", "V01V"},
		{"Uzz", "V01", "V"},

		// One is a prefix of the other (the shorter is lower).
		{"a", "a1", "a0V"}, // one digit longer: bisect
		{"1", "11", "10V"},
		{"a", "az", "aU"},
		{"a", "aV1", "aV0z"}, // two digits longer: hug b
		{"a", "a01", "a00V"}, // but no room at its length: bisect
		{"a", "a001", "a000V"},

		// Two digits or more apart: hug the longer bound ...
		{"V0A", "W", "V0A1"},
		{"1", "1zz", "1zyz"},
		{"V", "V0V", "V0Uzz"},
		{"V0AUzz", "V1", "V0AV"}, // the step carries
		// ... unless no key in between is as short as it: one grid step
		// apart at its length, the interval is a gap a hug left behind.
		{"V", "V01", "V00V"},
		{"Uzz", "V", "UzzV"},
		{"1zz", "2", "1zzV"},
		{"V0A", "V0A01", "V0A00V"},

		// Near MaxLen.
		{long, long + "1", long + "0V"},
		{long + "z", "", "VVW"}, // a grid step from a long key can be short
		{"", "0" + long[1:] + "1", "0VVV"},
	}
	for _, tt := range tests {
		got, err := rank.Between(tt.a, tt.b)
		if err != nil {
			t.Errorf("Between(%.20q, %.20q): %v", tt.a, tt.b, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Between(%.20q, %.20q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
		checkBetween(t, tt.a, tt.b, got)
	}
}

func TestBetweenErrors(t *testing.T) {
	full := strings.Repeat("V", rank.MaxLen-1)
	tests := []struct {
		a, b string
		want error
	}{
		{"a", "a", rank.ErrInvalid},
		{"b", "a", rank.ErrInvalid},
		{"a1", "a", rank.ErrInvalid},
		{"z", "1", rank.ErrInvalid},
		{"0", "", rank.ErrInvalid},
		{"", "0", rank.ErrInvalid},
		{"a0", "b", rank.ErrInvalid},
		{"a", "b0", rank.ErrInvalid},
		{"a-", "", rank.ErrInvalid},
		{"", "é", rank.ErrInvalid},
		{strings.Repeat("1", rank.MaxLen+1), "", rank.ErrInvalid},
		{"", strings.Repeat("1", rank.MaxLen+1), rank.ErrInvalid},

		// No room within MaxLen digits.
		{full, full + "1", rank.ErrTooLong},
		{strings.Repeat("z", rank.MaxLen), "", rank.ErrTooLong},
		{"", strings.Repeat("0", rank.MaxLen-1) + "1", rank.ErrTooLong},
		{full + "1", full + "2", rank.ErrTooLong},
	}
	for _, tt := range tests {
		got, err := rank.Between(tt.a, tt.b)
		if !errors.Is(err, tt.want) {
			t.Errorf("Between(%.20q, %.20q) = %q, %v; want %v", tt.a, tt.b, got, err, tt.want)
		}
		if got != "" {
			t.Errorf("Between(%.20q, %.20q) returned key %q with error", tt.a, tt.b, got)
		}
	}
}

// TestBetweenRandom checks Between against a reference implementation of the
// placement rule in big-integer arithmetic, over random pairs of keys.
func TestBetweenRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		a, b := randomKey(rng), randomKey(rng)
		switch {
		case rng.IntN(10) == 0:
			a = ""
		case rng.IntN(10) == 0:
			b = ""
		case rng.IntN(4) == 0 && b != "":
			// Share a prefix, the common case between neighbours.
			a = b[:rng.IntN(len(b))] + a
		}
		if a != "" && b != "" {
			if a == b {
				continue
			}
			if a > b {
				a, b = b, a
			}
		}
		got, err := rank.Between(a, b)
		if err != nil {
			t.Fatalf("Between(%q, %q): %v", a, b, err)
		}
		checkBetween(t, a, b, got)
		if want := reference(a, b); got != want {
			t.Fatalf("Between(%q, %q) = %q, reference %q", a, b, got, want)
		}
	}
}

// randomKey returns a valid key, mostly short, made of digits biased
// towards the ends of the alphabet to exercise carries and borrows.
func randomKey(rng *rand.Rand) string {
	n := 1 + rng.IntN(6)
	if rng.IntN(8) == 0 {
		n = 1 + rng.IntN(30)
	}
	var sb strings.Builder
	for i := range n {
		var d byte
		switch rng.IntN(4) {
		case 0:
			d = '0'
		case 1:
			d = 'z'
		default:
			d = digits[rng.IntN(len(digits))]
		}
		if i == n-1 && d == '0' {
			d = digits[1+rng.IntN(len(digits)-1)]
		}
		sb.WriteByte(d)
	}
	return sb.String()
}

// reference computes Between(a, b) from the package doc's definition, with
// keys as big-integer numerators: the keys of at most n digits are n/62^n.
func reference(a, b string) string {
	base := big.NewInt(62)
	pow := func(n int) *big.Int { return new(big.Int).Exp(base, big.NewInt(int64(n)), nil) }
	num := func(k string) *big.Int {
		v := new(big.Int)
		for i := range len(k) {
			v.Mul(v, base)
			v.Add(v, big.NewInt(int64(strings.IndexByte(digits, k[i]))))
		}
		return v
	}
	// lo(n) and hi(n): the least and greatest n-digit numerators in (a, b).
	lo := func(n int) *big.Int {
		x := new(big.Int).Mul(num(a), pow(n))
		x.Quo(x, pow(len(a))) // floor(a * 62^n)
		return x.Add(x, big.NewInt(1))
	}
	hi := func(n int) *big.Int {
		if b == "" {
			return new(big.Int).Sub(pow(n), big.NewInt(1))
		}
		x := new(big.Int).Mul(num(b), pow(n))
		q, r := new(big.Int).QuoRem(x, pow(len(b)), new(big.Int))
		if r.Sign() == 0 {
			q.Sub(q, big.NewInt(1))
		}
		return q // ceil(b * 62^n) - 1
	}
	spell := func(x *big.Int, n int) string {
		out := make([]byte, n)
		x = new(big.Int).Set(x)
		m := new(big.Int)
		for i := n - 1; i >= 0; i-- {
			x.QuoRem(x, base, m)
			out[i] = digits[m.Int64()]
		}
		return strings.TrimRight(string(out), "0")
	}
	m0 := 1
	for lo(m0).Cmp(hi(m0)) > 0 {
		m0++
	}
	m := min(m0+2, rank.MaxLen)
	la, lb := len(a), len(b)
	if a == "" || b == "" || (max(la-lb, lb-la) >= 2 && m0 <= max(la, lb)) {
		switch {
		case la > lb:
			return spell(lo(m), m)
		case lb > la:
			return spell(hi(m), m)
		}
	}
	mid := new(big.Int).Add(lo(m0), hi(m0))
	return spell(mid.Rsh(mid, 1), m0)
}

func FuzzBetween(f *testing.F) {
	for _, seed := range [][2]string{
		{"", ""}, {"V", ""}, {"", "V"}, {"a", "a1"}, {"a1", "a"}, {"1", "01"},
		{"z", "zzz"}, {"zzz", ""}, {"", "01"}, {"V0z", "W"}, {"Uzz", "V"},
		{"a", "a"}, {"a0", "b"}, {"0", ""}, {"a-b", "c"}, {"", "é"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		errA, errB := rank.Valid(a), rank.Valid(b)
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, rank.ErrInvalid) {
				t.Fatalf("Valid: %v does not wrap ErrInvalid", err)
			}
		}
		got, err := rank.Between(a, b)
		if (a != "" && errA != nil) || (b != "" && errB != nil) || (a != "" && b != "" && a >= b) {
			if !errors.Is(err, rank.ErrInvalid) || got != "" {
				t.Fatalf("Between(%q, %q) = %q, %v; want ErrInvalid", a, b, got, err)
			}
		}
		if errA != nil || errB != nil || a == b {
			return
		}
		if a > b {
			a, b = b, a
		}
		for _, pair := range [][2]string{{a, b}, {a, ""}, {"", b}} {
			lo, hi := pair[0], pair[1]
			got, err := rank.Between(lo, hi)
			if errors.Is(err, rank.ErrTooLong) {
				// Only keys at the limit can leave no room.
				if max(len(lo), len(hi)) < rank.MaxLen-1 {
					t.Fatalf("Between(%q, %q): %v", lo, hi, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Between(%q, %q): %v", lo, hi, err)
			}
			checkBetween(t, lo, hi, got)
			if len(got) > max(len(lo), len(hi))+3 {
				t.Fatalf("Between(%q, %q) = %q: more than 3 digits longer than both bounds", lo, hi, got)
			}
		}
	})
}

// checkBetween fails the test unless k is a valid key strictly between a and
// b (either of which may be open).
func checkBetween(t testing.TB, a, b, k string) {
	t.Helper()
	if err := rank.Valid(k); err != nil {
		t.Fatalf("Between(%.20q, %.20q) = %.20q: %v", a, b, k, err)
	}
	if k <= a || (b != "" && k >= b) {
		t.Fatalf("Between(%.20q, %.20q) = %.20q: not strictly between", a, b, k)
	}
}

// list is an ordered list of keys that grows by Between.
type list struct {
	keys   []string
	newest int // index of the last key inserted
	maxLen int // longest key inserted
}

func newList(t testing.TB, n int) *list {
	l := &list{keys: []string{rank.Initial()}}
	for len(l.keys) < n {
		l.insert(t, len(l.keys))
	}
	l.maxLen = 0
	return l
}

// insert puts a new key at index i, between keys[i-1] and keys[i].
func (l *list) insert(t testing.TB, i int) error {
	t.Helper()
	var a, b string
	if i > 0 {
		a = l.keys[i-1]
	}
	if i < len(l.keys) {
		b = l.keys[i]
	}
	k, err := rank.Between(a, b)
	if err != nil {
		return err
	}
	checkBetween(t, a, b, k)
	l.keys = slices.Insert(l.keys, i, k)
	l.newest = i
	l.maxLen = max(l.maxLen, len(k))
	return nil
}

func (l *list) checkSorted(t testing.TB) {
	t.Helper()
	for i := 1; i < len(l.keys); i++ {
		if l.keys[i-1] >= l.keys[i] {
			t.Fatalf("keys[%d] = %q >= keys[%d] = %q", i-1, l.keys[i-1], i, l.keys[i])
		}
	}
}

// TestGrowth inserts 10,000 keys at one spot in each of the patterns the
// package doc promises stay short.
func TestGrowth(t *testing.T) {
	const (
		inserts = 10000
		start   = 20 // cards already in the list
		fixed   = 10 // index of the fixed card
	)
	tests := []struct {
		name string
		doc  int // the bound the package doc states
		// next returns where insert i goes; x is the fixed card's index,
		// which it may move.
		next func(l *list, i int, x *int) int
	}{
		{"append at bottom", 3, func(l *list, i int, x *int) int { return len(l.keys) }},
		{"prepend at top", 3, func(l *list, i int, x *int) int { return 0 }},
		{"right after a fixed card", 7, func(l *list, i int, x *int) int { return *x + 1 }},
		{"right before a fixed card", 7, func(l *list, i int, x *int) int { *x++; return *x - 1 }},
		{"right after the newest card", 7, func(l *list, i int, x *int) int {
			if i == 0 {
				return *x + 1
			}
			return l.newest + 1
		}},
		{"right before the newest card", 7, func(l *list, i int, x *int) int {
			if i == 0 {
				return *x
			}
			return l.newest
		}},
		{"alternately top and bottom", 3, func(l *list, i int, x *int) int {
			if i%2 == 0 {
				return 0
			}
			return len(l.keys)
		}},
		{"alternately after and before a fixed card", 7, func(l *list, i int, x *int) int {
			if i%2 == 0 {
				return *x + 1
			}
			*x++
			return *x - 1
		}},
		{"alternately after two fixed cards", 7, func(l *list, i int, x *int) int {
			// Right after card x, then right after the card that started
			// at x+5 and has moved down one place for each insert after x.
			if i%2 == 0 {
				return *x + 1
			}
			return *x + 5 + (i+1)/2 + 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newList(t, start)
			x := fixed
			startLen := len(l.keys[len(l.keys)-1])
			for i := range inserts {
				if err := l.insert(t, tt.next(l, i, &x)); err != nil {
					t.Fatalf("insert %d: %v", i, err)
				}
			}
			l.checkSorted(t)
			t.Logf("%d inserts: longest key %d digits (the %d keys before them had at most %d)", inserts, l.maxLen, start, startLen)
			if l.maxLen > 12 {
				t.Errorf("longest key %d digits, want at most 12", l.maxLen)
			}
			if l.maxLen > tt.doc {
				t.Errorf("longest key %d digits; the package doc says at most %d", l.maxLen, tt.doc)
			}
		})
	}
}

// TestGrowthRandom inserts at random places, then at one place in the
// resulting, irregular list.
func TestGrowthRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	l := newList(t, 1)
	for range 10000 {
		if err := l.insert(t, rng.IntN(len(l.keys)+1)); err != nil {
			t.Fatal(err)
		}
	}
	l.checkSorted(t)
	total := 0
	for _, k := range l.keys {
		total += len(k)
	}
	t.Logf("10000 random inserts: longest key %d digits, mean %.1f", l.maxLen, float64(total)/float64(len(l.keys)))
	if l.maxLen > 64 {
		t.Errorf("longest key %d digits, want at most 64", l.maxLen)
	}

	maxGrew := 0
	for trial := range 10 {
		m := &list{keys: slices.Clone(l.keys)}
		x := rng.IntN(len(m.keys) - 1)
		before := max(len(m.keys[x]), len(m.keys[x+1]))
		for i := range 5000 {
			pos := x + 1
			if trial%2 == 1 && i > 0 {
				pos = m.newest + 1
			}
			if err := m.insert(t, pos); err != nil {
				t.Fatal(err)
			}
		}
		m.checkSorted(t)
		grew := m.maxLen - before
		if grew > 6 {
			t.Errorf("trial %d: 5000 inserts at one place grew keys by %d digits (from %d), want at most 6", trial, grew, before)
		}
		maxGrew = max(maxGrew, grew)
	}
	t.Logf("then 5000 inserts after a fixed card or the newest: keys grew by at most %d digits", maxGrew)
}

// TestNested inserts each key between the previous two, alternately before
// and after the newest: no scheme keeps that short (see the package doc).
// Between must lose no more than about a bit per insert, as bisection does,
// then report ErrTooLong and leave the list intact.
func TestNested(t *testing.T) {
	nest := func(t *testing.T, l *list, x, limit int) (n, grew int, err error) {
		t.Helper()
		before := max(len(l.keys[x]), len(l.keys[x+1]))
		if err := l.insert(t, x+1); err != nil {
			t.Fatal(err)
		}
		for n = 1; n < limit; n++ {
			if err = l.insert(t, l.newest+n%2); err != nil {
				break
			}
		}
		l.checkSorted(t)
		return n, l.maxLen - before, err
	}

	for _, start := range [][]string{{"V", "W"}, {"V", "V01"}, {"V0A", "V0B"}, {"1", "z"}} {
		l := &list{keys: start}
		n, _, err := nest(t, l, 0, 1<<20)
		if !errors.Is(err, rank.ErrTooLong) {
			t.Fatalf("%q: after %d inserts: %v, want ErrTooLong", start, n, err)
		}
		t.Logf("%q: ErrTooLong after %d nested inserts", start, n)
		if n < 5*rank.MaxLen {
			t.Errorf("%q: ErrTooLong after %d nested inserts, want at least %d", start, n, 5*rank.MaxLen)
		}
	}

	// From places in an irregular list.
	rng := rand.New(rand.NewPCG(5, 6))
	base := newList(t, 1)
	for range 2000 {
		if err := base.insert(t, rng.IntN(len(base.keys)+1)); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		l := &list{keys: slices.Clone(base.keys)}
		const inserts = 1000
		_, grew, err := nest(t, l, rng.IntN(len(l.keys)-1), inserts)
		if err != nil {
			t.Fatal(err)
		}
		if grew > inserts/5 {
			t.Errorf("%d nested inserts grew keys by %d digits, want at most %d", inserts, grew, inserts/5)
		}
	}
}

func BenchmarkBetween(b *testing.B) {
	long := strings.Repeat("V", 100)
	for _, bb := range []struct{ name, lo, hi string }{
		{"initial", "", ""},
		{"append", "V0A", ""},
		{"middle", "V0A", "V0B"},
		{"hug", "V0A", "V0AUzz"},
		{"long", long, long + "1"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := rank.Between(bb.lo, bb.hi); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleBetween() {
	first := rank.Initial()
	last, _ := rank.Between(first, "")  // append at the bottom
	top, _ := rank.Between("", first)   // prepend at the top
	mid, _ := rank.Between(first, last) // insert between two cards
	fmt.Println(top, first, mid, last)
	// Output: Uzz V V00V V01
}
