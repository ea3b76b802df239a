// Package rank makes fractional rank keys: strings that order cards within a
// column and columns within a board, so that an item can be placed between two
// neighbours by writing one row instead of renumbering the list.
//
// A key is a non-empty string of at most MaxLen digits from the base-62
// alphabet "0-9A-Za-z", whose last digit is not '0'. It reads as the base-62
// fraction 0.d1d2…dn, so every key lies strictly between 0 and 1, and distinct
// keys are distinct numbers. The alphabet is in ASCII order and no key ends in
// '0', so comparing keys byte by byte (Go's < on strings, PostgreSQL's
// COLLATE "C") orders them exactly as the fractions they stand for.
//
// # Placement
//
// Between picks a key in the open interval between two neighbours. Pure
// bisection grows a key by about one digit every six inserts at one spot
// (10,000 inserts: about 1,700 digits). Between instead treats the keys of a
// bounded length as a grid and steps along it:
//
//   - m0 is the length of the shortest key in the interval, and M = m0+2
//     (at most MaxLen). An open bound counts as length 0.
//   - The longer bound is hugged if the other bound is open, or if it is at
//     least two digits longer than the other and at least m0 digits long
//     (some key in the interval is no longer than it). Hugging the lower
//     bound gives the smallest key of at most M digits above it; hugging the
//     upper bound, the largest key of at most M digits below it.
//   - Otherwise the result is the middle one of the shortest keys in the
//     interval.
//
// The longer neighbour is usually the one made most recently, so inserting
// again and again at one place — at the top, at the bottom, after or before a
// fixed item, after or before the item just added — walks the grid of keys of
// at most M digits one step at a time and lengthens only when that part of
// the grid is used up: growth is logarithmic in the number of inserts. In
// rank_test.go, 10,000 inserts in each of those patterns end with keys of at
// most 3 digits at the ends of a list and at most 7 digits inside it.
//
// A hug leaves a gap one grid step wide beside the hugged key, and an insert
// that lands there costs about three digits if it hugs again. The two
// conditions keep that rare. Bounds one digit apart in length are common
// among keys made by bisection and say little about which is newer, so they
// bisect; a long bound with no key as short as itself in the interval marks
// such a gap, so it bisects too. Hugging whenever the lengths differ (the
// simplest rule) does as well on the patterns above, one digit better on
// some, but 10,000 random inserts then end with keys three times as long on
// average (about 20 digits, against 6.5 here), and inserts that alternate
// before and after the newest item reach MaxLen within about 340.
//
// No scheme keeps every sequence of inserts short. When each new item goes
// between the previous two new ones (one step before the newest, then one
// step after it, and so on) every interval lies inside the last, and an
// adversary who always picks the smaller half forces any scheme to lose at
// least a bit — a sixth of a digit — per insert; Between loses about that
// much, so such a run reaches MaxLen after about 6,000 inserts. Between then
// returns ErrTooLong, and the caller must respace the list (give its items
// fresh keys, for example from successive calls to Between with an open
// upper bound) before trying again.
//
// Between is a pure function of its arguments and safe for concurrent use. It
// knows nothing of other writers: two calls with the same neighbours return
// the same key, so callers that insert concurrently must break ties (the
// board orders by rank, then id) or serialise their writes. Between cannot
// place an item between two that share a key (it returns ErrInvalid); the
// caller must respace them first.
package rank

import (
	"errors"
	"fmt"
)

// MaxLen is the greatest length of a key, in digits (bytes).
const MaxLen = 1024

// Sentinel errors. Valid and Between wrap them with detail; test with
// errors.Is.
var (
	// ErrInvalid reports a malformed key, or bounds given to Between in the
	// wrong order.
	ErrInvalid = errors.New("rank: invalid key")
	// ErrTooLong reports that no key of at most MaxLen digits lies between
	// the bounds given to Between.
	ErrTooLong = errors.New("rank: key too long")
)

// alphabet holds the digits in increasing order; it is also ASCII order.
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const (
	base = 62       // len(alphabet)
	zero = 0        // value of the digit '0'
	top  = base - 1 // value of the digit 'z'
)

