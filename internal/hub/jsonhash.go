package hub

import (
	"bytes"
	"errors"
	"hash/maphash"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// jsonHasher hashes a JSON document by its meaning: insignificant space,
// the order of object members, string escapes and the spelling of numbers
// (1, 1.0, 1e0) do not change the hash. A repeated key is hashed as written
// (neither Go nor jsonb writes one). It allocates nothing for documents
// without escapes.
type jsonHasher struct {
	seed  maphash.Seed
	buf   []byte // a string unescaped
	depth int
}

// Tags keep values of different kinds apart.
const (
	tagNull uint64 = iota + 1
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagArray
	tagObject
	tagInvalid
)

// maxJSONDepth bounds nesting; deeper documents hash as bytes.
const maxJSONDepth = 256

// hash hashes a document. An invalid one hashes as its bytes (the log's is
// always valid, so it never matches).
func (j *jsonHasher) hash(data []byte) uint64 {
	x, i, ok := j.value(data, 0)
	if !ok || skipSpace(data, i) != len(data) {
		return mix(tagInvalid, maphash.Bytes(j.seed, data))
	}
	return x
}

func (j *jsonHasher) str(s string) uint64 { return mix(tagString, maphash.String(j.seed, s)) }

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// value hashes the value at d[i:], returning the index after it.
func (j *jsonHasher) value(d []byte, i int) (uint64, int, bool) {
	i = skipSpace(d, i)
	if i >= len(d) {
		return 0, i, false
	}
	switch c := d[i]; {
	case c == '"':
		s, next, ok := j.stringAt(d, i)
		return mix(tagString, maphash.Bytes(j.seed, s)), next, ok
	case c == '{':
		return j.object(d, i+1)
	case c == '[':
		return j.array(d, i+1)
	case c == 't':
		return tagTrue, i + 4, bytes.HasPrefix(d[i:], []byte("true"))
	case c == 'f':
		return tagFalse, i + 5, bytes.HasPrefix(d[i:], []byte("false"))
	case c == 'n':
		return tagNull, i + 4, bytes.HasPrefix(d[i:], []byte("null"))
	case c == '-' || c >= '0' && c <= '9':
		return j.number(d, i)
	}
	return 0, i, false
}

func (j *jsonHasher) object(d []byte, i int) (uint64, int, bool) {
	if j.depth++; j.depth > maxJSONDepth {
		return 0, i, false
	}
	defer func() { j.depth-- }()
	var sum, n uint64
	i = skipSpace(d, i)
	if i < len(d) && d[i] == '}' {
		return mix(tagObject, 0), i + 1, true
	}
	for {
		i = skipSpace(d, i)
		if i >= len(d) || d[i] != '"' {
			return 0, i, false
		}
		key, next, ok := j.stringAt(d, i)
		if !ok {
			return 0, i, false
		}
		k := maphash.Bytes(j.seed, key)
		n++
		i = skipSpace(d, next)
		if i >= len(d) || d[i] != ':' {
			return 0, i, false
		}
		v, next, ok := j.value(d, i+1)
		if !ok {
			return 0, i, false
		}
		sum += mix(k, v) // members in any order
		i = skipSpace(d, next)
		if i >= len(d) {
			return 0, i, false
		}
		switch d[i] {
		case ',':
			i++
		case '}':
			return mix(mix(tagObject, sum), n), i + 1, true
		default:
			return 0, i, false
		}
	}
}

func (j *jsonHasher) array(d []byte, i int) (uint64, int, bool) {
	if j.depth++; j.depth > maxJSONDepth {
		return 0, i, false
	}
	defer func() { j.depth-- }()
	x, n := tagArray, uint64(0)
	i = skipSpace(d, i)
	if i < len(d) && d[i] == ']' {
		return mix(x, 0), i + 1, true
	}
	for {
		v, next, ok := j.value(d, i)
		if !ok {
			return 0, i, false
		}
		x, n = mix(x, v), n+1
		i = skipSpace(d, next)
		if i >= len(d) {
			return 0, i, false
		}
		switch d[i] {
		case ',':
			i++
		case ']':
			return mix(x, n), i + 1, true
		default:
			return 0, i, false
		}
	}
}

// number hashes a number by its value: an integer (however written) as
// one, others as their float64.
func (j *jsonHasher) number(d []byte, i int) (uint64, int, bool) {
	start, integer := i, true
	for i < len(d) {
		c := d[i]
		if c == '.' || c == 'e' || c == 'E' {
			integer = false
		} else if c != '-' && c != '+' && (c < '0' || c > '9') {
			break
		}
		i++
	}
	lit := unsafe.String(&d[start], i-start)
	if integer {
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return mix(tagInt, uint64(n)), i, true
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, i, false
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return mix(tagInt, uint64(int64(f))), i, true
	}
	return mix(tagFloat, math.Float64bits(f)), i, true
}

// stringAt reads the string at d[i] (a quote) and returns its unescaped
// bytes (valid until the next call) and the index after it.
func (j *jsonHasher) stringAt(d []byte, i int) ([]byte, int, bool) {
	i++
	start := i
	for i < len(d) && d[i] != '"' && d[i] != '\\' {
		if d[i] < 0x20 {
			return nil, i, false
		}
		i++
	}
	if i >= len(d) {
		return nil, i, false
	}
	if d[i] == '"' {
		return d[start:i], i + 1, true
	}
	j.buf = append(j.buf[:0], d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			return j.buf, i + 1, true
		case c < 0x20:
			return nil, i, false
		case c != '\\':
			j.buf = append(j.buf, c)
			i++
			continue
		}
		if i+1 >= len(d) {
			return nil, i, false
		}
		switch e := d[i+1]; e {
		case '"', '\\', '/':
			j.buf = append(j.buf, e)
		case 'b':
			j.buf = append(j.buf, '\b')
		case 'f':
			j.buf = append(j.buf, '\f')
		case 'n':
			j.buf = append(j.buf, '\n')
		case 'r':
			j.buf = append(j.buf, '\r')
		case 't':
			j.buf = append(j.buf, '\t')
		case 'u':
			r, n := unquoteU(d[i:])
			if n == 0 {
				return nil, i, false
			}
			j.buf = utf8.AppendRune(j.buf, r)
			i += n
			continue
		default:
			return nil, i, false
		}
		i += 2
	}
	return nil, i, false
}

// unquoteU decodes a \uXXXX escape (a surrogate pair: two) at the start of
// d, returning the rune and the bytes it took (0: malformed).
func unquoteU(d []byte) (rune, int) {
	hex4 := func(b []byte) rune {
		if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
			return -1
		}
		n, err := strconv.ParseUint(unsafe.String(&b[2], 4), 16, 16)
		if err != nil {
			return -1
		}
		return rune(n)
	}
	r := hex4(d)
	if r < 0 {
		return 0, 0
	}
	if utf16.IsSurrogate(r) {
		if r2 := hex4(d[6:]); r2 >= 0 {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return dec, 12
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

// mix combines two hashes (SplitMix64's finalizer over a and b).
func mix(a, b uint64) uint64 {
	x := a ^ (b+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