// value maps a byte to its digit value, or -1 if it is not a digit.
var value = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < base; i++ {
		v[alphabet[i]] = int8(i)
	}
	return v
}()

// Valid reports whether k is a key. It returns nil, or an error wrapping
// ErrInvalid that says why not: k is empty, longer than MaxLen, holds a byte
// outside "0-9A-Za-z", or ends in '0'.
func Valid(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: empty", ErrInvalid)
	case len(k) > MaxLen:
		return fmt.Errorf("%w %s: %d digits, more than %d", ErrInvalid, quote(k), len(k), MaxLen)
	}
	for i := 0; i < len(k); i++ {
		if value[k[i]] < 0 {
			return fmt.Errorf("%w %s: byte %#02x at %d is not a base-62 digit", ErrInvalid, quote(k), k[i], i)
		}
	}
	if k[len(k)-1] == alphabet[zero] {
		return fmt.Errorf("%w %s: ends in '0'", ErrInvalid, quote(k))
	}
	return nil
}

// Initial returns the key for the first item of an empty list: the same as
// Between("", "").
func Initial() string {
	return string(alphabet[base/2]) // "V"
}

// Between returns a key k with a < k < b in byte order (PostgreSQL
// COLLATE "C").
//
// a == "" means no lower bound (place k at the top of the list, before b);
// b == "" means no upper bound (place k at the bottom, after a); both empty
// gives Initial(). Non-empty bounds must be valid keys (see Valid), and when
// both are given a must be less than b; otherwise Between returns an error
// wrapping ErrInvalid. If every key between a and b is longer than MaxLen it
// returns an error wrapping ErrTooLong: respace the list and retry.
//
// The result is always a valid key, usually short; the package documentation
// describes how it is chosen and how keys grow under repeated inserts.
func Between(a, b string) (string, error) {
	if a != "" {
		if err := Valid(a); err != nil {
			return "", fmt.Errorf("lower bound: %w", err)
		}
	}
	if b != "" {
		if err := Valid(b); err != nil {
			return "", fmt.Errorf("upper bound: %w", err)
		}
	}
	if a != "" && b != "" && a >= b {
		return "", fmt.Errorf("%w: lower bound %s not below upper bound %s", ErrInvalid, quote(a), quote(b))
	}

	iv := interval{a: a, b: b}
	m0 := iv.shortest()
	if m0 > MaxLen {
		return "", fmt.Errorf("%w: no key of at most %d digits between %s and %s", ErrTooLong, MaxLen, quote(a), quote(b))
	}
	// Step from the longer bound if it looks recent (see the package doc).
	m := min(m0+2, MaxLen)
	la, lb := len(a), len(b)
	hug := a == "" || b == "" || (max(la-lb, lb-la) >= 2 && m0 <= max(la, lb))
	switch {
	case hug && la > lb:
		// The smallest key of at most m digits above a.
		if k, ok := iv.lowest(m); ok && iv.contains(k) {
			return k, nil
		}
	case hug && lb > la:
		// The largest key of at most m digits below b.
		if k, ok := iv.highest(m); ok && iv.contains(k) {
			return k, nil
		}
	}
	return iv.middle(m0), nil
}

// interval is the open interval (a, b) between two valid keys; a == "" stands
// for 0 and b == "" for 1. Keys of at most n digits are the multiples of
// 62^-n; the methods work on their numerators, n-digit base-62 integers held
// as one digit value per byte.
type interval struct{ a, b string }

// digitA returns the i-th fraction digit of a (0 past its end).
func (iv interval) digitA(i int) int {
	if i < len(iv.a) {
		return int(value[iv.a[i]])
	}
	return zero
}

// digitB returns the i-th fraction digit of b (0 past its end). The open
// upper bound 1 is read as 0.zzz… with no end: for every n, the largest
// n-digit numerator below either is z…z.
func (iv interval) digitB(i int) int {
	if iv.b == "" {
		return top
	}
	if i < len(iv.b) {
		return int(value[iv.b[i]])
	}
	return zero
}

// bEndsBy reports whether b is a key of at most n digits, so that b's own
// n-digit numerator is excluded from the interval.
func (iv interval) bEndsBy(n int) bool {
	return iv.b != "" && len(iv.b) <= n
}

// shortest returns the length of the shortest key in the interval; it may be
// MaxLen+1.
//
// With pa and pb the n-digit prefixes of a and b, the n-digit numerators in
// the interval run from pa+1 to pb, or to pb-1 if b has at most n digits. So
// one exists iff d = pb-pa is at least 1, or 2 when b ends by n. d never
// falls (a < b makes it 0 until the first differing digit, and from there on
// d' = 62d + (b_n - a_n) with |b_n - a_n| <= 61), so it is kept capped at 2.
// A key one digit longer than both bounds always fits, so the loop ends by
// max(len(a), len(b))+1.
func (iv interval) shortest() int {
	d := 0
	for n := 1; ; n++ {
		d = min(base*d+iv.digitB(n-1)-iv.digitA(n-1), 2)
		need := 1
		if iv.bEndsBy(n) {
			need = 2
		}
		if d >= need {
			return n
		}
	}
}

// lowest returns the smallest key of at most n digits above a: the n-digit
// prefix of a, plus one. ok is false if that carries out past the first digit.
func (iv interval) lowest(n int) (k string, ok bool) {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(iv.digitA(i))
	}
	if !increment(d) {
		return "", false
	}
	return encode(d)
}

// highest returns the largest key of at most n digits below b: the n-digit
// prefix of b, less one if b has at most n digits. ok is false if that is 0.
func (iv interval) highest(n int) (k string, ok bool) {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(iv.digitB(i))
	}
	if iv.bEndsBy(n) && !decrement(d) {
		return "", false
	}
	return encode(d)
}

// middle returns the middle one of the keys of n digits in the interval,
// where n is the length of the shortest key there: (lo+hi)/2 with lo and hi
// the least and greatest n-digit numerators between a and b.
func (iv interval) middle(n int) string {
	lo := make([]byte, n)
	hi := make([]byte, n)
	for i := range n {
		lo[i] = byte(iv.digitA(i))
		hi[i] = byte(iv.digitB(i))
	}
	increment(lo) // cannot carry out: some n-digit key lies above a
	if iv.bEndsBy(n) {
		decrement(hi) // cannot borrow out: some n-digit key lies below b
	}
	// sum = lo + hi, carry in front; then halve it, most significant first.
	carry := 0
	for i := n - 1; i >= 0; i-- {
		s := int(lo[i]) + int(hi[i]) + carry
		lo[i], carry = byte(s%base), s/base
	}
	rem := carry
	for i := range n {
		v := rem*base + int(lo[i])
		lo[i], rem = byte(v/2), v%2
	}
	// n is minimal, so the middle cannot end in '0' (it would be a shorter
	// key in the interval); encode trims regardless.
	k, _ := encode(lo)
	return k
}

// contains reports whether the key k lies strictly inside the interval.
func (iv interval) contains(k string) bool {
	return k > iv.a && (iv.b == "" || k < iv.b)
}

// increment adds one to the numerator d in place; it reports false on
// overflow.
func increment(d []byte) bool {
	for i := len(d) - 1; i >= 0; i-- {
		if int(d[i]) < top {
			d[i]++
			return true
		}
		d[i] = zero
	}
	return false
}

// decrement subtracts one from the numerator d in place; it reports false if
// d was 0.
func decrement(d []byte) bool {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] > zero {
			d[i]--
			return true
		}
		d[i] = top
	}
	return false
}

// encode spells the numerator d as a key, dropping trailing zero digits; ok is
// false if d is 0.
func encode(d []byte) (k string, ok bool) {
	n := len(d)
	for n > 0 && d[n-1] == zero {
		n--
	}
	if n == 0 {
		return "", false
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[d[i]]
	}
	return string(out), true
}

// quote quotes a key for an error message, cutting long ones short.
func quote(k string) string {
	const limit = 40
	if len(k) > limit {
		return fmt.Sprintf("%q… (%d bytes)", k[:limit], len(k))
	}
	return fmt.Sprintf("%q", k)
}
